//! Pinterest's texts about sent events, cleared of the values those events sent in clear, before any log line.

use std::cmp::Reverse;

use serde::Deserialize;

/// Shortest value looked for: a shorter one (`UA`) would also match words of a message, and identifies no one.
const MIN_CHARS: usize = 6;

/// What replaces each value.
const MARK: &str = "[redacted]";

/// The fields of a sent Pinterest event that hold personal data in clear (everything else is hashed or is not
/// about the person).
#[derive(Deserialize)]
struct SentInClear {
    event_source_url: Option<String>,
    #[serde(default)]
    user_data: UserDataInClear,
}

#[derive(Deserialize, Default)]
struct UserDataInClear {
    client_ip_address: Option<String>,
    client_user_agent: Option<String>,
    click_id: Option<String>,
}

/// The values that `events` (each the JSON of one Pinterest event, as sent) carry in clear: IP, user agent,
/// click id and page URL, each once, longest first (so that a URL holding the click id goes whole).
pub fn clear_values(events: &[String]) -> Vec<String> {
    let mut values: Vec<String> = events
        .iter()
        .filter_map(|event| serde_json::from_str::<SentInClear>(event).ok())
        .flat_map(|event| {
            let user = event.user_data;
            [
                event.event_source_url,
                user.client_ip_address,
                user.client_user_agent,
                user.click_id,
            ]
        })
        .flatten()
        .filter(|value| value.chars().count() >= MIN_CHARS)
        .collect();
    values.sort_unstable_by(|a, b| (Reverse(a.len()), a).cmp(&(Reverse(b.len()), b)));
    values.dedup();
    values
}

/// What ends a text that was cut short (`pinterest::retry`).
const CUT_MARK: char = '…';

/// `text` with every value of `clear` (from [`clear_values`]) replaced by `[redacted]`; a text cut short (ending
/// in `…`) that ends inside a value has that value's start replaced too.
pub fn redact(text: &str, clear: &[String]) -> String {
    let whole = clear.iter().fold(text.to_owned(), |text, value| {
        if memchr::memmem::find(text.as_bytes(), value.as_bytes()).is_some() {
            text.replace(value.as_str(), MARK)
        } else {
            text
        }
    });
    redact_cut_value(whole, clear)
}

/// A text cut inside a value ends with the value's first characters: where the longest such start (of at
/// least [`MIN_CHARS`] characters) of any value begins, it is replaced.
fn redact_cut_value(text: String, clear: &[String]) -> String {
    let Some(kept) = text.strip_suffix(CUT_MARK) else {
        return text;
    };
    let value_start = clear
        .iter()
        .filter_map(|value| {
            value
                .char_indices()
                .map(|(end, _)| end)
                .chain([value.len()])
                .skip(MIN_CHARS)
                .filter(|&end| kept.ends_with(&value[..end]))
                .last()
                .map(|end| kept.len() - end)
        })
        .min();
    match value_start {
        Some(start) => format!("{}{MARK}{CUT_MARK}", &kept[..start]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(ip: &str, ua: &str, click: &str, url: &str) -> String {
        serde_json::json!({
            "event_source_url": url,
            "user_data": {"client_ip_address": ip, "client_user_agent": ua, "click_id": click, "em": ["0123"]}
        })
        .to_string()
    }

    #[test]
    fn values_sent_in_clear_are_replaced() {
        let sent = [event(
            "203.0.113.77",
            "Mozilla/5.0 Test",
            "clk-123456",
            "https://shop.example/p?epik=clk-123456",
        )];
        let clear = clear_values(&sent);
        assert_eq!(
            redact(
                "bad ip 203.0.113.77, ua Mozilla/5.0 Test, url https://shop.example/p?epik=clk-123456, id clk-123456",
                &clear
            ),
            "bad ip [redacted], ua [redacted], url [redacted], id [redacted]"
        );
        assert_eq!(redact("Invalid email", &clear), "Invalid email");
    }

    #[test]
    fn values_of_every_event_of_a_request_are_looked_for_once_each() {
        let sent = [
            event(
                "203.0.113.1",
                "Agent/1.0",
                "clk-111111",
                "https://a.example/",
            ),
            event(
                "203.0.113.2",
                "Agent/1.0",
                "clk-222222",
                "https://a.example/",
            ),
        ];
        let clear = clear_values(&sent);
        assert_eq!(clear.len(), 6, "{clear:?}");
        assert_eq!(clear[0], "https://a.example/");
        assert_eq!(
            redact("data[1]: 203.0.113.2 is not an IPv4 address", &clear),
            "data[1]: [redacted] is not an IPv4 address"
        );
    }

    #[test]
    fn a_value_cut_by_the_quote_limit_is_redacted_from_its_start() {
        let url = "https://shop.example/checkout?step=2&epik=dj0yJnU9abc";
        let clear = clear_values(&[event("203.0.113.77", "Mozilla/5.0 Test", "clk-123456", url)]);
        let cut_inside = format!("HTTP 400: bad url {}…", &url[..20]);
        assert_eq!(redact(&cut_inside, &clear), "HTTP 400: bad url [redacted]…");
        // The IP and the URL's start both end the text: the earliest start goes.
        let ip_then_url = format!("ip 203.0.113.77 then {}…", &url[..30]);
        assert_eq!(
            redact(&ip_then_url, &clear),
            "ip [redacted] then [redacted]…"
        );
        // Fewer than 6 characters of a value, or a text that was not cut: left as they are.
        assert_eq!(
            redact("HTTP 400: see https…", &clear),
            "HTTP 400: see https…"
        );
        let not_cut = format!("HTTP 400: bad url {}", &url[..20]);
        assert_eq!(redact(&not_cut, &clear), not_cut);
    }

    #[test]
    fn short_values_and_unreadable_events_are_left_alone() {
        let short = [r#"{"user_data":{"client_user_agent":"UA","click_id":"in"}}"#.to_owned()];
        assert!(clear_values(&short).is_empty());
        assert!(clear_values(&["not json".to_owned(), "[1]".to_owned()]).is_empty());
        assert_eq!(redact("UA invalid", &clear_values(&short)), "UA invalid");
    }
}
