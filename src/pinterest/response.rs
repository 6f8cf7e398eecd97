//! What an answer from the events endpoint means for the request: retry decisions as data, one status table.

use std::time::{Duration, SystemTime};

use crate::text::cut;
use serde::Deserialize;

/// Longest piece of a Pinterest answer that goes into a reason (and so into a log line).
pub const MAX_REASON_CHARS: usize = 300;

/// Longest piece of an answer a [`Decision`] quotes: the caller redacts what the request's events sent in clear
/// (`crate::redact`), which may shorten it by whole URLs and user agents, then cuts it to [`MAX_REASON_CHARS`].
pub const MAX_QUOTED_CHARS: usize = 4096;

/// What to do with one request after one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 2xx, or 422 with per-event details: one result per event sent, in request order.
    PerEvent(Vec<PinterestEventResult>),
    /// The request as a whole was refused and sending it again unchanged won't help (400, 403, 404, 501,
    /// other 4xx, 422 without usable per-event details). One bad event may be the cause, so the caller may split.
    Reject { status: u16, reason: String },
    /// 401: the token was refused; get a fresh one and try once more.
    RefreshToken,
    /// Transient (408, 429, 5xx but 501, time-out, network, or a 2xx we can't read): try again, not before
    /// `retry_after` when Pinterest gave one.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
}

/// Pinterest's verdict on one event (an element of `events[]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PinterestEventResult {
    pub status: EventStatus,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub warning_message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventStatus {
    Processed,
    Failed,
}

/// The 200 body, and the `details` of a 422 body.
#[derive(Deserialize)]
struct PerEventBody {
    events: Vec<PinterestEventResult>,
}

/// The error body `{code, message}`, with `details` on a 422.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    details: Option<PerEventBody>,
}

/// Maps an HTTP answer to a decision. `events_sent` is the number of events in the request.
///
/// A 2xx whose body is not the expected JSON, or whose `events[]` does not have exactly one entry per event
/// sent, is a `Retry`: we can't tell which events landed, and sending them again is safe because Pinterest
/// de-duplicates on `event_id`. If it keeps happening the events end up failed, and SQS retries them later.
pub fn classify(
    status: u16,
    body: &[u8],
    retry_after: Option<Duration>,
    events_sent: usize,
) -> Decision {
    let retry = |reason: String| Decision::Retry {
        reason,
        retry_after,
    };
    match status {
        200..=299 => match serde_json::from_slice::<PerEventBody>(body) {
            Ok(answer) if answer.events.len() == events_sent => Decision::PerEvent(answer.events),
            Ok(answer) => retry(format!(
                "HTTP {status} with {} per-event results for {events_sent} events sent",
                answer.events.len()
            )),
            Err(_) => retry(format!(
                "HTTP {status} with a body that is not the expected JSON"
            )),
        },
        401 => Decision::RefreshToken,
        422 => match serde_json::from_slice::<ErrorBody>(body) {
            Ok(ErrorBody {
                details: Some(details),
                ..
            }) if details.events.len() == events_sent => Decision::PerEvent(details.events),
            _ => Decision::Reject {
                status,
                reason: error_reason(status, body),
            },
        },
        408 | 429 => retry(error_reason(status, body)),
        // 501: the server does not support the request; sending it again won't change that.
        400..=499 | 501 => Decision::Reject {
            status,
            reason: error_reason(status, body),
        },
        500..=599 => retry(error_reason(status, body)),
        _ => retry(format!("unexpected HTTP status {status}")),
    }
}

/// `HTTP 400 (code 4196): message` from an error body, or the start of the body when it isn't one; the message
/// cut to [`MAX_QUOTED_CHARS`].
fn error_reason(status: u16, body: &[u8]) -> String {
    let quote = |text: &str| cut(text, MAX_QUOTED_CHARS).into_owned();
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody {
            code: Some(code),
            message: Some(message),
            ..
        }) => format!("HTTP {status} (code {code}): {}", quote(&message)),
        Ok(ErrorBody {
            message: Some(message),
            ..
        }) => format!("HTTP {status}: {}", quote(&message)),
        _ if body.is_empty() => format!("HTTP {status}"),
        _ => format!("HTTP {status}: {}", quote(&String::from_utf8_lossy(body))),
    }
}

/// The first [`MAX_REASON_CHARS`] characters of `text`, marked with `…` when cut.
pub fn truncate(text: &str) -> String {
    cut(text, MAX_REASON_CHARS).into_owned()
}

/// `Retry-After` as delay-seconds or as an HTTP-date (a date in the past means no wait).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processed() -> PinterestEventResult {
        PinterestEventResult {
            status: EventStatus::Processed,
            error_message: None,
            warning_message: None,
        }
    }

    #[test]
    fn ok_gives_per_event_results() {
        let body = br#"{"num_events_received":2,"num_events_processed":1,"events":[
            {"status":"processed","error_message":null,"warning_message":"w"},
            {"status":"failed","error_message":"bad em"}]}"#;
        let Decision::PerEvent(results) = classify(200, body, None, 2) else {
            panic!("expected per-event results");
        };
        assert_eq!(results[0].warning_message.as_deref(), Some("w"));
        assert_eq!(results[1].status, EventStatus::Failed);
        assert_eq!(results[1].error_message.as_deref(), Some("bad em"));
    }

    #[test]
    fn unreadable_ok_is_retried() {
        let body = br#"{"num_events_received":2,"num_events_processed":2,"events":[{"status":"processed"}]}"#;
        assert!(matches!(
            classify(200, body, None, 2),
            Decision::Retry { .. }
        ));
        assert!(matches!(
            classify(200, b"<html>", None, 2),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn unprocessable_with_and_without_details() {
        let body = br#"{"code":953,"message":"Not all events were successfully processed.",
            "details":{"events":[{"status":"processed"},{"status":"failed","error_message":"x"}]}}"#;
        assert!(matches!(
            classify(422, body, None, 2),
            Decision::PerEvent(r) if r.len() == 2 && r[0] == processed()
        ));
        assert_eq!(
            classify(422, body, None, 3),
            Decision::Reject {
                status: 422,
                reason: "HTTP 422 (code 953): Not all events were successfully processed.".into()
            }
        );
    }

    #[test]
    fn status_table() {
        let wait = Some(Duration::from_secs(2));
        for status in [408, 429, 500, 502, 503, 504, 599] {
            assert!(
                matches!(
                    classify(status, b"", wait, 1),
                    Decision::Retry { retry_after, .. } if retry_after == wait
                ),
                "{status}"
            );
        }
        for status in [400, 403, 404, 413, 501] {
            assert!(matches!(
                classify(status, b"{}", None, 1),
                Decision::Reject { status: s, .. } if s == status
            ));
        }
        assert_eq!(classify(401, b"", None, 1), Decision::RefreshToken);
        assert!(matches!(
            classify(302, b"", None, 1),
            Decision::Retry { .. }
        ));
    }

    #[test]
    fn reasons_are_bounded() {
        let long = "é".repeat(10_000);
        let Decision::Reject { reason, .. } = classify(400, long.as_bytes(), None, 1) else {
            panic!("expected a reject");
        };
        assert_eq!(
            reason.chars().count(),
            "HTTP 400: ".len() + MAX_QUOTED_CHARS + 1
        );
        assert_eq!(truncate(&reason).chars().count(), MAX_REASON_CHARS + 1);
        let body = br#"{"code":4196,"message":"Invalid parameters."}"#;
        assert!(matches!(
            classify(400, body, None, 1),
            Decision::Reject { reason, .. } if reason == "HTTP 400 (code 4196): Invalid parameters."
        ));
    }

    #[test]
    fn retry_after_forms() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
