//! A minimal Lambda Runtime API on 127.0.0.1, enough to run the release binary as Lambda runs it: it serves
//! `GET /2018-06-01/runtime/invocation/next` (with the `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`,
//! `-Invoked-Function-Arn` and `-Trace-Id` headers) from a queue of events, and accepts `.../{id}/response`,
//! `.../{id}/error` and `/init/error`. It reports what it sees, with the time it saw it, on a channel.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc as tokio_mpsc};

use super::http::Connection;

/// What the runtime did, with when.
#[derive(Debug)]
pub enum Seen {
    /// A `GET .../next` arrived (the function is ready for an event).
    Next(Instant),
    /// An event was handed out (the answer to a `next` was written).
    HandedOut(String, Instant),
    Response(String, Instant, Vec<u8>),
    Error(String, Instant, Vec<u8>),
    InitError(Instant, Vec<u8>),
}

pub struct RuntimeApi {
    /// `127.0.0.1:<port>`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    events: tokio_mpsc::UnboundedSender<(String, Vec<u8>)>,
    seen: mpsc::Receiver<Seen>,
}

impl RuntimeApi {
    /// A Runtime API whose invocations have five minutes each.
    pub fn start() -> Self {
        Self::with_timeout(Duration::from_secs(300))
    }

    /// A Runtime API whose invocations each get `timeout` (the function timeout) from the moment they are
    /// handed out.
    pub fn with_timeout(timeout: Duration) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the runtime API");
        listener.set_nonblocking(true).expect("non-blocking");
        let address = listener.local_addr().expect("address").to_string();
        let (events, queue) = tokio_mpsc::unbounded_channel::<(String, Vec<u8>)>();
        let (report, seen) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime API runtime");
            let queue = Arc::new(Mutex::new(queue));
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(
                        Connection::new(stream),
                        queue.clone(),
                        report.clone(),
                        timeout,
                    ));
                }
            });
        });
        Self {
            address,
            events,
            seen,
        }
    }

    /// Queues an event for the next `GET .../next`.
    pub fn invoke(&self, request_id: &str, event: Vec<u8>) {
        let _ = self.events.send((request_id.to_owned(), event));
    }

    /// The next thing seen, waiting at most `timeout`.
    pub fn wait(&self, timeout: Duration) -> Option<Seen> {
        self.seen.recv_timeout(timeout).ok()
    }

    /// Waits for the function to ask for an event; `None` on time-out or an init error.
    pub fn wait_next(&self, timeout: Duration) -> Option<Instant> {
        let until = Instant::now() + timeout;
        loop {
            match self.wait(until.saturating_duration_since(Instant::now()))? {
                Seen::Next(at) => return Some(at),
                Seen::InitError(_, body) => {
                    eprintln!("init error: {}", String::from_utf8_lossy(&body));
                    return None;
                }
                _ => {}
            }
        }
    }

    /// Waits for the answer to `request_id`: when the event was handed out, when the answer came, and whether
    /// it was a response (not an error).
    pub fn wait_answer(
        &self,
        request_id: &str,
        timeout: Duration,
    ) -> Option<(Instant, Instant, bool, Vec<u8>)> {
        let until = Instant::now() + timeout;
        let mut handed_out = None;
        loop {
            match self.wait(until.saturating_duration_since(Instant::now()))? {
                Seen::HandedOut(id, at) if id == request_id => handed_out = Some(at),
                Seen::Response(id, at, body) if id == request_id => {
                    return Some((handed_out?, at, true, body));
                }
                Seen::Error(id, at, body) if id == request_id => {
                    return Some((handed_out?, at, false, body));
                }
                _ => {}
            }
        }
    }
}

const PREFIX: &str = "/2018-06-01/runtime/";

/// Queued events (request id, body), shared by the connections.
type Queue = Arc<Mutex<tokio_mpsc::UnboundedReceiver<(String, Vec<u8>)>>>;

async fn serve(
    mut connection: Connection,
    queue: Queue,
    report: mpsc::Sender<Seen>,
    timeout: Duration,
) {
    while let Ok(Some(request)) = connection.next().await {
        let path = request.path.strip_prefix(PREFIX).unwrap_or_default();
        let written = if request.method == "GET" && path == "invocation/next" {
            let _ = report.send(Seen::Next(request.at));
            let next = queue.lock().await.recv().await;
            let Some((id, event)) = next else { return };
            let deadline_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64)
                + timeout.as_millis() as u64;
            let deadline = deadline_ms.to_string();
            let written = connection
                .respond(
                    200,
                    &[
                        ("content-type", "application/json"),
                        ("lambda-runtime-aws-request-id", &id),
                        ("lambda-runtime-deadline-ms", &deadline),
                        (
                            "lambda-runtime-invoked-function-arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:pinterest-destination",
                        ),
                        (
                            "lambda-runtime-trace-id",
                            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0",
                        ),
                    ],
                    &event,
                )
                .await;
            let _ = report.send(Seen::HandedOut(id, Instant::now()));
            written
        } else if request.method == "POST" && path.starts_with("invocation/") {
            let mut parts = path.trim_start_matches("invocation/").splitn(2, '/');
            let id = parts.next().unwrap_or_default().to_owned();
            let seen = match parts.next() {
                Some("response") => Seen::Response(id, request.at, request.body),
                _ => Seen::Error(id, request.at, request.body),
            };
            let _ = report.send(seen);
            connection.respond(202, &[], br#"{"status":"OK"}"#).await
        } else if request.method == "POST" && path == "init/error" {
            let _ = report.send(Seen::InitError(request.at, request.body));
            connection.respond(202, &[], br#"{"status":"OK"}"#).await
        } else {
            connection.respond(404, &[], b"{}").await
        };
        if written.is_err() {
            return;
        }
    }
}
