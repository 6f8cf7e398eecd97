//! The pipeline every trigger shares: decoded events → mapping → delivery → one result per event.

pub mod http;
pub mod sqs;
mod state;

pub use state::{Sender, State};

use crate::delivery;
use crate::event::Value;
use crate::fate::Fate;
use crate::mapping::Outcome;
use crate::summary::Requests;
use std::borrow::Cow;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::time::Instant;

/// Longest event id quoted whole in a log line or an API result: ids are the client's, of any length (the
/// Pinterest schema sets none), a log line is billed by size and an answer must fit Lambda's 6 MB.
const MAX_QUOTED_ID_CHARS: usize = 128;

/// An event id as log lines and API results quote it: its first [`MAX_QUOTED_ID_CHARS`] characters and `…`
/// when longer.
fn short_id(id: &str) -> Cow<'_, str> {
    crate::text::cut(id, MAX_QUOTED_ID_CHARS)
}

/// A log line about one event, with the fields that name it, built here only: `event_id` (cut by [`short_id`];
/// `-` when it has none) and, for an event of an SQS record, the record's `message_id`.
macro_rules! event_log {
    ($level:ident, $event_id:expr, $message_id:expr, $($message:tt)+) => {
        tracing::$level!(
            event_id = short_id($event_id.unwrap_or("-")).as_ref(),
            message_id = $message_id,
            $($message)+
        )
    };
}

/// Each distinct warning once, in first-seen order, with how many times it came: an event with thousands of
/// items unreadable the same way logs one line, not one per item (CloudWatch bills every line).
fn distinct(warnings: &[String]) -> Vec<(&str, usize)> {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for warning in warnings {
        match seen
            .iter_mut()
            .find(|(known, _)| *known == warning.as_str())
        {
            Some((_, times)) => *times += 1,
            None => seen.push((warning, 1)),
        }
    }
    seen
}

/// The result of one event, in input order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventResult {
    pub fate: Fate,
    pub event_id: Option<String>,
}

impl EventResult {
    /// Whether the event is still to be delivered (failed transiently, or not sent yet).
    pub fn failed(&self) -> bool {
        matches!(self.fate, Fate::Failed(_))
    }

    /// Whether the event was rejected (at mapping or by Pinterest).
    pub fn rejected(&self) -> bool {
        matches!(self.fate, Fate::Rejected(_))
    }
}

/// The events of a batch, delivered: one result per event, and the requests it took.
pub struct Delivered {
    pub results: Vec<EventResult>,
    pub requests: Requests,
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Frees `value` on one of the runtime's blocking threads, off the path of the response (freeing the events of a
/// large batch takes milliseconds); in place when there is no runtime.
pub fn release<T: Send + 'static>(value: T) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => drop(runtime.spawn_blocking(move || drop(value))),
        Err(_) => drop(value),
    }
}

/// Maps and delivers `events`: one result per event, in order, and the requests it took.
pub async fn process(
    state: &State,
    events: &[Value<'_>],
    now: i64,
    deadline: Instant,
) -> Delivered {
    let mut batch = Batch::default();
    for event in events {
        batch.map(state, event, now, None);
    }
    batch.deliver(state, deadline).await
}

/// Events mapped so far and waiting for delivery: one result per event, in input order, and the serialised
/// events to send with the index of their result. Mapping event by event lets a trigger drop each decoded
/// event as soon as it is mapped, so a batch never holds all its decoded events at once.
#[derive(Default)]
pub struct Batch {
    results: Vec<EventResult>,
    /// The SQS message id of each event's record, for its log lines.
    message_ids: Vec<Option<String>>,
    to_send: Vec<String>,
    sent_index: Vec<usize>,
}

impl Batch {
    /// Maps one event (of the SQS record `message_id`, if any) and records its result; a mapped event is kept,
    /// serialised, for delivery.
    pub fn map(&mut self, state: &State, event: &Value<'_>, now: i64, message_id: Option<&str>) {
        let index = self.results.len();
        let mapping = state.settings.mapper.map(event, now);
        let id = mapping.event_id.as_deref();
        for (warning, times) in distinct(&mapping.warnings) {
            if times == 1 {
                event_log!(warn, id, message_id, "{warning}");
            } else {
                event_log!(warn, id, message_id, "{warning} ({times} times)");
            }
        }
        let fate = match mapping.outcome {
            Outcome::Mapped(mapped) => {
                self.to_send.push(mapped.to_json());
                self.sent_index.push(index);
                // Until delivery reports on it, an event counts as not delivered: nothing is lost by default.
                Fate::Failed(NOT_REPORTED.to_owned())
            }
            Outcome::NotSent(fate) => {
                match &fate {
                    Fate::Skipped(reason) => {
                        event_log!(info, id, message_id, "event skipped: {reason}")
                    }
                    Fate::Filtered(reason) => {
                        event_log!(
                            info,
                            id,
                            message_id,
                            "event filtered by the consent gate: {reason}"
                        )
                    }
                    Fate::Rejected(reason) => {
                        event_log!(warn, id, message_id, "event rejected: {reason}")
                    }
                    Fate::Delivered | Fate::WouldSend | Fate::Failed(_) => {}
                }
                fate
            }
        };
        self.results.push(EventResult {
            fate,
            event_id: mapping.event_id,
        });
        self.message_ids.push(message_id.map(str::to_owned));
    }

    /// The results so far, in input order; an event waiting for delivery counts as failed.
    pub fn results(&self) -> &[EventResult] {
        &self.results
    }

    /// Appends the events mapped in `other` after these.
    pub fn append(&mut self, other: Batch) {
        let offset = self.results.len();
        self.results.extend(other.results);
        self.message_ids.extend(other.message_ids);
        self.to_send.extend(other.to_send);
        self.sent_index
            .extend(other.sent_index.into_iter().map(|index| index + offset));
    }

    /// Delivers the mapped events: one result per event, in order, and the requests it took.
    pub async fn deliver(self, state: &State, deadline: Instant) -> Delivered {
        let Self {
            mut results,
            message_ids,
            to_send,
            sent_index,
        } = self;
        let mut requests = Requests::default();
        if to_send.is_empty() {
            return Delivered { results, requests };
        }
        let fates = match &state.sender {
            Sender::Pinterest(tokens) => {
                // Boxed: the delivery future is deep, and the runtime's handler future nests it further.
                let delivering =
                    delivery::deliver(&state.http, &state.delivery, tokens, &to_send, deadline);
                let report = Box::pin(delivering).await;
                requests = Requests {
                    sent: u64::from(report.requests),
                    retries: u64::from(report.retries),
                    auth_failures: u64::from(report.auth_failures),
                };
                report.outcomes
            }
            Sender::DryRun(bodies) => {
                let plan = delivery::plan_requests(&to_send, &state.delivery);
                requests.sent = plan.len() as u64;
                if let Ok(mut bodies) = bodies.lock() {
                    bodies.extend(
                        plan.into_iter()
                            .map(|range| delivery::request_body(&to_send[range])),
                    );
                }
                vec![Fate::WouldSend; to_send.len()]
            }
        };
        release(to_send);
        for (index, fate) in sent_index.into_iter().zip(fates) {
            let result = &mut results[index];
            let id = result.event_id.as_deref();
            let message_id = message_ids.get(index).and_then(Option::as_deref);
            match &fate {
                Fate::Rejected(reason) => event_log!(
                    warn,
                    id,
                    message_id,
                    "event rejected by Pinterest: {reason}"
                ),
                Fate::Failed(reason) => {
                    event_log!(
                        warn,
                        id,
                        message_id,
                        "event not delivered (will be retried): {reason}"
                    )
                }
                _ => {}
            }
            result.fate = fate;
        }
        Delivered { results, requests }
    }
}

/// The reason of an event that delivery did not report on (it stays failed, so nothing is lost).
const NOT_REPORTED: &str = "delivery did not report on this event";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_event_ids_are_cut_where_quoted() {
        assert_eq!(short_id("ev-1"), "ev-1");
        let exact = "é".repeat(MAX_QUOTED_ID_CHARS);
        assert_eq!(short_id(&exact), exact.as_str());
        let long = format!("{exact}tail");
        assert_eq!(short_id(&long), format!("{exact}…"));
    }
}
