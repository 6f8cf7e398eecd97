//! A fake Pinterest events endpoint for benchmarks: answers every request `200` with one `processed` result per
//! event, after a fixed latency, and records when each request arrived and was answered, and how many were in
//! flight. Optionally it enforces a rate limit per ad account, as Pinterest does: beyond so many calls in a
//! sliding window, `429` at once with a `Retry-After` of the seconds until the window has room. It runs on its
//! own thread and runtime, so it does not compete with the function's runtime for scheduling (it does compete
//! for the machine's cores, like a real network would not).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;

use super::http::Connection;

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub events: usize,
    pub bytes: usize,
    /// From the arrival of the request line to the answer (its write, microseconds for a small answer, excluded).
    pub duration: Duration,
    pub arrived: Instant,
    /// 200, or 429 from the rate limit.
    pub status: u16,
}

#[derive(Default)]
struct Shared {
    seen: Mutex<Vec<Seen>>,
    /// At most this many calls per window, per ad account.
    limit: Option<(usize, Duration)>,
    /// Per ad account (the request path), the arrival of the calls admitted in the current window.
    admitted: Mutex<HashMap<String, VecDeque<Instant>>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

pub struct FakePinterest {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl FakePinterest {
    /// Starts the fake on 127.0.0.1; every answer waits `latency` after the request was read.
    pub fn start(latency: Duration) -> Self {
        Self::start_limited(latency, None)
    }

    /// Starts the fake with a rate limit of `calls` per `window` per ad account (none with `None`); calls
    /// answered 429 do not count against it.
    pub fn start_limited(latency: Duration, limit: Option<(usize, Duration)>) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fake");
        listener.set_nonblocking(true).expect("non-blocking");
        let base_url = format!("http://{}/v5", listener.local_addr().expect("fake address"));
        let shared = Arc::new(Shared {
            limit,
            ..Shared::default()
        });
        let state = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("fake runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(listener).expect("tokio listener");
                while let Ok((stream, _)) = listener.accept().await {
                    let state = state.clone();
                    tokio::spawn(async move {
                        let mut connection = Connection::new(stream);
                        while let Ok(Some(request)) = connection.next().await {
                            let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                            state.max_in_flight.fetch_max(now, Ordering::SeqCst);
                            let events = count_events(&request.body);
                            let limited = state.over_limit(&request.path, request.at);
                            let status = if limited.is_some() { 429 } else { 200 };
                            if limited.is_none() {
                                tokio::time::sleep_until((request.at + latency).into()).await;
                            }
                            // Recorded before the answer leaves: once the client has it, the bench may read the
                            // records at once (recording after the write raced with that read).
                            if let Ok(mut seen) = state.seen.lock() {
                                seen.push(Seen {
                                    events,
                                    bytes: request.body.len(),
                                    duration: request.at.elapsed(),
                                    arrived: request.at,
                                    status,
                                });
                            }
                            state.in_flight.fetch_sub(1, Ordering::SeqCst);
                            let written = match limited {
                                Some(wait) => {
                                    let retry_after = wait.as_secs_f64().ceil().to_string();
                                    connection
                                        .respond(
                                            429,
                                            &[
                                                ("content-type", "application/json"),
                                                ("retry-after", &retry_after),
                                            ],
                                            br#"{"code":8,"message":"Too many requests"}"#,
                                        )
                                        .await
                                }
                                None => {
                                    let answer = answer(events);
                                    connection
                                        .respond(
                                            200,
                                            &[("content-type", "application/json")],
                                            answer.as_bytes(),
                                        )
                                        .await
                                }
                            };
                            if written.is_err() {
                                break;
                            }
                        }
                    });
                }
            });
        });
        Self { base_url, shared }
    }

    /// The requests seen since the last call, and the most that were in flight at once; resets both.
    pub fn take(&self) -> (Vec<Seen>, usize) {
        let seen = self
            .shared
            .seen
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        let max = self.shared.max_in_flight.swap(0, Ordering::SeqCst);
        (seen, max)
    }
}

impl Shared {
    /// With a rate limit: `None` if a call to `path` arriving `at` is let through (and counts), else the time
    /// until its window has room.
    fn over_limit(&self, path: &str, at: Instant) -> Option<Duration> {
        let (calls, window) = self.limit?;
        let mut admitted = self.admitted.lock().ok()?;
        let calls_in_window = admitted.entry(path.to_owned()).or_default();
        while calls_in_window.front().is_some_and(|&t| t + window <= at) {
            calls_in_window.pop_front();
        }
        if calls_in_window.len() < calls {
            calls_in_window.push_back(at);
            return None;
        }
        calls_in_window.front().map(|&oldest| oldest + window - at)
    }
}

/// Events in a `{"data":[...]}` body: each event has exactly one `"event_name":` key (inside a JSON string the
/// quotes would be escaped, so it cannot match there). Searched with memchr's SIMD substring search: comparing
/// every 13-byte window took the fake milliseconds per 2 MB body, on the cores the function is measured on.
pub fn count_events(body: &[u8]) -> usize {
    memchr::memmem::find_iter(body, b"\"event_name\":").count()
}

/// A `ConversionApiResponse` with every event processed.
fn answer(events: usize) -> String {
    const ONE: &str = r#"{"status":"processed","error_message":null,"warning_message":null}"#;
    let mut body =
        format!(r#"{{"num_events_received":{events},"num_events_processed":{events},"events":["#);
    body.reserve(events * (ONE.len() + 1) + 2);
    for i in 0..events {
        if i > 0 {
            body.push(',');
        }
        body.push_str(ONE);
    }
    body.push_str("]}");
    body
}
