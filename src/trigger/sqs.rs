//! SQS trigger: the batch is read record by record, each record's body decoded on its own; rejected events go
//! to the rejected-events queue when there is one; failed records are reported by message id.

use super::{Batch, EventResult, State};
use crate::event::{self, Value};
use crate::fate::Tally;
use crate::rejected::{Rejection, Source, Stage};
use crate::summary::Counters;
use aws_lambda_events::sqs::SqsBatchResponse;
use serde::de::{
    Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashSet;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError, mpsc};
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

/// An SQS event's records, read from the invocation's text without a tree of the whole batch: the `Records`
/// array is scanned once and each record kept as its text, then the records are parsed on the mapping threads,
/// each for the fields the function uses. A typed `aws_lambda_events` event would copy every record's receipt
/// handle, attributes and body, and one record of an unexpected shape would fail the whole batch.
#[derive(Debug, Default)]
struct SqsBatch<'a> {
    records: Vec<SqsRecord<'a>>,
}

/// One SQS record. A field of the wrong JSON type reads as absent, except the body, which fails its record
/// only with the type it has. Of duplicate keys the last counts.
#[derive(Debug, Default)]
struct SqsRecord<'a> {
    /// The record's JSON text, within the invocation's: read again for the rejected-events queue.
    text: &'a str,
    message_id: Option<Cow<'a, str>>,
    event_source_arn: Option<Cow<'a, str>>,
    message_group_id: Option<Cow<'a, str>>,
    /// Whether its `eventSource` is `aws:sqs`.
    from_sqs: bool,
    /// The body, until its events are mapped (then dropped, on the mapping thread).
    body: Option<Value<'a>>,
}

impl<'a> SqsBatch<'a> {
    /// The records of `payload` when it is an object whose `Records` is an array (`{"Records": []}` too),
    /// each as its text: a record is read where its body is mapped ([`handle`] answers `None` for a batch with
    /// a record not from `aws:sqs`). `None` for any other event.
    fn read(payload: &'a str) -> Option<Self> {
        let mut records = Vec::new();
        let found = scan(payload, &mut |scanned| match scanned {
            Scanned::Array => records.clear(),
            Scanned::Records(texts) => records.extend(texts.into_iter().map(SqsRecord::unread)),
        });
        found.then_some(Self { records })
    }
}

/// Records passed on at a time by [`scan`], and taken at a time by a mapping thread: about a millisecond of
/// mapping, so that the threads stay evenly busy.
const CHUNK: usize = 64;

/// What [`scan`] finds, in the text's order.
enum Scanned<'a> {
    /// A `Records` array starts; a later one replaces it (of duplicate keys the last counts).
    Array,
    /// The array's next records (at most [`CHUNK`]), each as its text.
    Records(Vec<&'a str>),
}

/// Scans `payload`, passing on the records of its `Records` array as they are found: true when the payload is
/// an object with a `Records` array. Other members are skipped; nothing is built but the records' list.
fn scan<'a>(payload: &'a str, on: &mut dyn FnMut(Scanned<'a>)) -> bool {
    let mut reader = serde_json::Deserializer::from_str(payload);
    reader.deserialize_map(Envelope(on)).unwrap_or(false) && reader.end().is_ok()
}

/// The members of the invocation's object: true when one is a `Records` array.
struct Envelope<'s, 'a>(&'s mut dyn FnMut(Scanned<'a>));

impl<'a> Visitor<'a> for Envelope<'_, 'a> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a Records array")
    }

    fn visit_map<M: MapAccess<'a>>(self, mut map: M) -> Result<bool, M::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<Cow<'a, str>>()? {
            if key == "Records" {
                map.next_value_seed(Records(&mut *self.0))?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The `Records` array, passed on [`CHUNK`] records at a time.
struct Records<'s, 'a>(&'s mut dyn FnMut(Scanned<'a>));

impl<'a> DeserializeSeed<'a> for Records<'_, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'a> Visitor<'a> for Records<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<S: SeqAccess<'a>>(self, mut seq: S) -> Result<(), S::Error> {
        (self.0)(Scanned::Array);
        let mut chunk = Vec::with_capacity(CHUNK);
        while let Some(record) = seq.next_element::<&'a RawValue>()? {
            chunk.push(record.get());
            if chunk.len() == CHUNK {
                (self.0)(Scanned::Records(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(CHUNK),
                )));
            }
        }
        if !chunk.is_empty() {
            (self.0)(Scanned::Records(chunk));
        }
        Ok(())
    }
}

impl<'a> SqsRecord<'a> {
    /// The record of `text`, not read yet.
    fn unread(text: &'a str) -> Self {
        Self {
            text,
            ..Self::default()
        }
    }

    /// The record of `text` (a record that is not an object has no field, and is not from `aws:sqs`). Only the
    /// fields used are built; the rest (receipt handle, message attributes, ...) is read past.
    fn read(text: &'a str) -> Self {
        Self {
            text,
            ..serde_json::from_str(text).unwrap_or_default()
        }
    }

    /// The body as the record's text holds it (read again: the mapped body is dropped).
    fn body_again(&self) -> Option<Value<'a>> {
        Self::read(self.text).body
    }
}

/// A record's fields from its text; [`SqsRecord::read`] adds the text itself.
impl<'de> Deserialize<'de> for SqsRecord<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = SqsRecord<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an SQS record")
            }

            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut fields = SqsRecord::default();
                while let Some(key) = map.next_key::<RecordKey>()? {
                    match key {
                        RecordKey::MessageId => {
                            fields.message_id = map.next_value::<Loose<'de>>()?.0;
                        }
                        RecordKey::Body => {
                            fields.body = Some(map.next_value::<Value<'de>>()?)
                                .filter(|body| !body.is_null());
                        }
                        RecordKey::EventSourceArn => {
                            fields.event_source_arn = map.next_value::<Loose<'de>>()?.0;
                        }
                        RecordKey::EventSource => {
                            fields.from_sqs =
                                map.next_value::<Loose<'de>>()?.0.as_deref() == Some("aws:sqs");
                        }
                        RecordKey::Attributes => {
                            fields.message_group_id = map.next_value::<GroupId<'de>>()?.0;
                        }
                        RecordKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(fields)
            }
        }
        // Anything but an object fails here, and is read as a record with no field.
        deserializer.deserialize_map(Fields)
    }
}

/// A key of a record, told apart without a copy of it.
enum RecordKey {
    MessageId,
    Body,
    EventSourceArn,
    EventSource,
    Attributes,
    Other,
}

impl<'de> Deserialize<'de> for RecordKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Key;
        impl Visitor<'_> for Key {
            type Value = RecordKey;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a record's key")
            }

            /// Borrowed or unescaped, the key is only compared.
            fn visit_str<E>(self, key: &str) -> Result<RecordKey, E> {
                Ok(match key {
                    "messageId" => RecordKey::MessageId,
                    "body" => RecordKey::Body,
                    "eventSourceARN" => RecordKey::EventSourceArn,
                    "eventSource" => RecordKey::EventSource,
                    "attributes" => RecordKey::Attributes,
                    _ => RecordKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(Key)
    }
}

/// A string, or `None` for a value of any other type (read past).
struct Loose<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Loose(string(Value::deserialize(deserializer)?)))
    }
}

/// The text of a string value; `None` for a value of any other type.
fn string(value: Value<'_>) -> Option<Cow<'_, str>> {
    match value {
        Value::Str(text) => Some(text),
        _ => None,
    }
}

/// The `MessageGroupId` of a record's `attributes` (of FIFO queues); `None` when `attributes` is not an object
/// or has no such string.
struct GroupId<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for GroupId<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(GroupId(match Value::deserialize(deserializer)? {
            Value::Object(attributes) => attributes
                .into_vec()
                .into_iter()
                .rev()
                .find(|(key, _)| key == "MessageGroupId")
                .and_then(|(_, id)| string(id)),
            _ => None,
        }))
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

/// Handles one SQS batch: the reply, and the counters of what it did; `None`, before anything is sent, when a
/// record is not from `aws:sqs` (the event is not an SQS batch).
pub async fn handle(
    state: &State,
    payload: &str,
    deadline: Instant,
) -> Option<(SqsReply, Counters)> {
    let now = super::unix_now();
    let (batch, mapped, bodies) = read_and_map(state, payload, now)?;
    let batch = &batch;
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
        return Some((reply, counters));
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
            return Some((SqsReply::RetryAll(reason), counters));
        };
        if let RecordFailure::FifoGroup = failure {
            tracing::warn!(
                message_id = id,
                "record failed: an earlier record of its FIFO group failed"
            );
        }
        response.add_failure(id.to_string());
    }
    Some((SqsReply::Partial(response), counters))
}

/// Most mapping threads (Lambda gives at most 6 vCPUs).
const MAX_THREADS: usize = 6;

/// What each record's body gave: its event count, or why it is unreadable.
type Bodies = Vec<Result<usize, String>>;

/// The SQS batch of `payload`, with its records' events mapped in record order and what each body gave; `None`
/// when `payload` is not an SQS batch (no `Records` array, or a record not from `aws:sqs`).
///
/// The text is scanned on this thread. Once it has found a [`CHUNK`] of records, mapping threads (one per core)
/// start, and each takes the next chunk as the scan finds them: mapping starts with the first chunk instead of
/// after the scan, on the cores the function has. A batch of fewer records, or a function with one core, is
/// mapped on this thread. A payload with two `Records` arrays (the last counts) is read again, then mapped.
fn read_and_map<'a>(
    state: &State,
    payload: &'a str,
    now: i64,
) -> Option<(SqsBatch<'a>, Batch, Bodies)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(MAX_THREADS);
    let foreign = &AtomicBool::new(false);
    let (sender, receiver) = mpsc::channel::<(usize, Vec<&'a str>)>();
    let receiver = &Mutex::new(receiver);
    // The threads log inside the invocation's span, so their lines keep its request id.
    let span = tracing::Span::current();
    let (found, arrays, mut chunks) = std::thread::scope(|scope| {
        let mut workers = Vec::new();
        let mut chunks = Vec::new();
        let (mut index, mut arrays) = (0, 0);
        let found = scan(payload, &mut |scanned| match scanned {
            Scanned::Array => arrays += 1,
            // A second array: the payload is read again below.
            Scanned::Records(_) if arrays > 1 => {}
            Scanned::Records(texts) => {
                if workers.is_empty() && threads > 1 && texts.len() == CHUNK {
                    workers = (0..threads)
                        .map(|_| {
                            let span = span.clone();
                            scope.spawn(move || {
                                span.in_scope(|| map_chunks(state, receiver, now, foreign))
                            })
                        })
                        .collect();
                }
                let texts = if workers.is_empty() {
                    texts
                } else {
                    // The receiver outlives the threads: sending cannot fail, and a chunk is never lost.
                    match sender.send((index, texts)) {
                        Ok(()) => Vec::new(),
                        Err(mpsc::SendError((_, texts))) => texts,
                    }
                };
                if !texts.is_empty() {
                    chunks.push(map_chunk(state, index, texts, now, foreign));
                }
                index += 1;
            }
        });
        drop(sender);
        for worker in workers {
            chunks.extend(
                worker
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        (found, arrays, chunks)
    });
    if arrays > 1 {
        let mut batch = SqsBatch::read(payload)?;
        let foreign = AtomicBool::new(false);
        let (mapped, bodies) = map_run(state, &mut batch.records, now, &foreign);
        return (!foreign.load(Ordering::Relaxed)).then_some((batch, mapped, bodies));
    }
    if !found || foreign.load(Ordering::Relaxed) {
        return None;
    }
    chunks.sort_unstable_by_key(|chunk| chunk.index);
    let mut batch = SqsBatch::default();
    let mut mapped = Batch::default();
    let mut bodies = Vec::new();
    for chunk in chunks {
        batch.records.extend(chunk.records);
        mapped.append(chunk.mapped);
        bodies.extend(chunk.bodies);
    }
    Some((batch, mapped, bodies))
}

/// A mapping thread: maps the next chunk of records, and the next, until the scan has ended and every chunk is
/// taken.
fn map_chunks<'a>(
    state: &State,
    receiver: &Mutex<mpsc::Receiver<(usize, Vec<&'a str>)>>,
    now: i64,
    foreign: &AtomicBool,
) -> Vec<MappedChunk<'a>> {
    let next = || {
        receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv()
            .ok()
    };
    let mut done = Vec::new();
    while let Some((index, texts)) = next() {
        done.push(map_chunk(state, index, texts, now, foreign));
    }
    done
}

/// A chunk of records, read and mapped.
struct MappedChunk<'a> {
    /// Its place in the batch.
    index: usize,
    records: Vec<SqsRecord<'a>>,
    mapped: Batch,
    bodies: Bodies,
}

fn map_chunk<'a>(
    state: &State,
    index: usize,
    texts: Vec<&'a str>,
    now: i64,
    foreign: &AtomicBool,
) -> MappedChunk<'a> {
    let mut records: Vec<SqsRecord<'a>> = texts.into_iter().map(SqsRecord::unread).collect();
    let (mapped, bodies) = map_run(state, &mut records, now, foreign);
    MappedChunk {
        index,
        records,
        mapped,
        bodies,
    }
}

/// Reads and maps a run of records. Each record is parsed where its events are mapped, and its body and events
/// are dropped then: the body is still in the cache when it is parsed, and no more than one record's decoded
/// events are held. A record not from `aws:sqs` sets `foreign`, which stops every run (the events mapped until
/// then are dropped unsent).
fn map_run(
    state: &State,
    records: &mut [SqsRecord<'_>],
    now: i64,
    foreign: &AtomicBool,
) -> (Batch, Bodies) {
    let mut mapped = Batch::default();
    let mut bodies = Vec::with_capacity(records.len());
    for record in records {
        if foreign.load(Ordering::Relaxed) {
            break;
        }
        *record = SqsRecord::read(record.text);
        if !record.from_sqs {
            foreign.store(true, Ordering::Relaxed);
            break;
        }
        let body = record.body.take();
        let repaired = OnceCell::new();
        let events = match decode_body(body.as_ref(), &repaired) {
            Ok(events) => events,
            Err(reason) => {
                bodies.push(Err(reason));
                continue;
            }
        };
        let id = message_id(record);
        if repaired.get().is_some() {
            tracing::warn!(message_id = id.unwrap_or("-"), "body: {}", event::REPAIRED);
        }
        for event in &events {
            mapped.map(state, event, now, id);
        }
        bodies.push(Ok(events.len()));
    }
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
                queue_arn: record.event_source_arn.as_deref(),
            };
            let span = self.spans[index].clone();
            if let Err(reason) = body {
                let text = match record.body_again() {
                    Some(Value::Str(text)) => text.into_owned(),
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
            // The mapped body was dropped; the record is read again, as few have rejected events.
            let Some(texts) = event_texts(record.body_again().as_ref(), positions) else {
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
    record
        .message_id
        .as_deref()
        .filter(|id| !id.trim().is_empty())
}

/// A FIFO queue's ARN ends in `.fifo`.
fn is_fifo(batch: &SqsBatch<'_>) -> bool {
    batch.records.iter().any(|r| {
        r.event_source_arn
            .as_ref()
            .is_some_and(|arn| arn.ends_with(".fifo"))
    })
}

/// On FIFO queues a failed record fails every later record of its message group (order is kept).
fn add_fifo_followers(batch: &SqsBatch<'_>, failures: &mut Vec<(usize, RecordFailure)>) {
    let mut failed: HashSet<usize> = failures.iter().map(|(i, _)| *i).collect();
    let mut failed_groups: HashSet<Option<&str>> = HashSet::new();
    for (index, record) in batch.records.iter().enumerate() {
        let group = record.message_group_id.as_deref();
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

    /// The records of `payload`, each read as mapping reads it.
    fn read_records(payload: &str) -> Option<SqsBatch<'_>> {
        let records = SqsBatch::read(payload)?
            .records
            .iter()
            .map(|record| SqsRecord::read(record.text))
            .collect();
        Some(SqsBatch { records })
    }

    #[test]
    fn records_read_only_the_fields_used_and_ignore_the_rest() {
        let event = serde_json::json!({"Records": [
            {"messageId": "m1", "body": "{\"a\":1}", "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q.fifo",
             "eventSource": "aws:sqs", "attributes": {"MessageGroupId": "g", "SentTimestamp": "1"},
             "messageAttributes": "not an object", "receiptHandle": 42},
            {"eventSource": "aws:sqs"},
            {"messageId": 5, "body": null, "eventSourceARN": [], "attributes": "not an object",
             "eventSource": "aws:sqs"},
            {"messageId": "m4", "body": 7, "eventSource": "aws:sqs"}
        ]})
        .to_string();
        let batch = read_records(&event).expect("an SQS batch");
        assert!(batch.records.iter().all(|record| record.from_sqs));
        assert_eq!(batch.records.len(), 4);
        let first = &batch.records[0];
        assert_eq!(message_id(first), Some("m1"));
        assert_eq!(first.body, Some(body(r#"{"a":1}"#)));
        assert_eq!(first.message_group_id.as_deref(), Some("g"));
        assert_eq!(
            first.body_again(),
            first.body,
            "the record's text gives its body again"
        );
        assert!(is_fifo(&batch));
        for wrong in &batch.records[1..3] {
            assert_eq!(message_id(wrong), None);
            assert_eq!(wrong.body, None);
            assert_eq!(
                (&wrong.event_source_arn, &wrong.message_group_id),
                (&None, &None)
            );
        }
        assert_eq!(message_id(&batch.records[3]), Some("m4"));
        assert_eq!(
            batch.records[3].body,
            Some(tree(serde_json::json!(7)).clone())
        );
        let escaped = read_records(
            r#"{"Rec\u006frds": [{"messageId": "m\u0035", "eventSource": "aws:sqs"},
                {"m\u0065ssageId": "m6", "\u0062ody": "{}", "eventSourc\u0065": "aws:sqs"}]}"#,
        );
        let records = escaped.as_ref().map(|batch| &batch.records[..]);
        assert_eq!(
            records.map(|records| records.iter().map(message_id).collect::<Vec<_>>()),
            Some(vec![Some("m5"), Some("m6")]),
            "escapes are decoded, in values and in keys"
        );
        assert_eq!(
            records.map(|records| (records[1].from_sqs, records[1].body.is_some())),
            Some((true, true))
        );
        assert!(SqsBatch::read(r#"{"Records": {}}"#).is_none());
        assert!(SqsBatch::read(r#"{"records": []}"#).is_none());
        assert!(SqsBatch::read("[]").is_none());
        assert!(
            SqsBatch::read(r#"{"Records": [{"eventSource": "aws:sqs"}]"#).is_none(),
            "cut text"
        );
        let sources = |payload| {
            read_records(payload)
                .map(|batch| batch.records.iter().map(|r| r.from_sqs).collect::<Vec<_>>())
        };
        assert_eq!(
            sources(
                r#"{"Records": [{"eventSource": "aws:sqs"}, {"eventSource": "aws:s3"}, 7, {"eventSource": 1}]}"#
            ),
            Some(vec![true, false, false, false])
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
        let records: Vec<serde_json::Value> = (0..1000)
            .map(|i| {
                let body = match i % 4 {
                    0 => event(i, "purchase"),
                    1 => format!("[{},{}]", event(i, "page_view"), event(i + 1, "search")),
                    2 => "not json".to_owned(),
                    _ => event(i, "not_a_known_name"),
                };
                serde_json::json!({"messageId": format!("m{i}"), "body": body, "eventSource": "aws:sqs"})
            })
            .collect();
        let text = serde_json::json!({ "Records": records }).to_string();
        let mut single = SqsBatch::read(&text).expect("an SQS batch");
        assert!(
            single.records.len() > 4 * CHUNK,
            "chunks for several threads"
        );
        let (batch, threaded, threaded_bodies) =
            read_and_map(&state, &text, 1_800_000_000).expect("from SQS");
        let foreign = AtomicBool::new(false);
        let (single, single_bodies) = map_run(&state, &mut single.records, 1_800_000_000, &foreign);
        assert_eq!(threaded_bodies, single_bodies);
        assert_eq!(threaded.results, single.results);
        assert_eq!(threaded.to_send, single.to_send);
        assert_eq!(threaded.sent_index, single.sent_index);
        assert_eq!(single.results.len(), 1000);
        let ids: Vec<Option<&str>> = batch.records.iter().map(message_id).collect();
        let expected: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
        assert_eq!(
            ids,
            expected
                .iter()
                .map(|id| Some(id.as_str()))
                .collect::<Vec<_>>()
        );
        // One record from elsewhere, in any chunk, and the batch is not an SQS batch.
        let foreign = text.replacen("aws:sqs", "aws:s3", 1);
        assert!(read_and_map(&state, &foreign, 1_800_000_000).is_none());
        let mut last = text.clone();
        let at = last.rfind("aws:sqs").expect("a source");
        last.replace_range(at..at + "aws:sqs".len(), "aws:s3");
        assert!(read_and_map(&state, &last, 1_800_000_000).is_none());
        // Of two `Records` arrays the last counts, whichever records the first one had.
        let twice = format!(
            r#"{{"Records": [{{"eventSource": "aws:s3"}}], {}"#,
            &text[1..]
        );
        let (batch, mapped, _) = read_and_map(&state, &twice, 1_800_000_000).expect("from SQS");
        assert_eq!(
            (batch.records.len(), mapped.results),
            (1000, threaded.results)
        );
        let twice = format!(
            r#"{}, "Records": [{{"eventSource": "aws:sqs"}}]}}"#,
            &text[..text.len() - 1]
        );
        let (batch, _, bodies) = read_and_map(&state, &twice, 1_800_000_000).expect("from SQS");
        assert_eq!(batch.records.len(), 1);
        assert_eq!(bodies, vec![Err("body: empty".to_owned())]);
        assert!(
            read_and_map(&state, &text[..text.len() - 1], 1_800_000_000).is_none(),
            "cut text"
        );
    }

    fn record<'a>(id: &'a str, group: &'a str) -> SqsRecord<'a> {
        SqsRecord {
            message_id: Some(id.into()),
            event_source_arn: Some("arn:aws:sqs:eu-west-1:1:q.fifo".into()),
            message_group_id: Some(group.into()),
            ..SqsRecord::default()
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
