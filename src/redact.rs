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

/// `text` with every value of `clear` (from [`clear_values`]) replaced by `[redacted]`.
pub fn redact(text: &str, clear: &[String]) -> String {
    clear.iter().fold(text.to_owned(), |text, value| {
        if memchr::memmem::find(text.as_bytes(), value.as_bytes()).is_some() {
            text.replace(value.as_str(), MARK)
        } else {
            text
        }
    })
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
    fn short_values_and_unreadable_events_are_left_alone() {
        let short = [r#"{"user_data":{"client_user_agent":"UA","click_id":"in"}}"#.to_owned()];
        assert!(clear_values(&short).is_empty());
        assert!(clear_values(&["not json".to_owned(), "[1]".to_owned()]).is_empty());
        assert_eq!(redact("UA invalid", &clear_values(&short)), "UA invalid");
    }
}
