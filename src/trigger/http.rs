//! API Gateway trigger (REST v1 and HTTP API v2): `POST` a body of events, get one result per event.

use super::{State, process};
use crate::event::{self, Value};
use crate::fate::Tally;
use crate::summary::Counters;
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequest,
    ApiGatewayV2httpResponse,
};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method};
use base64::Engine;
use serde::Serialize;
use serde_json::json;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::time::Duration;
use tokio::time::Instant;

/// Seconds a client should wait before retrying after a transient failure.
const RETRY_AFTER_SECS: &str = "30";
/// Most events one request may hold, so that the answer fits Lambda's 6 MB: a result line holds an event id of
/// at most 128 characters (cut, as in logs) and a reason of at most about 800 bytes, so 2000 lines stay under
/// 3 MB. (Pinterest takes 1000 events per request: 2000 is two.)
const MAX_EVENTS_PER_REQUEST: usize = 2_000;
/// API Gateway stops waiting after 29 s, whatever the function's timeout: answer before that.
const API_GATEWAY_BUDGET: Duration = Duration::from_secs(28);

/// A response, before it is put in the shape of the API Gateway version.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
    pub headers: Vec<(&'static str, &'static str)>,
}

fn error(status: u16, message: impl Into<String>) -> Reply {
    Reply {
        status,
        body: json!({"error": message.into()}),
        headers: Vec::new(),
    }
}

/// The events of a body: one event, an array of events, or `{"events": [...]}` (see
/// [`event::parse_repairing`] for `repaired`).
fn decode_events<'a>(
    body: &'a [u8],
    repaired: &'a OnceCell<String>,
) -> Result<Vec<Value<'a>>, String> {
    if body.trim_ascii().is_empty() {
        return Err("body: empty".into());
    }
    // Text already checked as UTF-8 is parsed without checking each string again; serde_json names where
    // invalid UTF-8 is.
    let value = match std::str::from_utf8(body) {
        Ok(text) => event::parse_repairing(text, repaired),
        Err(_) => event::parse_bytes(body),
    }
    .map_err(|e| format!("body: not JSON ({e})"))?;
    let events = match value {
        Value::Array(events) => events,
        Value::Object(object) => {
            // Of duplicate keys the last counts, as everywhere in an event.
            match object
                .as_vec()
                .iter()
                .rposition(|(key, _)| &**key == "events")
            {
                Some(at) => match object.into_vec().swap_remove(at).1 {
                    Value::Array(events) => events,
                    _ => return Err("body: \"events\" must be an array of events".into()),
                },
                None => vec![Value::Object(object)],
            }
        }
        _ => {
            return Err(
                "body: expected an event object, an array of events or {\"events\": [...]}".into(),
            );
        }
    };
    if events.is_empty() {
        return Err("body: no events".into());
    }
    if let Some((index, other)) = events.iter().enumerate().find(|(_, e)| !e.is_object()) {
        return Err(format!(
            "body: events[{index}]: expected an event object, found {}",
            event::kind(other)
        ));
    }
    Ok(events)
}

/// The raw body bytes, checking the size limit before decoding anything.
fn body_bytes(
    body: Option<&str>,
    base64_encoded: bool,
    limit: usize,
) -> Result<Cow<'_, [u8]>, Reply> {
    let body = body.unwrap_or_default();
    let decoded_len = if base64_encoded {
        // Exact for the padded base64 API Gateway sends: 3 bytes per 4 characters, less the padding.
        let encoded = body.trim();
        let padding = encoded.bytes().rev().take(2).filter(|&b| b == b'=').count();
        (encoded.len() / 4 * 3).saturating_sub(padding)
    } else {
        body.len()
    };
    if decoded_len > limit {
        return Err(error(
            413,
            format!("body: larger than the limit of {limit} bytes"),
        ));
    }
    if base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map(Cow::Owned)
            .map_err(|e| error(400, format!("body: invalid base64 ({e})")))
    } else {
        Ok(Cow::Borrowed(body.as_bytes()))
    }
}

/// A request refused before any event was read: logged as such, its one record failed.
fn refused(reply: Reply, counters: Counters) -> (Reply, Counters) {
    tracing::warn!(
        status = reply.status,
        "request refused: {}",
        reply.body["error"]
    );
    (
        reply,
        Counters {
            records_failed: 1,
            ..counters
        },
    )
}

/// One entry of the response's `results`.
#[derive(Serialize)]
struct ResultLine<'a> {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<Cow<'a, str>>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// Handles a request, whatever the API Gateway version: the reply, and the counters of what it did.
pub async fn handle(
    state: &State,
    method: &Method,
    body: Option<&str>,
    base64_encoded: bool,
    deadline: Instant,
) -> (Reply, Counters) {
    let counters = Counters {
        records: 1,
        test_mode: state.settings.test_mode,
        ..Counters::default()
    };
    if method != Method::POST {
        let mut reply = error(405, format!("method {method} not allowed; use POST"));
        reply.headers.push(("allow", "POST"));
        return (
            reply,
            Counters {
                records_failed: 1,
                ..counters
            },
        );
    }
    let bytes = match body_bytes(body, base64_encoded, state.settings.max_api_body_bytes) {
        Ok(bytes) => bytes,
        Err(reply) => return refused(reply, counters),
    };
    let repaired = OnceCell::new();
    let events = match decode_events(&bytes, &repaired) {
        Ok(events) => events,
        Err(reason) => return refused(error(400, reason), counters),
    };
    if repaired.get().is_some() {
        tracing::warn!("body: {}", event::REPAIRED);
    }
    if events.len() > MAX_EVENTS_PER_REQUEST {
        let reason = format!(
            "body: {} events; at most {MAX_EVENTS_PER_REQUEST} per request",
            events.len()
        );
        return refused(error(413, reason), counters);
    }
    let deadline = deadline.min(Instant::now() + API_GATEWAY_BUDGET);
    let delivered = process(state, &events, super::unix_now(), deadline).await;
    let lines: Vec<ResultLine> = delivered
        .results
        .iter()
        .enumerate()
        .map(|(index, r)| ResultLine {
            index,
            event_id: r.event_id.as_deref().map(super::short_id),
            status: r.fate.name(),
            error: r.fate.reason(),
        })
        .collect();
    let tally = Tally::of(delivered.results.iter().map(|r| &r.fate));
    let mut body = json!({
        "results": lines,
        "delivered": tally.delivered,
        "skipped": tally.skipped,
        "filtered": tally.filtered,
        "rejected": tally.rejected,
        "failed": tally.failed,
    });
    // Only a dry run (`pinterest-cli replay` without `--send`) has events that would be sent.
    if tally.would_send > 0 {
        body["would_send"] = json!(tally.would_send);
    }
    let (status, headers) = if tally.failed > 0 {
        (503, vec![("retry-after", RETRY_AFTER_SECS)])
    } else if tally.rejected > 0 {
        (422, Vec::new())
    } else {
        (200, Vec::new())
    };
    let counters = Counters {
        records_failed: u64::from(status != 200),
        events: tally,
        requests: delivered.requests,
        ..counters
    };
    let reply = Reply {
        status,
        body,
        headers,
    };
    (reply, counters)
}

fn header_map(reply: &Reply) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    for (name, value) in &reply.headers {
        headers.insert(*name, HeaderValue::from_static(value));
    }
    headers
}

/// REST API (v1) request → reply.
pub async fn handle_v1(
    state: &State,
    request: &ApiGatewayProxyRequest,
    deadline: Instant,
) -> (ApiGatewayProxyResponse, Counters) {
    let (reply, counters) = handle(
        state,
        &request.http_method,
        request.body.as_deref(),
        request.is_base64_encoded,
        deadline,
    )
    .await;
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = i64::from(reply.status);
    response.headers = header_map(&reply);
    response.body = Some(Body::Text(reply.body.to_string()));
    (response, counters)
}

/// HTTP API (v2) request → reply.
pub async fn handle_v2(
    state: &State,
    request: &ApiGatewayV2httpRequest,
    deadline: Instant,
) -> (ApiGatewayV2httpResponse, Counters) {
    let (reply, counters) = handle(
        state,
        &request.request_context.http.method,
        request.body.as_deref(),
        request.is_base64_encoded,
        deadline,
    )
    .await;
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(reply.status);
    response.headers = header_map(&reply);
    response.body = Some(Body::Text(reply.body.to_string()));
    (response, counters)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How many events `decode_events` finds in `body`.
    fn decode(body: &[u8]) -> Result<usize, String> {
        decode_events(body, &OnceCell::new()).map(|events| events.len())
    }

    #[test]
    fn bodies_hold_one_event_an_array_or_an_events_object() {
        assert_eq!(decode(br#"{"event_name":"x"}"#), Ok(1));
        assert_eq!(decode(br#"[{"a":1},{"b":2}]"#), Ok(2));
        assert_eq!(decode(br#"{"events":[{"a":1},{"b":2},{"c":3}]}"#), Ok(3));
        assert_eq!(decode(b"[]"), Err("body: no events".into()));
        assert_eq!(decode(b""), Err("body: empty".into()));
        assert_eq!(decode(b" \r\n\t"), Err("body: empty".into()));
        assert!(
            decode(br#"{"events":{}}"#)
                .unwrap_err()
                .contains("must be an array")
        );
        assert!(
            decode(b"\"x\"")
                .unwrap_err()
                .contains("expected an event object")
        );
        assert!(decode(b"nope").unwrap_err().starts_with("body: not JSON"));
        assert!(
            decode(b"\xff\xfe")
                .unwrap_err()
                .starts_with("body: not JSON")
        );
        // Half an emoji, as JavaScript writes a string cut inside one: repaired, not refused.
        let repaired = OnceCell::new();
        let events = decode_events(br#"{"search_term": "caf\ud83d"}"#, &repaired).unwrap();
        assert_eq!(events[0].get("search_term").as_str(), Some("caf\u{fffd}"));
        assert!(repaired.get().is_some());
    }

    #[test]
    fn size_limit_is_checked_before_decoding() {
        assert_eq!(
            body_bytes(Some("abcd"), false, 4).map(Cow::into_owned),
            Ok(b"abcd".to_vec())
        );
        assert_eq!(body_bytes(Some("abcde"), false, 4).unwrap_err().status, 413);
        assert_eq!(
            body_bytes(Some("eyJhIjoxfQ=="), true, 100).map(Cow::into_owned),
            Ok(br#"{"a":1}"#.to_vec())
        );
        assert_eq!(
            body_bytes(Some(&"A".repeat(4000)), true, 1000)
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            body_bytes(Some("!!notbase64"), true, 100)
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            body_bytes(None, false, 4).map(Cow::into_owned),
            Ok(Vec::new())
        );
        // At the limit whatever the padding: 4 bytes → "YWJjZA==", 5 → "YWJjZGU=", 6 → "YWJjZGVm".
        assert_eq!(
            body_bytes(Some("YWJjZA=="), true, 4).map(Cow::into_owned),
            Ok(b"abcd".to_vec())
        );
        assert_eq!(
            body_bytes(Some("YWJjZGU="), true, 5).map(Cow::into_owned),
            Ok(b"abcde".to_vec())
        );
        assert_eq!(
            body_bytes(Some("YWJjZGVm"), true, 6).map(Cow::into_owned),
            Ok(b"abcdef".to_vec())
        );
        assert_eq!(
            body_bytes(Some("YWJjZGU="), true, 4).unwrap_err().status,
            413
        );
    }
}
