//! Text helpers shared by log lines, answers and the CLI: cutting text to a length, and counted nouns.

use std::borrow::Cow;

/// The first `chars` characters of `text`.
pub fn prefix(text: &str, chars: usize) -> &str {
    match text.char_indices().nth(chars) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// The first `chars` characters of `text`, marked with `…` when cut.
pub fn cut(text: &str, chars: usize) -> Cow<'_, str> {
    let kept = prefix(text, chars);
    if kept.len() == text.len() {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{kept}…"))
    }
}

/// `count` and the noun, singular for one: `1 request`, `0 requests`, `3 events`. `plural` is the noun's plural.
pub fn counted(count: u64, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutting_counts_characters_not_bytes() {
        assert_eq!(prefix("héllo", 2), "hé");
        assert_eq!(cut("héllo", 2), "hé…");
        assert_eq!(cut("hé", 2), "hé");
        assert!(matches!(cut("hé", 5), Cow::Borrowed(_)));
        assert_eq!(cut("", 0), "");
    }

    #[test]
    fn one_is_singular() {
        assert_eq!(counted(1, "request", "requests"), "1 request");
        assert_eq!(counted(0, "request", "requests"), "0 requests");
        assert_eq!(counted(2, "entry", "entries"), "2 entries");
    }
}
