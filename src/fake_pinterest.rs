//! A local stand-in for Pinterest's events endpoint, for runs without Pinterest: every request is checked against
//! Pinterest's published request schema and answered per event, with faults chosen by event id
//! (`pinterest-cli fake-pinterest`). The tests' fake shares its answers and schemas.

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Pinterest's request schema (`POST /v5/ad_accounts/{id}/events`), from its OpenAPI description v5.23.0.
pub const REQUEST_SCHEMA: &str =
    include_str!("../tests/fixtures/conversion-events.request.schema.json");
/// Pinterest's response schemas of the same operation (200, `Error`, `DetailedError` in `$defs`).
pub const RESPONSE_SCHEMA: &str =
    include_str!("../tests/fixtures/conversion-events.response.schema.json");

/// Largest request body read; Pinterest takes at most 1000 events, far less than this.
const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;
/// Schema errors quoted in a 400 answer; more are counted.
const QUOTED_ERRORS: usize = 5;

/// Pinterest's schemas, compiled.
pub struct Schemas {
    pub request: jsonschema::Validator,
    pub ok: jsonschema::Validator,
    pub error: jsonschema::Validator,
    pub detailed_error: jsonschema::Validator,
}

impl Schemas {
    /// Compiles the schemas built into the binary.
    pub fn load() -> Result<Self, String> {
        let parse = |name: &str, text: &str| -> Result<Value, String> {
            serde_json::from_str(text).map_err(|e| format!("{name} schema is not JSON: {e}"))
        };
        let compile = |name: &str, schema: &Value| {
            jsonschema::validator_for(schema)
                .map_err(|e| format!("{name} schema does not compile: {e}"))
        };
        let request = parse("request", REQUEST_SCHEMA)?;
        let response = parse("response", RESPONSE_SCHEMA)?;
        Ok(Self {
            request: compile("request", &request)?,
            ok: compile("response", &response)?,
            error: compile("Error", &response["$defs"]["Error"])?,
            detailed_error: compile("DetailedError", &response["$defs"]["DetailedError"])?,
        })
    }

    /// The request schema's errors for `body`, each with where it is (empty when valid).
    pub fn request_errors(&self, body: &Value) -> Vec<String> {
        self.request
            .iter_errors(body)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect()
    }
}

/// Pinterest's 200 answer (`ConversionApiResponse`) for `events` events: those at `failed` failed, those at
/// `warned` carry a `warning_message`.
pub fn per_event(events: usize, failed: &[usize], warned: &[usize]) -> Value {
    let results: Vec<Value> = (0..events)
        .map(|i| {
            let warning = warned
                .contains(&i)
                .then(|| format!("Event {i}: non-standard field ignored"));
            if failed.contains(&i) {
                json!({
                    "status": "failed",
                    "error_message": format!("Event {i}: invalid user_data"),
                    "warning_message": warning,
                })
            } else {
                json!({"status": "processed", "error_message": null, "warning_message": warning})
            }
        })
        .collect();
    json!({
        "num_events_received": events,
        "num_events_processed": (0..events).filter(|i| !failed.contains(i)).count(),
        "events": results,
    })
}

/// An `Error` body as Pinterest documents them.
pub fn error_body(status: u16) -> Value {
    let (code, message) = match status {
        400 => (4196, "Invalid parameters."),
        401 => (2, "Authentication failed."),
        403 => (29, "You are not permitted to access that resource."),
        404 => (4162, "Ad account not found."),
        429 => (8, "You have exceeded your rate limit. Try again later."),
        501 => (1, "Not implemented."),
        503 => (4197, "Service unavailable."),
        _ => (1, "Something went wrong."),
    };
    json!({"code": code, "message": message})
}

/// What a request's event ids ask of the fake: an event id starting with one of these prefixes injects a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No fault: every event processed.
    None,
    /// `fail-…`: 200, these events (positions in the request) `failed`, the others processed.
    FailEvents(Vec<usize>),
    /// `reject-…` (400), `throttle-…` (429 with `Retry-After: 1`), `unavailable-…` (503): the whole request.
    Status(u16),
}

/// The event-id prefixes that inject a whole-request fault, with the status each answers.
pub const STATUS_FAULTS: [(&str, u16); 3] =
    [("reject-", 400), ("throttle-", 429), ("unavailable-", 503)];
/// The event-id prefix that makes that one event `failed`.
pub const FAIL_PREFIX: &str = "fail-";

/// The fault the events of `body` ask for; a whole-request fault wins over failed events.
pub fn fault_for(body: &Value) -> Fault {
    let ids: Vec<&str> = body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|event| event["event_id"].as_str().unwrap_or_default())
        .collect();
    for (prefix, status) in STATUS_FAULTS {
        if ids.iter().any(|id| id.starts_with(prefix)) {
            return Fault::Status(status);
        }
    }
    let failed: Vec<usize> = (0..ids.len())
        .filter(|&i| ids[i].starts_with(FAIL_PREFIX))
        .collect();
    if failed.is_empty() {
        Fault::None
    } else {
        Fault::FailEvents(failed)
    }
}

/// Serves the fake on `listener` until the process ends. With `token`, only `Authorization: Bearer <token>` is
/// accepted; without, any bearer token. One line per request goes to stderr (never a body).
pub async fn serve(listener: TcpListener, token: Option<String>) -> std::io::Result<()> {
    let schemas = Arc::new(Schemas::load().map_err(std::io::Error::other)?);
    let token = Arc::new(token);
    loop {
        let (stream, _) = listener.accept().await?;
        let (schemas, token) = (Arc::clone(&schemas), Arc::clone(&token));
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (schemas, token) = (Arc::clone(&schemas), Arc::clone(&token));
                async move { Ok::<_, Infallible>(answer(&schemas, token.as_deref(), request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                eprintln!("fake-pinterest: connection: {e}");
            }
        });
    }
}

/// `n events`, singular for one.
fn counted(events: usize) -> String {
    crate::text::counted(events as u64, "event", "events")
}

/// Answers one request, and logs it.
async fn answer(
    schemas: &Schemas,
    token: Option<&str>,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let line = format!("{} {}", request.method(), request.uri());
    let (status, body, note) = decide(schemas, token, request).await;
    eprintln!("fake-pinterest: {line} → {status}{note}");
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if status == 429 {
        headers.insert(RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
    }
    response
}

/// The status, body and log note of the answer to `request`.
async fn decide(
    schemas: &Schemas,
    token: Option<&str>,
    request: Request<Incoming>,
) -> (u16, Value, String) {
    let path = request.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let is_events = matches!(segments.as_slice(), ["", "v5", "ad_accounts", account, "events"]
        if !account.is_empty() && account.bytes().all(|b| b.is_ascii_digit()));
    if !is_events {
        return (
            404,
            error_body(404),
            " (only POST /v5/ad_accounts/{digits}/events exists here)".into(),
        );
    }
    if request.method() != Method::POST {
        return (405, error_body(405), " (only POST)".into());
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
    };
    let bearer = header(AUTHORIZATION)
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bearer.is_empty() || token.is_some_and(|token| token != bearer) {
        return (
            401,
            error_body(401),
            " (wrong or missing bearer token)".into(),
        );
    }
    if !header(CONTENT_TYPE).is_some_and(|v| v.starts_with("application/json")) {
        return (
            400,
            error_body(400),
            " (Content-Type is not application/json)".into(),
        );
    }
    let bytes = match Limited::new(request.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => return (400, error_body(400), format!(" (body unreadable: {e})")),
    };
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(body) => body,
        Err(e) => return (400, error_body(400), format!(" (body is not JSON: {e})")),
    };
    let events = body["data"].as_array().map_or(0, Vec::len);
    let errors = schemas.request_errors(&body);
    if !errors.is_empty() {
        let quoted = errors
            .iter()
            .take(QUOTED_ERRORS)
            .cloned()
            .collect::<Vec<_>>()
            .join("; ");
        let more = errors.len().saturating_sub(QUOTED_ERRORS);
        let message = if more > 0 {
            format!("{quoted}; and {more} more")
        } else {
            quoted
        };
        let body = json!({"code": 4196, "message": format!("Invalid parameters: {message}")});
        return (
            400,
            body,
            format!(" ({}; schema: {message})", counted(events)),
        );
    }
    match fault_for(&body) {
        Fault::None => (
            200,
            per_event(events, &[], &[]),
            format!(" ({} processed)", counted(events)),
        ),
        Fault::FailEvents(failed) => {
            let note = format!(
                " ({}, {} failed by `fail-` ids)",
                counted(events),
                failed.len()
            );
            (200, per_event(events, &failed, &[]), note)
        }
        Fault::Status(status) => (
            status,
            error_body(status),
            format!(" ({}; fault by event id)", counted(events)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_schemas_compile_and_hold_the_fakes_own_answers() {
        let schemas = Schemas::load().expect("schemas");
        assert!(schemas.ok.is_valid(&per_event(3, &[1], &[2])));
        for status in [400, 401, 403, 404, 429, 503] {
            assert!(schemas.error.is_valid(&error_body(status)), "{status}");
        }
        assert!(
            !schemas
                .request_errors(&json!({"data": [{"event_name": "nope"}]}))
                .is_empty()
        );
    }

    #[test]
    fn faults_come_from_event_id_prefixes() {
        let body = |ids: &[&str]| json!({"data": ids.iter().map(|id| json!({"event_id": id})).collect::<Vec<_>>()});
        assert_eq!(fault_for(&body(&["a", "b"])), Fault::None);
        assert_eq!(
            fault_for(&body(&["a", "fail-1", "fail-2"])),
            Fault::FailEvents(vec![1, 2])
        );
        assert_eq!(
            fault_for(&body(&["fail-1", "throttle-1"])),
            Fault::Status(429)
        );
        assert_eq!(fault_for(&body(&["reject-x"])), Fault::Status(400));
        assert_eq!(fault_for(&body(&["unavailable-x"])), Fault::Status(503));
    }
}
