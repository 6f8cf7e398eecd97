//! A fake Pinterest events endpoint on 127.0.0.1 (wiremock): checks the schema and the token, records every
//! request, and answers from a script; plus a server that resets every connection.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use jsonschema::Validator;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The ad account the tests use.
pub const AD_ACCOUNT_ID: &str = "549755885175";
/// The token the fake accepts unless told otherwise.
pub const TOKEN: &str = "pina_test_token";

/// One scripted answer. Requests that fail the schema or carry a wrong token are answered 400 / 401 without
/// using the script; when the script is empty, the default reply is used (initially [`Reply::Ok`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200, every event processed.
    Ok,
    /// 200, the events at these positions of the request `failed`, the others processed.
    FailEvents(Vec<usize>),
    /// 200, every event processed, these with a `warning_message`.
    Warn(Vec<usize>),
    /// 422 DetailedError whose `details.events` mark these positions `failed`.
    Unprocessable(Vec<usize>),
    /// This status with an Error body `{code, message}`.
    Status(u16),
    /// This status with an Error body and this `Retry-After` header.
    RetryAfter(u16, String),
    /// 200, every event processed, answered after this stall.
    Delay(Duration),
    /// 200 with an HTML body.
    NotJson,
    /// 200 with one per-event result too few.
    WrongLength,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub ad_account_id: String,
    pub test_mode: bool,
    pub authorized: bool,
    pub body: Value,
    pub event_ids: Vec<String>,
    /// Status answered.
    pub status: u16,
    /// Stall before the answer (from [`Reply::Delay`]).
    pub stall: Duration,
}

#[derive(Default)]
struct State {
    token: String,
    script: VecDeque<Reply>,
    default: Option<Reply>,
    rejected_ids: HashSet<String>,
    requests: Vec<Recorded>,
    schema_violations: Vec<String>,
}

pub struct FakePinterest {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl FakePinterest {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            token: TOKEN.to_owned(),
            ..State::default()
        }));
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/v5/ad_accounts/[0-9]+/events$"))
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The API base URL to configure: `<uri>/v5`.
    pub fn base_url(&self) -> String {
        format!("{}/v5", self.uri())
    }

    /// The token accepted from now on.
    pub fn set_token(&self, token: &str) {
        self.lock().token = token.to_owned();
    }

    /// Appends answers to the script, used one per request in arrival order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.lock().script.extend(replies);
    }

    /// The answer once the script is used up.
    pub fn set_default(&self, reply: Reply) {
        self.lock().default = Some(reply);
    }

    /// Any request holding an event with this `event_id` is answered 400 (before the script is consulted).
    pub fn reject_event_id(&self, event_id: &str) {
        self.lock().rejected_ids.insert(event_id.to_owned());
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Request bodies that failed the request schema, and answers of the fake that failed the response schema.
    pub fn schema_violations(&self) -> Vec<String> {
        self.lock().schema_violations.clone()
    }

    /// The most requests in flight at once, a request counting from its arrival to the end of its stall
    /// (so only stalled requests count).
    pub fn max_in_flight(&self) -> usize {
        let requests = self.requests();
        requests
            .iter()
            .map(|r| {
                requests
                    .iter()
                    .filter(|o| o.at <= r.at && r.at < o.at + o.stall)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake state poisoned")
    }
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let at = Instant::now();
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let event_ids: Vec<String> = body["data"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| e["event_id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let events = body["data"].as_array().map_or(0, Vec::len);
        let schema_errors: Vec<String> = schemas()
            .request
            .iter_errors(&body)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        let content_type_ok = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            == Some("application/json");
        let mut state = self.0.lock().expect("fake state poisoned");
        let authorized = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some(format!("Bearer {}", state.token).as_str());
        let reply = if !authorized {
            Reply::Status(401)
        } else if !schema_errors.is_empty() || !content_type_ok {
            let problem = if content_type_ok {
                schema_errors.join("; ")
            } else {
                "Content-Type is not application/json".to_owned()
            };
            state.schema_violations.push(format!("request: {problem}"));
            Reply::Status(400)
        } else if event_ids.iter().any(|id| state.rejected_ids.contains(id)) {
            Reply::Status(400)
        } else {
            match state.script.pop_front() {
                Some(reply) => reply,
                None => state.default.clone().unwrap_or(Reply::Ok),
            }
        };
        let (status, template, stall) = answer(&reply, events, &mut state.schema_violations);
        let segments: Vec<&str> = request.url.path().split('/').collect();
        state.requests.push(Recorded {
            at,
            ad_account_id: segments.get(3).copied().unwrap_or_default().to_owned(),
            test_mode: request
                .url
                .query_pairs()
                .any(|(k, v)| k == "test" && v == "true"),
            authorized,
            body,
            event_ids,
            status,
            stall,
        });
        template
    }
}

/// The status, the response, and its stall for one reply to a request of `events` events.
fn answer(
    reply: &Reply,
    events: usize,
    violations: &mut Vec<String>,
) -> (u16, ResponseTemplate, Duration) {
    let (status, body, stall) = match reply {
        Reply::Ok => (200, per_event(events, &[], &[]), Duration::ZERO),
        Reply::FailEvents(failed) => (200, per_event(events, failed, &[]), Duration::ZERO),
        Reply::Warn(warned) => (200, per_event(events, &[], warned), Duration::ZERO),
        Reply::Delay(stall) => (200, per_event(events, &[], &[]), *stall),
        Reply::Unprocessable(failed) => {
            let body = json!({
                "code": 953,
                "message": "Not all events were successfully processed.",
                "details": per_event(events, failed, &[]),
            });
            (422, body, Duration::ZERO)
        }
        Reply::Status(status) | Reply::RetryAfter(status, _) => {
            (*status, error_body(*status), Duration::ZERO)
        }
        Reply::NotJson => {
            let template = ResponseTemplate::new(200)
                .set_body_raw("<html>upstream hiccup</html>", "text/html");
            return (200, template, Duration::ZERO);
        }
        Reply::WrongLength => (
            200,
            per_event(events.saturating_sub(1), &[], &[]),
            Duration::ZERO,
        ),
    };
    let validator = match status {
        200 => &schemas().ok,
        422 => &schemas().detailed_error,
        _ => &schemas().error,
    };
    for error in validator.iter_errors(&body) {
        violations.push(format!(
            "response {status}: {}: {error}",
            error.instance_path()
        ));
    }
    let mut template = ResponseTemplate::new(status)
        .set_body_json(body)
        .set_delay(stall);
    if let Reply::RetryAfter(_, value) = reply {
        template = template.insert_header("retry-after", value.as_str());
    }
    (status, template, stall)
}

/// `ConversionApiResponse` for `events` events.
fn per_event(events: usize, failed: &[usize], warned: &[usize]) -> Value {
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
        "num_events_processed": events - failed.iter().filter(|&&i| i < events).count(),
        "events": results,
    })
}

/// An Error body as Pinterest documents them.
fn error_body(status: u16) -> Value {
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

struct Schemas {
    request: Validator,
    ok: Validator,
    error: Validator,
    detailed_error: Validator,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let parse =
            |text: &str| -> Value { serde_json::from_str(text).expect("schema fixture is JSON") };
        let compile =
            |schema: &Value| jsonschema::validator_for(schema).expect("schema fixture compiles");
        let request = parse(include_str!(
            "../fixtures/conversion-events.request.schema.json"
        ));
        let response = parse(include_str!(
            "../fixtures/conversion-events.response.schema.json"
        ));
        Schemas {
            request: compile(&request),
            ok: compile(&response),
            error: compile(&response["$defs"]["Error"]),
            detailed_error: compile(&response["$defs"]["DetailedError"]),
        }
    })
}

/// The JSON of a minimal valid event with this `event_id`.
pub fn event(event_id: &str) -> String {
    json!({
        "event_name": "checkout",
        "action_source": "web",
        "event_time": 1_700_000_000,
        "event_id": event_id,
        "user_data": {"em": ["b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514"]},
    })
    .to_string()
}

/// The same event padded through `event_source_url` to exactly `bytes` bytes of JSON (if that is at least
/// the minimal event's size).
pub fn event_of_size(event_id: &str, bytes: usize) -> String {
    let base = json!({
        "event_name": "checkout",
        "action_source": "web",
        "event_time": 1_700_000_000,
        "event_id": event_id,
        "event_source_url": "",
        "user_data": {"em": ["b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514"]},
    });
    let padding = bytes.saturating_sub(base.to_string().len());
    let mut padded = base;
    padded["event_source_url"] = Value::String("x".repeat(padding));
    padded.to_string()
}

/// A server that accepts connections, reads the start of the request and resets the connection.
pub struct ResetServer {
    address: std::net::SocketAddr,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl ResetServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut start = [0u8; 1024];
                let _ = stream.read(&mut start).await;
                let _ = stream.set_zero_linger();
                drop(stream);
            }
        });
        Self {
            address,
            connections,
            task,
        }
    }

    /// The API base URL to configure.
    pub fn base_url(&self) -> String {
        format!("http://{}/v5", self.address)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for ResetServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
