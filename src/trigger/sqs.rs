//! SQS trigger: each record's body is decoded on its own; rejected events go to the rejected-events queue when
//! there is one; failed records are reported by message id.

use super::{Batch, EventResult, State};
use crate::event::{self, Value};
use crate::fate::Tally;
use crate::rejected::{Rejection, Source, Stage};
use crate::summary::Counters;
use aws_lambda_events::sqs::SqsBatchResponse;
use std::cell::OnceCell;
use std::collections::HashSet;
use std::ops::Range;
use tokio::time::Instant;

/// What the function answers for a batch.
#[derive(Debug, PartialEq)]
pub enum SqsReply {
    /// Partial batch response: the listed records come back to the queue.
    Partial(SqsBatchResponse),
    /// Every record failed transiently, or a failed record has no usable message id: the whole
    /// batch is returned to the queue by answering with an error (Lambda then backs off).
    RetryAll(String),
}

/// An SQS event's records, each read for the fields the function uses, borrowing their text from the tree of
/// the invocation's JSON: a typed `aws_lambda_events` event would copy every record's receipt handle,
/// attributes and body, and one record of an unexpected shape would fail the whole batch.
#[derive(Debug, Default)]
pub struct SqsBatch<'a> {
    pub records: Vec<SqsRecord<'a>>,
}

/// One SQS record. A field of the wrong JSON type reads as absent, except the body, which fails its record
/// only with the type it has.
#[derive(Debug, Default)]
pub struct SqsRecord<'a> {
    pub message_id: Option<&'a str>,
    pub body: Option<&'a Value<'a>>,
    pub event_source_arn: Option<&'a str>,
    pub message_group_id: Option<&'a str>,
}

impl<'a> SqsBatch<'a> {
    /// The records of `event["Records"]` (none when it is not an array).
    pub fn read(event: &'a Value<'a>) -> Self {
        let records = event
            .get("Records")
            .as_array()
            .map(|records| records.iter().map(SqsRecord::read).collect())
            .unwrap_or_default();
        Self { records }
    }
}

impl<'a> SqsRecord<'a> {
    fn read(record: &'a Value<'a>) -> Self {
        Self {
            message_id: record.get("messageId").as_str(),
            body: Some(record.get("body")).filter(|body| !body.is_null()),
            event_source_arn: record.get("eventSourceARN").as_str(),
            message_group_id: record.get("attributes").get("MessageGroupId").as_str(),
        }
    }
}

/// Why a record failed, for the log.
enum RecordFailure {
    Unreadable,
    Events { transient: bool },
    FifoGroup,
}

/// A record's body: the text of one event or of an array of events (see [`event::parse_repairing`] for
/// `repaired`).
fn decode_body<'a>(
    body: Option<&'a Value<'_>>,
    repaired: &'a OnceCell<String>,
) -> Result<Vec<Value<'a>>, String> {
    let body = match body {
        None => "",
        Some(Value::Str(text)) => text.trim(),
        Some(other) => {
            return Err(format!(
                "body: expected the message text (a string), found {}",
                event::kind(other)
            ));
        }
    };
    if body.is_empty() {
        return Err("body: empty".to_owned());
    }
    match event::parse_repairing(body, repaired) {
        Ok(Value::Array(events)) => Ok(events),
        Ok(event @ Value::Object(_)) => Ok(vec![event]),
        Ok(_) => Err("body: expected an event object or an array of events".to_string()),
        Err(e) => Err(format!("body: not JSON ({e})")),
    }
}

/// Handles one SQS batch: the reply, and the counters of what it did.
pub async fn handle(
    state: &State,
    batch: &SqsBatch<'_>,
    deadline: Instant,
) -> (SqsReply, Counters) {
    let now = super::unix_now();
    let (mapped, bodies) = map_records(state, &batch.records, now);
    let stop = deadline
        .checked_sub(state.delivery.deadline_margin)
        .unwrap_or(deadline);

    let decoded = Decoded::new(batch, &bodies);
    let spans = &decoded.spans;
    // Which events mapping rejected (the others wait for delivery, or were skipped or filtered).
    let rejected_at_mapping: Vec<bool> =
        mapped.results().iter().map(EventResult::rejected).collect();
    // A record whose body is unreadable, or none of whose events is sent, is settled before delivery: its
    // rejected events go to the rejected-events queue while the other records' events are delivered.
    let settled: Vec<bool> = spans
        .iter()
        .map(|span| {
            !mapped.results()[span.clone()]
                .iter()
                .any(EventResult::failed)
        })
        .collect();
    let early = decoded.rejections(state, mapped.results(), &rejected_at_mapping, now, |i| {
        settled[i]
    });
    // One delivery for the whole batch, so requests are as full as they can be.
    let (delivered, early_queued) = tokio::join!(
        mapped.deliver(state, deadline),
        send_rejections(state, &early, stop)
    );
    let results = delivered.results;
    // The other records' rejected events, once Pinterest has answered, unless an event of theirs failed
    // (the record comes back, and its rejected events with it).
    let late = decoded.rejections(state, &results, &rejected_at_mapping, now, |i| {
        !settled[i] && !results[spans[i].clone()].iter().any(EventResult::failed)
    });
    let late_queued = send_rejections(state, &late, stop).await;
    // Per record: whether it had messages for the rejected-events queue, and whether SQS took them all.
    let mut queued: Vec<Option<bool>> = vec![None; batch.records.len()];
    let records = early.records.iter().chain(&late.records);
    let mut rejected_queued = 0;
    for (record, ok) in records.zip(early_queued.iter().chain(&late_queued)) {
        rejected_queued += u64::from(*ok);
        let all = queued[*record].get_or_insert(true);
        *all &= *ok;
    }

    let mut failures: Vec<(usize, RecordFailure)> = Vec::new();
    for (index, (record, body)) in batch.records.iter().zip(&bodies).enumerate() {
        let id = message_id(record);
        let in_rejected_queue = queued[index] == Some(true);
        match body {
            Err(reason) if in_rejected_queue => {
                tracing::warn!(
                    message_id = id,
                    "record's body sent to the rejected-events queue: {reason}"
                );
            }
            Err(reason) => {
                tracing::warn!(message_id = id, "record failed: {reason}");
                failures.push((index, RecordFailure::Unreadable));
            }
            Ok(events) => {
                let own: &[EventResult] = &results[spans[index].clone()];
                if *events == 0 {
                    tracing::warn!(
                        message_id = id,
                        "record holds an empty array: nothing to send"
                    );
                }
                let failed = own.iter().any(EventResult::failed);
                let rejected = own.iter().any(EventResult::rejected);
                if rejected && in_rejected_queue && !failed {
                    tracing::info!(
                        message_id = id,
                        "record's rejected events sent to the rejected-events queue"
                    );
                } else if failed || rejected {
                    failures.push((
                        index,
                        RecordFailure::Events {
                            transient: failed && !rejected,
                        },
                    ));
                }
            }
        }
    }

    if is_fifo(batch) {
        add_fifo_followers(batch, &mut failures);
    }
    let mut counters = Counters {
        records: batch.records.len() as u64,
        records_failed: failures.len() as u64,
        events: Tally::of(results.iter().map(|r| &r.fate)),
        requests: delivered.requests,
        rejected_queued,
        test_mode: state.settings.test_mode,
    };

    let all_transient = !batch.records.is_empty()
        && failures.len() == batch.records.len()
        && failures.iter().all(|(_, f)| {
            matches!(
                f,
                RecordFailure::Events { transient: true } | RecordFailure::FifoGroup
            )
        });
    if all_transient {
        let reply = SqsReply::RetryAll(format!(
            "{} failed transiently; the batch goes back to the queue",
            match batch.records.len() {
                1 => "its one record".to_owned(),
                n => format!("all {n} records"),
            }
        ));
        return (reply, counters);
    }

    let mut response = SqsBatchResponse::default();
    for (index, failure) in &failures {
        let record = &batch.records[*index];
        let Some(id) = message_id(record) else {
            // Every record goes back to the queue: the metrics count them all as failed.
            counters.records_failed = batch.records.len() as u64;
            let reason = format!(
                "record {index} failed but has no message id to report; the batch goes back to the queue"
            );
            return (SqsReply::RetryAll(reason), counters);
        };
        if let RecordFailure::FifoGroup = failure {
            tracing::warn!(
                message_id = id,
                "record failed: an earlier record of its FIFO group failed"
            );
        }
        response.add_failure(id.to_string());
    }
    (SqsReply::Partial(response), counters)
}

/// Fewest records worth a mapping thread of their own (a thread costs tens of microseconds; a record's
/// event about ten).
const RECORDS_PER_THREAD: usize = 128;
/// Most mapping threads (Lambda gives at most 6 vCPUs).
const MAX_THREADS: usize = 6;

/// Decodes and maps the records' events, in record order: with each record's event count, or why its body is
/// unreadable. A big batch is split in consecutive runs of records mapped on the cores the function has.
fn map_records(
    state: &State,
    records: &[SqsRecord<'_>],
    now: i64,
) -> (Batch, Vec<Result<usize, String>>) {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = (records.len() / RECORDS_PER_THREAD).clamp(1, cores.min(MAX_THREADS));
    if threads == 1 {
        return map_run(state, records, now);
    }
    // The threads log inside the invocation's span, so their lines keep its request id.
    let span = tracing::Span::current();
    std::thread::scope(|scope| {
        let runs: Vec<_> = records
            .chunks(records.len().div_ceil(threads))
            .map(|run| {
                let span = span.clone();
                scope.spawn(move || span.in_scope(|| map_run(state, run, now)))
            })
            .collect();
        let mut mapped = Batch::default();
        let mut bodies = Vec::with_capacity(records.len());
        for run in runs {
            let (batch, run_bodies) = run
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            mapped.append(batch);
            bodies.extend(run_bodies);
        }
        (mapped, bodies)
    })
}

/// Maps a run of records. Each record's events are mapped as soon as its body is decoded, and dropped then: a
/// decoded event takes several times its JSON's size, so no more than one record's decoded events are held.
fn map_run(
    state: &State,
    records: &[SqsRecord<'_>],
    now: i64,
) -> (Batch, Vec<Result<usize, String>>) {
    let mut mapped = Batch::default();
    let bodies = records
        .iter()
        .map(|record| {
            let repaired = OnceCell::new();
            let events = decode_body(record.body, &repaired)?;
            if repaired.get().is_some() {
                let id = message_id(record).unwrap_or("-");
                tracing::warn!(message_id = id, "body: {}", event::REPAIRED);
            }
            for event in &events {
                mapped.map(state, event, now, message_id(record));
            }
            Ok(events.len())
        })
        .collect();
    (mapped, bodies)
}

/// Messages for the rejected-events queue, each with the index of its record.
#[derive(Default)]
struct Outbox {
    records: Vec<usize>,
    messages: Vec<Rejection>,
}

/// The batch's records with what decoding their bodies gave: each one's event count or why it is unreadable,
/// and its events as a range of the batch's results.
struct Decoded<'b, 'a> {
    batch: &'b SqsBatch<'a>,
    bodies: &'b [Result<usize, String>],
    spans: Vec<Range<usize>>,
}

impl<'b, 'a> Decoded<'b, 'a> {
    fn new(batch: &'b SqsBatch<'a>, bodies: &'b [Result<usize, String>]) -> Self {
        let mut spans = Vec::with_capacity(bodies.len());
        let mut next = 0;
        for body in bodies {
            let events = *body.as_ref().unwrap_or(&0);
            spans.push(next..next + events);
            next += events;
        }
        Self {
            batch,
            bodies,
            spans,
        }
    }

    /// The messages for the rejected-events queue of the records that `take` selects: an unreadable body as
    /// itself, and each rejected event of the others (`rejected_at_mapping` tells the stage). None without a
    /// queue.
    fn rejections(
        &self,
        state: &State,
        results: &[EventResult],
        rejected_at_mapping: &[bool],
        now: i64,
        take: impl Fn(usize) -> bool,
    ) -> Outbox {
        let mut out = Outbox::default();
        if state.rejected.is_none() {
            return out;
        }
        let records = self.batch.records.iter().zip(self.bodies);
        for (index, (record, body)) in records.enumerate() {
            if !take(index) {
                continue;
            }
            let source = Source {
                message_id: message_id(record),
                queue_arn: record.event_source_arn,
            };
            let span = self.spans[index].clone();
            if let Err(reason) = body {
                let text = match record.body {
                    Some(Value::Str(text)) => text.to_string(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                out.records.push(index);
                out.messages
                    .push(Rejection::input(&text, reason, source, now));
                continue;
            }
            let rejected: Vec<usize> = span.clone().filter(|&i| results[i].rejected()).collect();
            if rejected.is_empty() {
                continue;
            }
            let positions = rejected.iter().map(|&i| i - span.start);
            let Some(texts) = event_texts(record.body, positions) else {
                // Not expected (the body was decoded once already): the record fails as before.
                continue;
            };
            for (i, text) in rejected.into_iter().zip(texts) {
                let stage = if rejected_at_mapping[i] {
                    Stage::Mapping
                } else {
                    Stage::Pinterest
                };
                let reason = results[i].fate.reason().unwrap_or("rejected");
                out.records.push(index);
                out.messages
                    .push(Rejection::new(&text, reason, stage, source, now));
            }
        }
        out
    }
}

/// The JSON text of the body's events at `positions`: the body itself when it is one event (as received),
/// else each element of its array, serialised again (the same JSON value; spacing and number notation may
/// differ).
fn event_texts(
    body: Option<&Value<'_>>,
    positions: impl Iterator<Item = usize>,
) -> Option<Vec<String>> {
    let repaired = OnceCell::new();
    let events = decode_body(body, &repaired).ok()?;
    let text = repaired
        .get()
        .map(String::as_str)
        .or_else(|| body.and_then(Value::as_str))?
        .trim();
    if !text.starts_with('[') {
        return Some(vec![text.to_owned()]);
    }
    positions
        .map(|position| serde_json::to_string(events.get(position)?).ok())
        .collect()
}

/// Sends `rejections` to the rejected-events queue; whether each is there.
async fn send_rejections(state: &State, outbox: &Outbox, stop: Instant) -> Vec<bool> {
    match &state.rejected {
        Some(queue) => queue.send(&outbox.messages, stop).await,
        None => vec![false; outbox.messages.len()],
    }
}

/// The record's message id, when it has a non-blank one.
fn message_id<'r>(record: &'r SqsRecord<'_>) -> Option<&'r str> {
    record.message_id.filter(|id| !id.trim().is_empty())
}

/// A FIFO queue's ARN ends in `.fifo`.
fn is_fifo(batch: &SqsBatch<'_>) -> bool {
    batch
        .records
        .iter()
        .any(|r| r.event_source_arn.is_some_and(|arn| arn.ends_with(".fifo")))
}

/// On FIFO queues a failed record fails every later record of its message group (order is kept).
fn add_fifo_followers(batch: &SqsBatch<'_>, failures: &mut Vec<(usize, RecordFailure)>) {
    let mut failed: HashSet<usize> = failures.iter().map(|(i, _)| *i).collect();
    let mut failed_groups: HashSet<Option<&str>> = HashSet::new();
    for (index, record) in batch.records.iter().enumerate() {
        let group = record.message_group_id;
        if failed.contains(&index) {
            failed_groups.insert(group);
        } else if failed_groups.contains(&group) {
            failed.insert(index);
            failures.push((index, RecordFailure::FifoGroup));
        }
    }
    failures.sort_by_key(|(i, _)| *i);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Value<'static> {
        Value::Str(text.to_owned().into())
    }

    /// The tree of a JSON value's text (leaked: a test's values live as long as the test).
    fn tree(json: serde_json::Value) -> &'static Value<'static> {
        let text: &'static str = Box::leak(json.to_string().into_boxed_str());
        Box::leak(Box::new(event::parse(text).expect("JSON")))
    }

    #[test]
    fn bodies_are_an_object_or_an_array() {
        let count = |json: &Value| decode_body(Some(json), &OnceCell::new()).map(|v| v.len());
        assert_eq!(count(&body(r#"{"a":1}"#)), Ok(1));
        assert_eq!(count(&body(r#" [{"a":1},{"b":2}] "#)), Ok(2));
        assert_eq!(count(&body("[]")), Ok(0));
        assert_eq!(
            decode_body(None, &OnceCell::new()).map(|v| v.len()),
            Err("body: empty".to_string())
        );
        assert_eq!(count(&body("  ")), Err("body: empty".to_string()));
        assert!(
            count(&body("42"))
                .unwrap_err()
                .contains("expected an event object")
        );
        assert!(
            count(&body("{oops"))
                .unwrap_err()
                .starts_with("body: not JSON")
        );
        assert_eq!(
            count(tree(serde_json::json!({"event_name": "purchase"}))),
            Err("body: expected the message text (a string), found an object".to_string())
        );
        assert!(
            count(tree(serde_json::json!(7)))
                .unwrap_err()
                .ends_with("found a number")
        );
    }

    #[test]
    fn records_read_only_the_fields_used_and_ignore_the_rest() {
        let event = tree(serde_json::json!({"Records": [
            {"messageId": "m1", "body": "{\"a\":1}", "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q.fifo",
             "attributes": {"MessageGroupId": "g", "SentTimestamp": "1"}, "messageAttributes": "not an object",
             "receiptHandle": 42},
            {},
            {"messageId": 5, "body": null, "eventSourceARN": [], "attributes": "not an object"},
            {"messageId": "m4", "body": 7}
        ]}));
        let batch = SqsBatch::read(event);
        assert_eq!(batch.records.len(), 4);
        let first = &batch.records[0];
        assert_eq!(message_id(first), Some("m1"));
        assert_eq!(first.body, Some(&body(r#"{"a":1}"#)));
        assert_eq!(first.message_group_id, Some("g"));
        assert!(is_fifo(&batch));
        for wrong in &batch.records[1..3] {
            assert_eq!(message_id(wrong), None);
            assert_eq!(wrong.body, None);
            assert_eq!(
                (wrong.event_source_arn, wrong.message_group_id),
                (None, None)
            );
        }
        assert_eq!(message_id(&batch.records[3]), Some("m4"));
        assert_eq!(batch.records[3].body, Some(tree(serde_json::json!(7))));
        assert!(
            SqsBatch::read(tree(serde_json::json!({"Records": {}})))
                .records
                .is_empty()
        );
    }

    #[tokio::test]
    async fn mapping_on_several_threads_keeps_the_record_order() {
        let settings = crate::config::Settings::from_env(|name| {
            (name == "PINTEREST_AD_ACCOUNT_ID").then(|| "1".to_owned())
        })
        .unwrap();
        let state = State::new(settings).await.unwrap();
        let event = |i: usize, name: &str| {
            format!(
                r#"{{"event_name":"{name}","context":{{"event_id":"e{i}","device":{{"ip":"192.0.2.1","user_agent":"UA"}}}}}}"#
            )
        };
        let ids: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
        let bodies: Vec<Value> = (0..1000)
            .map(|i| {
                body(&match i % 4 {
                    0 => event(i, "purchase"),
                    1 => format!("[{},{}]", event(i, "page_view"), event(i + 1, "search")),
                    2 => "not json".to_owned(),
                    _ => event(i, "not_a_known_name"),
                })
            })
            .collect();
        let records: Vec<SqsRecord> = ids
            .iter()
            .zip(&bodies)
            .map(|(id, body)| SqsRecord {
                message_id: Some(id),
                body: Some(body),
                ..SqsRecord::default()
            })
            .collect();
        let (threaded, threaded_bodies) = map_records(&state, &records, 1_800_000_000);
        let (single, single_bodies) = map_run(&state, &records, 1_800_000_000);
        assert_eq!(threaded_bodies, single_bodies);
        assert_eq!(threaded.results, single.results);
        assert_eq!(threaded.to_send, single.to_send);
        assert_eq!(threaded.sent_index, single.sent_index);
        assert_eq!(single.results.len(), 1000);
    }

    fn record<'a>(id: &'a str, group: &'a str) -> SqsRecord<'a> {
        SqsRecord {
            message_id: Some(id),
            body: None,
            event_source_arn: Some("arn:aws:sqs:eu-west-1:1:q.fifo"),
            message_group_id: Some(group),
        }
    }

    #[test]
    fn fifo_failure_fails_later_records_of_its_group_only() {
        let batch = SqsBatch {
            records: vec![
                record("a1", "A"),
                record("b1", "B"),
                record("a2", "A"),
                record("b2", "B"),
                record("a3", "A"),
            ],
        };
        assert!(is_fifo(&batch));
        let mut failures = vec![(0, RecordFailure::Events { transient: false })];
        add_fifo_followers(&batch, &mut failures);
        let ids: Vec<usize> = failures.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids, [0, 2, 4]);
    }
}
