//! Delivery: pre-serialised events in requests of up to 1000, a bounded number in flight, back-off within the
//! Lambda deadline, splitting of refused requests, and one outcome per event.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::{FutureExt as _, StreamExt as _, stream};
use tokio::time::Instant;

use crate::budget::CallBudget;
use crate::fate::Fate;
use crate::pinterest::client::EventsEndpoint;
use crate::pinterest::response::{Decision, EventStatus, PinterestEventResult, truncate};
use crate::redact::{clear_values, redact};
use crate::token::{AccessToken, TokenSource};

/// Pinterest accepts at most this many events in one request.
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;

/// Largest request body we build. Pinterest documents no byte limit, only [`MAX_EVENTS_PER_REQUEST`]; this guard
/// lets 1000 events of up to 4 KB each (twice a realistic mapped purchase) share a request, and a 413 from
/// Pinterest splits a request like any other refusal of a whole request.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// Length of `{"data":[` plus `]}`.
const BODY_OVERHEAD: usize = 11;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// API base URL without a trailing slash.
    pub base_url: String,
    pub ad_account_id: String,
    /// Adds `?test=true` to every request.
    pub test_mode: bool,
    /// Requests in flight at once.
    pub max_concurrency: usize,
    /// Events per request (at most [`MAX_EVENTS_PER_REQUEST`]).
    pub max_events_per_request: usize,
    /// Largest request body, in bytes ([`MAX_REQUEST_BYTES`] in production).
    pub max_body_bytes: usize,
    /// Time allowed to one HTTP attempt, answer included.
    pub request_timeout: Duration,
    /// No attempt starts and no back-off ends later than this long before the Lambda deadline.
    pub deadline_margin: Duration,
    /// Back-off before retry `n` is drawn from `0..min(max_backoff, base_backoff * 2^n)`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// The instance's call budget, shared by every invocation (and every clone of this configuration): each
    /// attempt, retries included, takes a slot first.
    pub budget: Arc<CallBudget>,
}

/// Outcomes in the order of the input events, plus counters for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    pub outcomes: Vec<Fate>,
    /// HTTP attempts made.
    pub requests: u32,
    /// Attempts that re-sent a request already sent (after a transient error or a 401).
    pub retries: u32,
    /// Answers refusing the credentials: 401 after the token was re-read, or 403.
    pub auth_failures: u32,
}

/// Splits `events` into consecutive requests of at most `max_events_per_request` events whose body stays within
/// `max_body_bytes`. An event too big on its own gets a range of its own (and is rejected without being sent).
pub fn plan_requests(events: &[String], cfg: &DeliveryConfig) -> Vec<Range<usize>> {
    let max_events = cfg.max_events_per_request.clamp(1, MAX_EVENTS_PER_REQUEST);
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut bytes = BODY_OVERHEAD;
    for (index, event) in events.iter().enumerate() {
        let added = usize::from(index > start) + event.len();
        if index > start && (index - start == max_events || bytes + added > cfg.max_body_bytes) {
            ranges.push(start..index);
            start = index;
            bytes = BODY_OVERHEAD;
        }
        bytes += usize::from(index > start) + event.len();
    }
    if start < events.len() {
        ranges.push(start..events.len());
    }
    ranges
}

/// The request body `{"data":[e1,e2,...]}`, by concatenation of the serialised events.
pub fn request_body(events: &[String]) -> String {
    let length = BODY_OVERHEAD
        + events.iter().map(String::len).sum::<usize>()
        + events.len().saturating_sub(1);
    let mut body = String::with_capacity(length);
    body.push_str("{\"data\":[");
    for (index, event) in events.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(event);
    }
    body.push_str("]}");
    body
}

/// Sends `events` (each the JSON of one Pinterest event) and reports one outcome per event, in input order.
///
/// Requests go out concurrently, at most `max_concurrency` in flight. A request refused as a whole (400, 403,
/// 404, ...; not 501, which refuses the endpoint itself and is not retried in any form) is split in halves,
/// recursively, so that one bad event can't sink the others; as 403 and 404 are
/// about the token or the ad account rather than an event, splitting stops when both halves get one of them
/// too. A 401 re-reads the token (bypassing the cache) and tries once more. Transient errors are retried with
/// exponential back-off and full jitter, honouring `Retry-After`, until `deadline - deadline_margin`; what is
/// still not delivered then is failed with the last reason. Every attempt first waits for a slot of the call
/// budget (`cfg.budget`); one that cannot get a slot before that time fails like one that ran out of time.
/// Returns by that time (give or take the
/// scheduling of the current steps).
pub async fn deliver<T: TokenSource>(
    http: &reqwest::Client,
    cfg: &DeliveryConfig,
    tokens: &T,
    events: &[String],
    deadline: Instant,
) -> DeliveryReport {
    let run = Run {
        http,
        cfg,
        tokens,
        events,
        endpoint: EventsEndpoint::new(&cfg.base_url, &cfg.ad_account_id, cfg.test_mode),
        stop: deadline
            .checked_sub(cfg.deadline_margin)
            .unwrap_or(deadline),
        requests: AtomicU32::new(0),
        retries: AtomicU32::new(0),
        auth_failures: AtomicU32::new(0),
    };
    // Read the token once up front: when it is unavailable, every request would wait for the same
    // failing read in turn; this way the events fail at once, with one log line.
    if let Err(reason) = run.read_token(None).await {
        tracing::error!(events = events.len(), reason = %reason, "no access token; events failed");
        return DeliveryReport {
            outcomes: vec![Fate::Failed(reason); events.len()],
            ..DeliveryReport::default()
        };
    }
    let mut done: Vec<(usize, Vec<Fate>)> = stream::iter(plan_requests(events, cfg))
        .map(|range| run.send_and_settle(range))
        .buffer_unordered(cfg.max_concurrency.max(1))
        .collect()
        .await;
    done.sort_unstable_by_key(|(start, _)| *start);
    let outcomes: Vec<Fate> = done
        .into_iter()
        .flat_map(|(_, outcomes)| outcomes)
        .collect();
    debug_assert_eq!(outcomes.len(), events.len());
    DeliveryReport {
        outcomes,
        requests: run.requests.into_inner(),
        retries: run.retries.into_inner(),
        auth_failures: run.auth_failures.into_inner(),
    }
}

/// The state of one `deliver` call.
struct Run<'a, T> {
    http: &'a reqwest::Client,
    cfg: &'a DeliveryConfig,
    tokens: &'a T,
    events: &'a [String],
    endpoint: EventsEndpoint,
    /// `deadline - deadline_margin`.
    stop: Instant,
    requests: AtomicU32,
    retries: AtomicU32,
    auth_failures: AtomicU32,
}

/// One request between its attempts.
struct Request {
    /// Its events, as a range of the delivery's events.
    range: Range<usize>,
    /// Attempts made so far.
    attempt: u32,
    /// Back-offs waited so far (a re-read token is retried without one).
    backoffs: u32,
    /// The token Pinterest refused (401), for the next attempt to read a fresh one.
    refused: Option<AccessToken>,
    token_refreshed: bool,
    /// Why the last attempt did not deliver, for when no attempt is left.
    last_reason: String,
    /// The values its events sent in clear, cleared from Pinterest's messages (read only if needed).
    clear: OnceLock<Vec<String>>,
}

impl Request {
    fn new(range: Range<usize>) -> Self {
        Self {
            range,
            attempt: 0,
            backoffs: 0,
            refused: None,
            token_refreshed: false,
            last_reason: String::from("not sent: the Lambda deadline was too near"),
            clear: OnceLock::new(),
        }
    }
}

/// One attempt's answer, with the token it used and whether the deadline cut its time-out short.
struct Answer {
    decision: Decision,
    token: AccessToken,
    clipped: bool,
}

/// How one request ended, once its retries are over.
enum Sent {
    PerEvent(Vec<Fate>),
    /// Refused as a whole; `account_level` for 403 and 404, which no event causes; `split` unless splitting
    /// cannot help (501: the endpoint itself is refused, so halves would only re-send every event).
    Rejected {
        reason: String,
        account_level: bool,
        split: bool,
    },
    Failed(String),
}

impl<T: TokenSource> Run<'_, T> {
    /// The token (a fresh one when `refused` is the one Pinterest refused), or why there is none, before the
    /// stop time.
    async fn read_token(&self, refused: Option<&AccessToken>) -> Result<AccessToken, String> {
        match tokio::time::timeout_at(self.stop, self.tokens.token(refused)).await {
            Ok(Ok(token)) => Ok(token),
            Ok(Err(error)) => Err(format!("access token unavailable: {error}")),
            Err(_) => Err("access token not read before the Lambda deadline".to_owned()),
        }
    }

    /// Sends one planned request and settles it; returns its first index with its outcomes.
    async fn send_and_settle(&self, range: Range<usize>) -> (usize, Vec<Fate>) {
        let sent = self.send(range.clone()).await;
        (range.start, self.settle(range, sent).await)
    }

    /// Turns the end of a request into outcomes, splitting a refused request of several events in halves.
    fn settle(&self, range: Range<usize>, sent: Sent) -> BoxFuture<'_, Vec<Fate>> {
        async move {
            match sent {
                Sent::PerEvent(outcomes) => outcomes,
                Sent::Failed(reason) => vec![Fate::Failed(reason); range.len()],
                Sent::Rejected { reason, split, .. } if range.len() == 1 || !split => {
                    vec![Fate::Rejected(reason); range.len()]
                }
                Sent::Rejected {
                    reason,
                    account_level,
                    ..
                } => {
                    let middle = range.start + range.len() / 2;
                    let (first, second) = (range.start..middle, middle..range.end);
                    tracing::info!(
                        events = range.len(),
                        reason = %reason,
                        "request refused as a whole; splitting it in halves"
                    );
                    let first_sent = self.send(first.clone()).await;
                    let second_sent = self.send(second.clone()).await;
                    if account_level
                        && first_sent.is_account_level()
                        && second_sent.is_account_level()
                    {
                        return vec![Fate::Rejected(reason); range.len()];
                    }
                    let mut outcomes = self.settle(first, first_sent).await;
                    outcomes.extend(self.settle(second, second_sent).await);
                    outcomes
                }
            }
        }
        .boxed()
    }

    /// Sends the events of `range` as one request, retrying transient errors within the deadline: attempt
    /// after attempt ([`Run::attempt`]), each answer settled by [`Run::after`].
    async fn send(&self, range: Range<usize>) -> Sent {
        // Bytes: every attempt shares the one body instead of copying it (up to megabytes per request).
        let body = bytes::Bytes::from(request_body(&self.events[range.clone()]));
        if body.len() > self.cfg.max_body_bytes {
            return Sent::Rejected {
                reason: format!(
                    "the event is {} bytes of JSON, over the request limit of {} bytes",
                    body.len() - BODY_OVERHEAD,
                    self.cfg.max_body_bytes
                ),
                account_level: false,
                split: true,
            };
        }
        let mut request = Request::new(range);
        loop {
            if Instant::now() >= self.stop {
                return Sent::Failed(request.last_reason);
            }
            let answer = match self.attempt(&body, &mut request).await {
                Ok(answer) => answer,
                Err(sent) => return sent,
            };
            if let Some(sent) = self.after(answer, &mut request).await {
                return sent;
            }
        }
    }

    /// One attempt: the token, a slot of the call budget, then one exchange with Pinterest within the time
    /// left. `Err` when no attempt could be made (no token, or no slot before the deadline).
    async fn attempt(&self, body: &bytes::Bytes, request: &mut Request) -> Result<Answer, Sent> {
        let events = request.range.len();
        let token = match self.read_token(request.refused.as_ref()).await {
            Ok(token) => token,
            Err(reason) => {
                tracing::error!(events, attempt = request.attempt, reason = %reason, "no access token; events failed");
                return Err(Sent::Failed(reason));
            }
        };
        request.refused = None;
        if let Err(wait) = self.cfg.budget.acquire(self.stop).await {
            let attempt = request.attempt;
            tracing::warn!(
                events,
                attempt,
                wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                "call budget spent until after the Lambda deadline; events failed"
            );
            return Err(Sent::Failed(if attempt == 0 {
                "not sent: the call budget (PINTEREST_CALLS_PER_MINUTE) had no free slot before the Lambda deadline"
                    .to_owned()
            } else {
                format!(
                    "{} (the call budget had no free slot to retry before the Lambda deadline)",
                    request.last_reason
                )
            }));
        }
        let budget = self.stop.saturating_duration_since(Instant::now());
        let clipped = budget < self.cfg.request_timeout;
        let timeout = self.cfg.request_timeout.min(budget);
        self.requests.fetch_add(1, Ordering::Relaxed);
        if request.attempt > 0 {
            self.retries.fetch_add(1, Ordering::Relaxed);
        }
        request.attempt += 1;
        let decision = self
            .endpoint
            .send(self.http, &token, body.clone(), events, timeout)
            .await;
        Ok(Answer {
            decision,
            token,
            clipped,
        })
    }

    /// What an attempt's answer means for the request: its end, or `None` to try again (after waiting the
    /// back-off, or at once with a re-read token after a first 401).
    async fn after(&self, answer: Answer, request: &mut Request) -> Option<Sent> {
        let events = request.range.len();
        let attempt = request.attempt;
        match answer.decision {
            Decision::PerEvent(results) => Some(Sent::PerEvent(self.outcomes(
                request.range.start,
                results,
                attempt,
            ))),
            Decision::Reject { status, reason } => {
                let reason = self.quote(request, &reason);
                // 403 and 404 refuse the whole ad account or token (someone must act), not these events.
                let account_level = matches!(status, 403 | 404);
                if status == 403 {
                    self.auth_failures.fetch_add(1, Ordering::Relaxed);
                }
                if account_level {
                    tracing::error!(status, events, attempt, reason = %reason, "request refused");
                } else {
                    tracing::warn!(status, events, attempt, reason = %reason, "request refused");
                }
                Some(Sent::Rejected {
                    reason,
                    account_level,
                    split: status != 501,
                })
            }
            Decision::RefreshToken if request.token_refreshed => {
                self.auth_failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(
                    status = 401,
                    events,
                    attempt,
                    "token refused again after a refresh; events failed"
                );
                Some(Sent::Failed(
                    "HTTP 401: Pinterest refused the access token, also after re-reading it"
                        .to_owned(),
                ))
            }
            Decision::RefreshToken => {
                tracing::warn!(
                    status = 401,
                    events,
                    attempt,
                    "token refused; re-reading it and retrying once"
                );
                request.refused = Some(answer.token);
                request.token_refreshed = true;
                request.last_reason = "HTTP 401: Pinterest refused the access token".to_owned();
                None
            }
            Decision::Retry {
                reason,
                retry_after,
            } => {
                let reason = self.quote(request, &reason);
                let wait = self
                    .backoff(request.backoffs)
                    .max(retry_after.unwrap_or_default());
                request.backoffs += 1;
                // Compared as durations: `now + wait` panics on an absurd `Retry-After` (u64::MAX s).
                if wait >= self.stop.saturating_duration_since(Instant::now()) {
                    tracing::warn!(
                        events,
                        attempt,
                        reason = %reason,
                        "transient error, no time left to retry; events failed"
                    );
                    // An attempt cut short by the deadline tells little: report what led to it.
                    let cause = if answer.clipped && attempt > 1 {
                        std::mem::take(&mut request.last_reason)
                    } else {
                        reason
                    };
                    return Some(Sent::Failed(format!(
                        "{cause} (no time left to retry before the Lambda deadline)"
                    )));
                }
                tracing::warn!(
                    events,
                    attempt,
                    reason = %reason,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "transient error; retrying"
                );
                tokio::time::sleep(wait).await;
                request.last_reason = reason;
                None
            }
        }
    }

    /// Pinterest's text about `request`, cleared of what its events sent in clear, and cut.
    fn quote(&self, request: &Request, reason: &str) -> String {
        let clear = request
            .clear
            .get_or_init(|| clear_values(&self.events[request.range.clone()]));
        truncate(&redact(reason, clear))
    }

    /// Full jitter: a random wait in `0..min(max_backoff, base_backoff * 2^n)`.
    fn backoff(&self, n: u32) -> Duration {
        let ceiling = self
            .cfg
            .base_backoff
            .saturating_mul(2u32.saturating_pow(n))
            .min(self.cfg.max_backoff);
        ceiling.mul_f64(fastrand::f64())
    }

    /// Pinterest's per-event verdicts as outcomes; warnings are logged once per distinct text with the number
    /// of events and the first event's index (never the event).
    fn outcomes(
        &self,
        first_index: usize,
        results: Vec<PinterestEventResult>,
        attempt: u32,
    ) -> Vec<Fate> {
        let failed = results
            .iter()
            .filter(|r| r.status == EventStatus::Failed)
            .count();
        tracing::info!(
            events = results.len(),
            failed,
            attempt,
            "request answered per event"
        );
        let mut warnings: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        let outcomes = results
            .into_iter()
            .enumerate()
            .map(|(offset, result)| {
                // Read from the event only for a text about it: most results carry none.
                let index = first_index + offset;
                let about_event = |text: &str| {
                    redact(
                        text,
                        &clear_values(self.events.get(index..=index).unwrap_or_default()),
                    )
                };
                if let Some(warning) = result.warning_message.filter(|w| !w.is_empty()) {
                    warnings
                        .entry(about_event(&warning))
                        .or_insert((first_index + offset, 0))
                        .1 += 1;
                }
                match result.status {
                    EventStatus::Processed => Fate::Delivered,
                    EventStatus::Failed => Fate::Rejected(match result.error_message {
                        Some(message) if !message.is_empty() => truncate(&about_event(&message)),
                        _ => "Pinterest reported the event as failed, without a message".to_owned(),
                    }),
                }
            })
            .collect();
        for (warning, (first_event_index, events)) in warnings {
            tracing::info!(
                first_event_index,
                events,
                warning = %truncate(&warning),
                "Pinterest warning"
            );
        }
        outcomes
    }
}

impl Sent {
    fn is_account_level(&self) -> bool {
        matches!(
            self,
            Self::Rejected {
                account_level: true,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max_events: usize, max_bytes: usize) -> DeliveryConfig {
        DeliveryConfig {
            base_url: "http://127.0.0.1:9/v5".into(),
            ad_account_id: "1".into(),
            test_mode: false,
            max_concurrency: 4,
            max_events_per_request: max_events,
            max_body_bytes: max_bytes,
            request_timeout: Duration::from_secs(1),
            deadline_margin: Duration::from_millis(100),
            base_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(10),
            budget: Arc::new(CallBudget::per_minute(5000)),
        }
    }

    fn events(sizes: &[usize]) -> Vec<String> {
        sizes
            .iter()
            .map(|&n| format!("\"{}\"", "x".repeat(n - 2)))
            .collect()
    }

    #[test]
    fn body_is_the_events_in_a_data_array() {
        assert_eq!(request_body(&events(&[3, 4])), r#"{"data":["x","xx"]}"#);
        assert_eq!(request_body(&[]), r#"{"data":[]}"#);
    }

    #[test]
    fn plan_by_count() {
        let plan = plan_requests(&events(&[3; 2500]), &cfg(1000, 1 << 20));
        assert_eq!(plan, vec![0..1000, 1000..2000, 2000..2500]);
        assert!(plan_requests(&[], &cfg(1000, 1 << 20)).is_empty());
        assert_eq!(
            plan_requests(&events(&[3; 3]), &cfg(0, 1 << 20)),
            vec![0..1, 1..2, 2..3]
        );
    }

    #[test]
    fn plan_by_size_is_exact() {
        // Two events of 10 bytes: 11 + 10 + 1 + 10 = 32 bytes.
        let two = events(&[10, 10]);
        assert_eq!(plan_requests(&two, &cfg(1000, 32)), vec![0..2]);
        assert_eq!(request_body(&two).len(), 32);
        assert_eq!(plan_requests(&two, &cfg(1000, 31)), vec![0..1, 1..2]);
    }

    #[test]
    fn oversized_event_stands_alone() {
        let plan = plan_requests(&events(&[10, 10, 50, 10]), &cfg(1000, 40));
        assert_eq!(plan, vec![0..2, 2..3, 3..4]);
        for range in plan {
            let body = request_body(&events(&[10, 10, 50, 10])[range.clone()]);
            assert!(body.len() <= 40 || range.len() == 1);
        }
    }

    #[test]
    fn every_event_is_planned_once_in_order() {
        let sizes: Vec<usize> = (0..500).map(|i| 2 + (i * 37) % 90).collect();
        for max_bytes in [20, 100, 1000, 5000] {
            let plan = plan_requests(&events(&sizes), &cfg(7, max_bytes));
            let flat: Vec<usize> = plan.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(flat, (0..500).collect::<Vec<_>>());
            assert!(plan.iter().all(|r| !r.is_empty() && r.len() <= 7));
        }
    }
}
