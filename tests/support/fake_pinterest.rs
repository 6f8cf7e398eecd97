//! A fake Pinterest events endpoint on 127.0.0.1: checks the schema and the token, records every request, and
//! answers from a script; plus a server that resets every connection.
//!
//! Two front ends share the script and the records:
//! - [`FakePinterest::start`] serves with wiremock, on wiremock's own thread and runtime;
//! - [`FakePinterest::start_local`] serves plain HTTP/1.1 from tasks of the *current* tokio runtime, so that a test
//!   with paused time (`start_paused = true`) pauses the fake's stalls too, and [`Reply::Reset`] can drop a
//!   connection without answering. With paused time, also run [`tick`].

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use pinterest_destination::fake_pinterest::{Schemas, error_body, per_event};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
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
    /// 200, the events at the first positions `failed`, those at the second carry a `warning_message`.
    FailAndWarn(Vec<usize>, Vec<usize>),
    /// 200, the events at these positions `failed` with this `error_message`; the last position also carries it
    /// as its `warning_message` (a long text tests what gets logged).
    FailWith(Vec<usize>, String),
    /// 422 DetailedError whose `details.events` mark these positions `failed`.
    Unprocessable(Vec<usize>),
    /// This status with an Error body `{code, message}`.
    Status(u16),
    /// This status with an Error body `{code, message}` carrying this message.
    ErrorMessage(u16, String),
    /// This status with this body as `text/html` (what a proxy in front of an API may answer).
    Raw(u16, String),
    /// This status with an Error body and this `Retry-After` header.
    RetryAfter(u16, String),
    /// 200, every event processed, answered after this stall.
    Delay(Duration),
    /// 200 with an HTML body.
    NotJson,
    /// 200 with one per-event result too few.
    WrongLength,
    /// The request is read, then the connection is reset without an answer ([`FakePinterest::start_local`]
    /// only: the wiremock server answers 502 instead).
    Reset,
    /// This status with a `Location` header pointing there.
    Redirect(u16, String),
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    /// Arrival on tokio's clock: virtual under paused time (with [`FakePinterest::start_local`]).
    pub clock_at: tokio::time::Instant,
    pub ad_account_id: String,
    pub test_mode: bool,
    pub authorized: bool,
    pub body: Value,
    pub event_ids: Vec<String>,
    /// Status answered (0 for [`Reply::Reset`]).
    pub status: u16,
    /// Stall before the answer (from [`Reply::Delay`]).
    pub stall: Duration,
    /// The reply used.
    pub reply: Reply,
    /// Answered 429 by the rate limit ([`FakePinterest::rate_limit`]), not by the script.
    pub rate_limited: bool,
    /// Per event of the request: whether the answer says Pinterest processed it (a 200 or 422 with one
    /// result per event sent, that result `processed`). A client that timed out before a stalled answer did
    /// not learn it.
    pub processed: Vec<bool>,
}

#[derive(Default)]
struct State {
    token: String,
    script: VecDeque<Reply>,
    default: Option<Reply>,
    rejected_ids: HashSet<String>,
    failed_ids: HashSet<String>,
    requests: Vec<Recorded>,
    schema_violations: Vec<String>,
    user_data_violations: Vec<String>,
    /// At most this many calls per window, on tokio's clock ([`FakePinterest::rate_limit`]).
    limit: Option<(usize, Duration)>,
    /// When the calls the limit let through arrived, oldest first (only those of the current window).
    admitted: VecDeque<tokio::time::Instant>,
}

enum Server {
    Wiremock(MockServer),
    Local {
        address: SocketAddr,
        task: JoinHandle<()>,
    },
}

pub struct FakePinterest {
    server: Server,
    state: Arc<Mutex<State>>,
}

impl FakePinterest {
    fn new_state() -> Arc<Mutex<State>> {
        Arc::new(Mutex::new(State {
            token: TOKEN.to_owned(),
            ..State::default()
        }))
    }

    /// The fake on a wiremock server (its own thread).
    pub async fn start() -> Self {
        let state = Self::new_state();
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path_regex(r"^/v5/ad_accounts/[0-9]+/events$"))
            .respond_with(Responder(state.clone()))
            .mount(&server)
            .await;
        Self {
            server: Server::Wiremock(server),
            state,
        }
    }

    /// The fake served by tasks of the current tokio runtime (works with paused time; supports
    /// [`Reply::Reset`]).
    pub async fn start_local() -> Self {
        let state = Self::new_state();
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, shared.clone()));
            }
        });
        Self {
            server: Server::Local { address, task },
            state,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        match &self.server {
            Server::Wiremock(server) => server.uri(),
            Server::Local { address, .. } => format!("http://{address}"),
        }
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

    /// A request holding an event with this `event_id` is answered 200 with that event `failed` (Pinterest's
    /// verdict on one bad event), the others processed (before the script is consulted).
    pub fn fail_event_id(&self, event_id: &str) {
        self.lock().failed_ids.insert(event_id.to_owned());
    }

    /// Pinterest's rate limit: authorised, schema-valid calls beyond `calls` in any `window` (on tokio's clock,
    /// so paused time applies with [`FakePinterest::start_local`]) are answered 429 with a `Retry-After` of the
    /// whole seconds until the oldest call of the window leaves it; calls answered 429 do not count.
    pub fn rate_limit(&self, calls: usize, window: Duration) {
        self.lock().limit = Some((calls.max(1), window));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    /// Request bodies that failed the request schema, and answers of the fake that failed the response schema.
    pub fn schema_violations(&self) -> Vec<String> {
        self.lock().schema_violations.clone()
    }

    /// `user_data` values that break the hashing rules in a request: a hashed field that is not an array of 64 lower-case
    /// hex digests, or a field other than the three sent raw (`client_ip_address`, `client_user_agent`,
    /// `click_id`; the function never sends Pinterest's `partner_id`) and the hashed ones.
    pub fn user_data_violations(&self) -> Vec<String> {
        self.lock().user_data_violations.clone()
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

impl Drop for FakePinterest {
    fn drop(&mut self) {
        if let Server::Local { task, .. } = &self.server {
            task.abort();
        }
    }
}

/// Keeps a paused clock moving in steps of at most `step` while the runtime waits on sockets.
///
/// With paused time, tokio advances the clock to the next timer whenever the runtime has nothing to run, and
/// it does so even while a request is on its way through a socket (the I/O readiness is only noticed after the
/// jump): a 10 s request time-out would fire while the local fake is answering. A task that sleeps `step` in a
/// loop makes `step` the next timer, so such a jump is at most `step`; waits (back-off, `Retry-After`, stalls)
/// still pass in virtual time, at the cost of one runtime turn per `step`. Each turn also yields the thread,
/// so that a kernel thread delivering loopback packets on a busy machine gets the CPU before the clock runs on.
/// Abort the handle when done.
pub fn tick(step: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(step).await;
            std::thread::yield_now();
        }
    })
}

/// What the fake answers one request with.
struct Answer {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    retry_after: Option<String>,
    location: Option<String>,
    stall: Duration,
    reset: bool,
}

/// The parts of a request the fake looks at.
struct Incoming<'a> {
    path: &'a str,
    query: Option<&'a str>,
    authorization: Option<&'a str>,
    content_type: Option<&'a str>,
    body: &'a [u8],
}

/// Records the request and decides the answer: the logic both front ends share.
fn decide(state: &Mutex<State>, request: &Incoming<'_>) -> Answer {
    let at = Instant::now();
    let clock_at = tokio::time::Instant::now();
    let body: Value = serde_json::from_slice(request.body).unwrap_or(Value::Null);
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
    let user_data_errors = user_data_errors(&body);
    let content_type_ok = request.content_type == Some("application/json");
    let mut state = state.lock().expect("fake state poisoned");
    state.user_data_violations.extend(user_data_errors);
    let authorized = request.authorization == Some(format!("Bearer {}", state.token).as_str());
    let mut rate_limited = false;
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
    } else if let Some(wait) = state.over_limit(clock_at) {
        rate_limited = true;
        Reply::RetryAfter(429, wait.as_secs_f64().ceil().to_string())
    } else if event_ids.iter().any(|id| state.rejected_ids.contains(id)) {
        Reply::Status(400)
    } else if event_ids.iter().any(|id| state.failed_ids.contains(id)) {
        let positions = event_ids
            .iter()
            .enumerate()
            .filter(|(_, id)| state.failed_ids.contains(*id))
            .map(|(position, _)| position)
            .collect();
        Reply::FailEvents(positions)
    } else {
        match state.script.pop_front() {
            Some(reply) => reply,
            None => state.default.clone().unwrap_or(Reply::Ok),
        }
    };
    let answer = answer(&reply, events, &mut state.schema_violations);
    let processed = processed(&answer, events);
    let segments: Vec<&str> = request.path.split('/').collect();
    state.requests.push(Recorded {
        at,
        clock_at,
        ad_account_id: segments.get(3).copied().unwrap_or_default().to_owned(),
        test_mode: request
            .query
            .is_some_and(|q| q.split('&').any(|pair| pair == "test=true")),
        authorized,
        body,
        event_ids,
        status: if answer.reset { 0 } else { answer.status },
        stall: answer.stall,
        rate_limited,
        reply,
        processed,
    });
    answer
}

impl State {
    /// With a rate limit: `None` if a call arriving `at` is let through (and counts), else the time until the
    /// window has room.
    fn over_limit(&mut self, at: tokio::time::Instant) -> Option<Duration> {
        let (calls, window) = self.limit?;
        while self.admitted.front().is_some_and(|&t| t + window <= at) {
            self.admitted.pop_front();
        }
        if self.admitted.len() < calls {
            self.admitted.push_back(at);
            return None;
        }
        self.admitted.front().map(|&oldest| oldest + window - at)
    }
}

/// Per event: does the answer tell the client that Pinterest processed it?
fn processed(answer: &Answer, events: usize) -> Vec<bool> {
    let results = match (answer.reset, answer.status) {
        (false, 200) => serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|b| b["events"].as_array().cloned()),
        (false, 422) => serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|b| b["details"]["events"].as_array().cloned()),
        _ => None,
    };
    match results {
        Some(results) if results.len() == events => {
            results.iter().map(|r| r["status"] == "processed").collect()
        }
        _ => vec![false; events],
    }
}

/// The fields of `user_data` sent as they are (the hashed ones: [`super::leaks::HASHED_FIELDS`]).
const RAW_FIELDS: [&str; 3] = ["client_ip_address", "client_user_agent", "click_id"];

fn is_digest(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

fn user_data_errors(body: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    for (index, event) in body["data"].as_array().into_iter().flatten().enumerate() {
        let Some(user_data) = event["user_data"].as_object() else {
            continue;
        };
        for (field, value) in user_data {
            let ok = if super::leaks::HASHED_FIELDS.contains(&field.as_str()) {
                value
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(is_digest))
            } else {
                RAW_FIELDS.contains(&field.as_str()) && value.is_string()
            };
            if !ok {
                errors.push(format!("data[{index}].user_data.{field}"));
            }
        }
    }
    errors
}

struct Responder(Arc<Mutex<State>>);

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let answer = decide(
            &self.0,
            &Incoming {
                path: request.url.path(),
                query: request.url.query(),
                authorization: header("authorization"),
                content_type: header("content-type"),
                body: &request.body,
            },
        );
        if answer.reset {
            return ResponseTemplate::new(502);
        }
        let mut template = ResponseTemplate::new(answer.status)
            .set_body_raw(answer.body, answer.content_type)
            .set_delay(answer.stall);
        if let Some(value) = answer.retry_after {
            template = template.insert_header("retry-after", value.as_str());
        }
        if let Some(value) = answer.location {
            template = template.insert_header("location", value.as_str());
        }
        template
    }
}

/// Serves HTTP/1.1 requests on one connection (keep-alive, `Content-Length` bodies) until it closes.
async fn serve_connection(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read_buf(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let verb = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buffer.len() < head_end + length {
            match stream.read_buf(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body: Vec<u8> = buffer.drain(..head_end + length).skip(head_end).collect();
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target.as_str(), None),
        };
        let routed = verb == "POST"
            && path.starts_with("/v5/ad_accounts/")
            && path.ends_with("/events")
            && path.split('/').count() == 5;
        let answer = if routed {
            decide(
                &state,
                &Incoming {
                    path,
                    query,
                    authorization: header("authorization"),
                    content_type: header("content-type"),
                    body: &body,
                },
            )
        } else {
            Answer {
                status: 404,
                content_type: "text/plain",
                body: b"no route".to_vec(),
                retry_after: None,
                location: None,
                stall: Duration::ZERO,
                reset: false,
            }
        };
        if answer.reset {
            let _ = stream.set_zero_linger();
            return;
        }
        if !answer.stall.is_zero() {
            tokio::time::sleep(answer.stall).await;
        }
        let mut response = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {}\r\n",
            answer.status,
            reason_phrase(answer.status),
            answer.content_type,
            answer.body.len()
        );
        if let Some(value) = &answer.retry_after {
            response.push_str(&format!("retry-after: {value}\r\n"));
        }
        if let Some(value) = &answer.location {
            response.push_str(&format!("location: {value}\r\n"));
        }
        response.push_str("\r\n");
        let mut bytes = response.into_bytes();
        bytes.extend_from_slice(&answer.body);
        if stream.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// The answer to one reply for a request of `events` events; answers are checked against the response schema.
fn answer(reply: &Reply, events: usize, violations: &mut Vec<String>) -> Answer {
    let raw = |status: u16, content_type: &'static str, body: &str| Answer {
        status,
        content_type,
        body: body.as_bytes().to_vec(),
        retry_after: None,
        location: None,
        stall: Duration::ZERO,
        reset: false,
    };
    let (status, body, stall) = match reply {
        Reply::Ok => (200, per_event(events, &[], &[]), Duration::ZERO),
        Reply::FailEvents(failed) => (200, per_event(events, failed, &[]), Duration::ZERO),
        Reply::Warn(warned) => (200, per_event(events, &[], warned), Duration::ZERO),
        Reply::FailAndWarn(failed, warned) => {
            (200, per_event(events, failed, warned), Duration::ZERO)
        }
        Reply::FailWith(failed, message) => {
            let mut body = per_event(events, failed, &[]);
            for &i in failed.iter().filter(|&&i| i < events) {
                body["events"][i]["error_message"] = json!(message);
            }
            if let Some(&last) = failed.iter().filter(|&&i| i < events).max() {
                body["events"][last]["warning_message"] = json!(message);
            }
            (200, body, Duration::ZERO)
        }
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
        Reply::ErrorMessage(status, message) => (
            *status,
            json!({"code": 1, "message": message}),
            Duration::ZERO,
        ),
        Reply::Raw(status, body) => return raw(*status, "text/html", body),
        Reply::NotJson => return raw(200, "text/html", "<html>upstream hiccup</html>"),
        Reply::WrongLength => (
            200,
            per_event(events.saturating_sub(1), &[], &[]),
            Duration::ZERO,
        ),
        Reply::Reset => {
            let mut answer = raw(0, "text/plain", "");
            answer.reset = true;
            return answer;
        }
        Reply::Redirect(status, location) => {
            let mut answer = raw(*status, "text/plain", "moved");
            answer.location = Some(location.clone());
            return answer;
        }
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
    Answer {
        status,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
        retry_after: match reply {
            Reply::RetryAfter(_, value) => Some(value.clone()),
            _ => None,
        },
        location: None,
        stall,
        reset: false,
    }
}

/// Pinterest's schemas, compiled once (the product's fake Pinterest builds them in).
fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| Schemas::load().expect("Pinterest's schemas compile"))
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
