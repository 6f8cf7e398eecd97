//! No event is silently lost: randomised SQS batches (standard and FIFO queues; records of one to three events,
//! some invalid, some unmapped, some with an `event_id` already used in the batch, some unreadable) go through
//! the SQS handler against randomised fault schedules of the fake Pinterest and, in most cases, a rejected-events
//! queue (a fake SQS with its own faults: entries refused, errors, resets, stalls), with paused time and the
//! production retry settings. For every input record, exactly one of: acknowledged with every event delivered
//! (Pinterest said `processed`), skipped, or in the rejected-events queue (and an unreadable body in it too), or
//! listed in `batchItemFailures` (an invocation error lists them all). The answer names no record that was not
//! in the input; on FIFO queues no acknowledged record follows a failed one of its group; Pinterest receives
//! only events of the input, never an invalid or unmapped one; the rejected-events queue holds only rejected
//! events and unreadable bodies of the input, each with its reason and stage.
//! A third of the cases put Pinterest's rate limit in front of the script (a few calls per window, 429 with
//! `Retry-After` beyond), and a third give the instance a small call budget (`PINTEREST_CALLS_PER_MINUTE`), so
//! that events wait for slots, meet 429s, and run into the deadline while waiting.
//!
//! The run covers at least `NO_LOSS_EVENTS` events (default 10 000) and prints what it checked. Set
//! `NO_LOSS_SEED` to replay a run (the seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::fake_pinterest::{FakePinterest, Recorded, Reply, tick};
use crate::support::fake_sqs::{FakeSqs, SqsReply, Stored};
use crate::support::invoke::{
    Record, SqsAnswer, good_event, invoke, now_ms, sqs_answer, sqs_event, state, state_like,
    unmapped_event,
};
use pinterest_destination::budget::CallBudget;
use pinterest_destination::rejected::RejectedQueue;
use pinterest_destination::trigger::State;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};
use tokio::time::Instant;

const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);
/// Clock step while waiting on sockets (see `tick`): coarse, as only the order of events matters here.
const TICK: Duration = Duration::from_millis(20);
const SLACK: Duration = Duration::from_millis(300);

/// One generated event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    Good,
    /// A good event reusing the `event_id` of an earlier event of the batch.
    DuplicateId,
    Unmapped,
    /// Rejected by mapping: see [`Invalid`].
    Invalid(Invalid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Invalid {
    NoEventId,
    NoIdentity,
    FarFuture,
    BadActionSource,
    NoEventName,
    /// Not an object (only inside an array).
    Scalar,
}

/// One generated record.
#[derive(Debug, Clone)]
enum Body {
    /// One event object (`single`) or an array of events.
    Events {
        events: Vec<EventKind>,
        single: bool,
    },
    EmptyArray,
    NotJson,
    JsonScalar,
}

#[derive(Debug, Clone)]
struct GenRecord {
    body: Body,
    /// `None`: no `messageId`; `Some("")`: a blank one.
    has_id: IdKind,
    group: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdKind {
    Normal,
    Missing,
    Blank,
}

#[derive(Debug, Clone)]
struct Batch {
    fifo: bool,
    records: Vec<GenRecord>,
}

#[derive(Debug, Clone)]
struct Faults {
    script: Vec<Reply>,
    default: Reply,
    /// Event positions (in the batch's event order) whose `event_id` Pinterest refuses with a 400.
    poisoned: Vec<usize>,
    time_left_secs: u64,
    /// The rejected-events queue's script, or no queue.
    rejected_queue: Option<Vec<SqsReply>>,
    /// Pinterest's rate limit: at most this many calls per this many seconds.
    limit: Option<(usize, u64)>,
    /// The instance's call budget.
    calls_per_minute: u32,
}

fn event_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        24 => Just(EventKind::Good),
        5 => Just(EventKind::DuplicateId),
        3 => Just(EventKind::Unmapped),
        1 => Just(EventKind::Invalid(Invalid::NoEventId)),
        1 => Just(EventKind::Invalid(Invalid::NoIdentity)),
        1 => Just(EventKind::Invalid(Invalid::FarFuture)),
        1 => Just(EventKind::Invalid(Invalid::BadActionSource)),
        1 => Just(EventKind::Invalid(Invalid::NoEventName)),
        1 => Just(EventKind::Invalid(Invalid::Scalar)),
    ]
}

fn record() -> impl Strategy<Value = GenRecord> {
    let body = prop_oneof![
        30 => (prop::collection::vec(event_kind(), 1..=3), any::<bool>()).prop_map(|(mut events, single)| {
            let single = single && events.len() == 1;
            if single && events[0] == EventKind::Invalid(Invalid::Scalar) {
                events[0] = EventKind::Good;
            }
            Body::Events { events, single }
        }),
        1 => Just(Body::EmptyArray),
        1 => Just(Body::NotJson),
        1 => Just(Body::JsonScalar),
    ];
    let id = prop_oneof![40 => Just(IdKind::Normal), 1 => Just(IdKind::Missing), 1 => Just(IdKind::Blank)];
    (body, id, 0u8..3).prop_map(|(body, has_id, group)| GenRecord {
        body,
        has_id,
        group,
    })
}

fn batch() -> impl Strategy<Value = Batch> {
    any::<bool>().prop_flat_map(|fifo| {
        let max = if fifo { 10 } else { 20 };
        prop::collection::vec(record(), 1..=max).prop_map(move |records| Batch { fifo, records })
    })
}

fn fault() -> impl Strategy<Value = Reply> {
    let positions = || prop::collection::vec(0usize..6, 1..3);
    prop_oneof![
        4 => Just(Reply::Ok),
        2 => positions().prop_map(Reply::FailEvents),
        1 => positions().prop_map(Reply::Warn),
        2 => positions().prop_map(Reply::Unprocessable),
        6 => prop::sample::select(vec![400u16, 401, 403, 404, 408, 429, 500, 501, 502, 503, 504]).prop_map(Reply::Status),
        2 => (0u64..6).prop_map(|s| Reply::RetryAfter(429, s.to_string())),
        1 => Just(Reply::RetryAfter(503, u64::MAX.to_string())),
        2 => (1u64..25).prop_map(|s| Reply::Delay(Duration::from_secs(s))),
        1 => Just(Reply::NotJson),
        1 => Just(Reply::WrongLength),
        2 => Just(Reply::Reset),
    ]
}

fn sqs_fault() -> impl Strategy<Value = SqsReply> {
    prop_oneof![
        6 => Just(SqsReply::Ok),
        2 => prop::collection::vec(0usize..10, 1..3).prop_map(SqsReply::FailEntries),
        2 => Just(SqsReply::Status(500)),
        1 => Just(SqsReply::Status(400)),
        2 => Just(SqsReply::Reset),
        1 => (1u64..45).prop_map(|s| SqsReply::Delay(Duration::from_secs(s))),
    ]
}

fn faults() -> impl Strategy<Value = Faults> {
    let default = prop_oneof![
        12 => Just(Reply::Ok),
        1 => Just(Reply::Status(503)),
        1 => Just(Reply::Reset),
        1 => Just(Reply::Delay(Duration::from_secs(30))),
        1 => Just(Reply::RetryAfter(429, "2".into())),
    ];
    (
        prop::collection::vec(fault(), 0..6),
        default,
        prop::collection::vec(0usize..60, 0..2),
        2u64..40,
        prop_oneof![
            1 => Just(None),
            3 => prop::collection::vec(sqs_fault(), 0..4).prop_map(Some),
        ],
        prop_oneof![2 => Just(None), 1 => (1usize..4, 2u64..30).prop_map(Some)],
        prop_oneof![2 => Just(5000u32), 1 => 1u32..20],
    )
        .prop_map(
            |(
                script,
                default,
                poisoned,
                time_left_secs,
                rejected_queue,
                limit,
                calls_per_minute,
            )| Faults {
                script,
                default,
                poisoned,
                time_left_secs,
                rejected_queue,
                limit,
                calls_per_minute,
            },
        )
}

/// One event of the batch as sent, with what the test knows of it.
struct Sent {
    record: usize,
    kind: EventKind,
    uid: String,
    event_id: String,
}

/// The event's JSON.
fn render(kind: EventKind, event_id: &str, uid: &str) -> Value {
    let mut event = good_event(event_id, uid);
    match kind {
        EventKind::Good | EventKind::DuplicateId => {}
        EventKind::Unmapped => {
            event = unmapped_event(event_id);
            event["id"] = json!(uid);
        }
        EventKind::Invalid(Invalid::NoEventId) => {
            event["context"]
                .as_object_mut()
                .expect("context")
                .remove("event_id");
        }
        EventKind::Invalid(Invalid::NoIdentity) => {
            event["user"] = json!({"firstname": "Zebulon"});
            event["context"]["device"] = json!({"lang": "en"});
        }
        EventKind::Invalid(Invalid::FarFuture) => {
            event["context"]["event_timestamp"] = json!(now_ms() + 86_400_000);
        }
        EventKind::Invalid(Invalid::BadActionSource) => {
            event["partners"] = json!({"pinterest": {"action_source": "carrier_pigeon"}});
        }
        EventKind::Invalid(Invalid::NoEventName) => {
            event.as_object_mut().expect("object").remove("event_name");
        }
        // A scalar of its own, so that the rejected-events queue's copy tells which it is.
        EventKind::Invalid(Invalid::Scalar) => event = json!(uid),
    }
    event
}

/// Builds the SQS records, and the list of events with their record.
fn build(batch: &Batch) -> (Vec<Record>, Vec<Sent>) {
    let mut records = Vec::new();
    let mut sent: Vec<Sent> = Vec::new();
    for (index, generated) in batch.records.iter().enumerate() {
        let body = match &generated.body {
            Body::EmptyArray => "[]".to_owned(),
            // Each unreadable body its own, so that the rejected-events queue's copy tells which it is.
            Body::NotJson => format!("{{\"event_name\": \"purchase-{index}\", oops"),
            Body::JsonScalar => format!("{}", 4200 + index),
            Body::Events { events, single } => {
                let mut values = Vec::new();
                for &kind in events {
                    let n = sent.len();
                    let uid = format!("u-{n}");
                    let event_id = match kind {
                        EventKind::DuplicateId if n > 0 => sent[n / 2].event_id.clone(),
                        _ => format!("e-{n}"),
                    };
                    values.push(render(kind, &event_id, &uid));
                    sent.push(Sent {
                        record: index,
                        kind,
                        uid,
                        event_id,
                    });
                }
                if *single {
                    values[0].to_string()
                } else {
                    Value::Array(values).to_string()
                }
            }
        };
        let id = format!("m-{index}");
        let mut record = Record::new(&id, body);
        record.message_id = match generated.has_id {
            IdKind::Normal => Some(id),
            IdKind::Missing => None,
            IdKind::Blank => Some(" ".to_owned()),
        };
        if batch.fifo {
            record = record.in_group(&format!("g{}", generated.group));
        }
        records.push(record);
    }
    (records, sent)
}

/// What the run checked, printed at the end.
#[derive(Default, Debug)]
struct Counts {
    batches: u64,
    fifo_batches: u64,
    records: u64,
    events: u64,
    events_by_kind: BTreeMap<String, u64>,
    unreadable_records: u64,
    requests: u64,
    faults_injected: BTreeMap<String, u64>,
    rate_limited_cases: u64,
    rate_limited_requests: u64,
    budgeted_cases: u64,
    records_acknowledged: u64,
    records_listed: u64,
    records_retried_by_error: u64,
    invocation_errors: u64,
    fifo_followers_listed: u64,
    events_processed: u64,
    batches_with_rejected_queue: u64,
    rejected_queue_calls: u64,
    rejected_queue_faults: BTreeMap<String, u64>,
    events_in_rejected_queue: u64,
    bodies_in_rejected_queue: u64,
    records_acknowledged_with_rejections: u64,
}

fn fault_name(reply: &Reply) -> Option<String> {
    let name = match reply {
        Reply::Ok => return None,
        Reply::FailEvents(_) => "200 with failed events".to_owned(),
        Reply::Warn(_) => "200 with warnings".to_owned(),
        Reply::FailAndWarn(..) | Reply::FailWith(..) => "200 with failed events".to_owned(),
        Reply::Unprocessable(_) => "422 per event".to_owned(),
        Reply::Status(s) | Reply::ErrorMessage(s, _) | Reply::Raw(s, _) => format!("HTTP {s}"),
        Reply::RetryAfter(s, _) => format!("HTTP {s} + Retry-After"),
        Reply::Delay(d) if *d >= Duration::from_secs(10) => "stall past the time-out".to_owned(),
        Reply::Delay(_) => "slow answer".to_owned(),
        Reply::NotJson => "200 not JSON".to_owned(),
        Reply::WrongLength => "200 wrong events[] length".to_owned(),
        Reply::Reset => "connection reset".to_owned(),
        Reply::Redirect(s, _) => format!("HTTP {s} redirect"),
    };
    Some(name)
}

/// Runs one batch under one fault schedule and checks every invariant.
fn check_case(
    template: &State,
    batch: &Batch,
    faults: &Faults,
    counts: &Mutex<Counts>,
) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (records, sent) = build(batch);
        let fake = FakePinterest::start_local().await;
        let ticker = tick(TICK);
        fake.script(faults.script.clone());
        fake.set_default(faults.default.clone());
        for &p in &faults.poisoned {
            if let Some(event) = sent.get(p) {
                fake.reject_event_id(&event.event_id);
            }
        }
        if let Some((calls, secs)) = faults.limit {
            fake.rate_limit(calls, Duration::from_secs(secs));
        }
        let mut state = state_like(template, &fake.base_url());
        state.settings.calls_per_minute = faults.calls_per_minute;
        state.delivery.budget = Arc::new(CallBudget::for_instance(&state.settings));
        let sqs = match &faults.rejected_queue {
            Some(script) => {
                let sqs = FakeSqs::start().await;
                sqs.script(script.clone());
                state.rejected = Some(RejectedQueue::new(
                    crate::support::moto::sqs_client_for(&sqs.uri()),
                    REJECTED_QUEUE_URL.to_owned(),
                ));
                Some(sqs)
            }
            None => None,
        };
        let time_left = Duration::from_secs(faults.time_left_secs);
        let started = Instant::now();
        let invocation = invoke(&state, sqs_event(&records, batch.fifo), time_left).await;
        let took = started.elapsed();
        ticker.abort();
        let requests = fake.requests();
        let stop = started + time_left.saturating_sub(DEADLINE_MARGIN);
        let stored = sqs.as_ref().map(FakeSqs::stored).unwrap_or_default();
        verify(
            batch,
            &records,
            &sent,
            &requests,
            &stored,
            &sqs_answer(&invocation),
            stop,
            counts,
        )?;
        if let Some(sqs) = &sqs {
            let mut counts = counts.lock().expect("counts");
            counts.batches_with_rejected_queue += 1;
            let calls = sqs.calls();
            counts.rejected_queue_calls += calls.len() as u64;
            for call in calls {
                let name = match call {
                    SqsReply::Ok => continue,
                    SqsReply::FailEntries(_) => "entries refused".to_owned(),
                    SqsReply::Status(status) => format!("HTTP {status}"),
                    SqsReply::Reset => "connection reset".to_owned(),
                    SqsReply::Delay(d) if d >= time_left => "stall past the deadline".to_owned(),
                    SqsReply::Delay(_) => "slow answer".to_owned(),
                };
                *counts.rejected_queue_faults.entry(name).or_default() += 1;
            }
        }
        {
            let mut counts = counts.lock().expect("counts");
            counts.rate_limited_cases += u64::from(faults.limit.is_some());
            counts.rate_limited_requests +=
                requests.iter().filter(|r| r.rate_limited).count() as u64;
            counts.budgeted_cases += u64::from(faults.calls_per_minute < 5000);
        }
        prop_assert!(
            took <= time_left.saturating_sub(DEADLINE_MARGIN) + SLACK,
            "answered after {:?} with {:?} left",
            took,
            time_left
        );
        prop_assert_eq!(fake.schema_violations(), Vec::<String>::new());
        prop_assert_eq!(fake.user_data_violations(), Vec::<String>::new());
        Ok(())
    })
}

/// The rejected-events queue's URL in the tests (the fake SQS takes any).
const REJECTED_QUEUE_URL: &str = "http://127.0.0.1:9/123456789012/rejected";

#[allow(clippy::too_many_arguments)]
fn verify(
    batch: &Batch,
    records: &[Record],
    sent: &[Sent],
    requests: &[Recorded],
    stored: &[Stored],
    answer: &SqsAnswer,
    stop: Instant,
    counts: &Mutex<Counts>,
) -> Result<(), TestCaseError> {
    // What Pinterest was told and said, by uid.
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut processed: BTreeSet<String> = BTreeSet::new();
    // The last request holding the event answered `processed` at once, with time to spare: the client must
    // have read that answer (a later request would show that it had not).
    let mut clean: BTreeSet<String> = BTreeSet::new();
    for request in requests {
        for (event, &ok) in request.body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(&request.processed)
        {
            let uid = event["custom_data"]["order_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            seen.insert(uid.clone());
            if ok {
                processed.insert(uid.clone());
            }
            if ok && request.stall.is_zero() && request.clock_at + Duration::from_secs(1) < stop {
                clean.insert(uid);
            } else {
                clean.remove(&uid);
            }
        }
    }
    let sendable: BTreeSet<&str> = sent
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Good | EventKind::DuplicateId))
        .map(|e| e.uid.as_str())
        .collect();
    for uid in &seen {
        prop_assert!(
            sendable.contains(uid.as_str()),
            "Pinterest received event {} which is not a valid mapped event of the input",
            uid
        );
    }

    // What the rejected-events queue holds: rejected events (by uid) and unreadable bodies, nothing else.
    let unreadable: BTreeSet<&str> = batch
        .records
        .iter()
        .zip(records)
        .filter(|(r, _)| matches!(r.body, Body::NotJson | Body::JsonScalar))
        .map(|(_, record)| record.body.as_str())
        .collect();
    let mut queued_uids: BTreeSet<String> = BTreeSet::new();
    let mut queued_bodies: BTreeSet<String> = BTreeSet::new();
    for message in stored {
        let stage = message.body["stage"].as_str().unwrap_or_default();
        prop_assert_eq!(message.stage.as_deref(), Some(stage), "stage attribute");
        prop_assert!(
            message.reason.as_deref().is_some_and(|r| !r.is_empty())
                && message.body["reason"]
                    .as_str()
                    .is_some_and(|r| !r.is_empty()),
            "a message without a reason: {}",
            message.body
        );
        let event = &message.body["event"];
        let uid = event["id"].as_str().or(event.as_str()).unwrap_or_default();
        let kind = sent.iter().find(|e| e.uid == uid).map(|e| e.kind);
        match stage {
            "input" => {
                let body = event.as_str().unwrap_or_default();
                prop_assert!(
                    unreadable.contains(body),
                    "queued body {:?} is not an unreadable body of the input",
                    body
                );
                queued_bodies.insert(body.to_owned());
            }
            "mapping" => {
                prop_assert!(
                    matches!(kind, Some(EventKind::Invalid(_))),
                    "queued at mapping but not an invalid event of the input: {}",
                    message.body
                );
                queued_uids.insert(uid.to_owned());
            }
            "pinterest" => {
                prop_assert!(
                    matches!(kind, Some(EventKind::Good | EventKind::DuplicateId))
                        && seen.contains(uid),
                    "queued as refused by Pinterest but never sent to it: {}",
                    message.body
                );
                queued_uids.insert(uid.to_owned());
            }
            other => prop_assert!(false, "unknown stage {:?}", other),
        }
    }

    let input_ids: BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r.message_id.as_deref())
        .filter(|id| !id.trim().is_empty())
        .collect();
    // Per record: permanently bad (must be listed), fully clean (delivered or skipped), or neither.
    let permanent: Vec<bool> = batch
        .records
        .iter()
        .enumerate()
        .map(|(i, r)| match &r.body {
            Body::NotJson | Body::JsonScalar => true,
            Body::EmptyArray => false,
            Body::Events { .. } => sent
                .iter()
                .any(|e| e.record == i && matches!(e.kind, EventKind::Invalid(_))),
        })
        .collect();
    let events_of = |i: usize| sent.iter().filter(move |e| e.record == i);
    let delivered_or_skipped = |i: usize, set: &BTreeSet<String>| {
        events_of(i).all(|e| e.kind == EventKind::Unmapped || set.contains(&e.uid))
    };

    let listed: Vec<bool> = match answer {
        SqsAnswer::Partial(ids) => {
            let unique: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
            prop_assert_eq!(unique.len(), ids.len(), "an id listed twice: {:?}", ids);
            for id in ids {
                prop_assert!(
                    input_ids.contains(id.as_str()),
                    "unknown or blank id {:?} in batchItemFailures",
                    id
                );
            }
            records
                .iter()
                .map(|r| r.message_id.as_ref().is_some_and(|id| ids.contains(id)))
                .collect()
        }
        SqsAnswer::Error(reason) => {
            // Every record comes back; the error must be one of the two documented ones.
            if reason.contains("failed transiently") {
                for (i, bad) in permanent.iter().enumerate() {
                    // A FIFO record after another of its group may be failed only for following it (its
                    // rejected events may be in the rejected-events queue already: at least once).
                    let follower =
                        batch.fifo && (0..i).any(|j| records[j].group == records[i].group);
                    prop_assert!(
                        !bad || follower,
                        "all-transient error but record {} is permanently bad",
                        i
                    );
                    prop_assert!(
                        follower || !delivered_or_skipped(i, &clean),
                        "all-transient error but record {} was delivered",
                        i
                    );
                }
            } else {
                prop_assert!(
                    reason.contains("has no message id"),
                    "unexpected invocation error {}",
                    reason
                );
                prop_assert!(
                    records.iter().any(|r| r
                        .message_id
                        .as_deref()
                        .is_none_or(|id| id.trim().is_empty())),
                    "no record lacks an id: {}",
                    reason
                );
            }
            vec![true; records.len()]
        }
    };

    let mut followers = 0;
    for (i, record) in records.iter().enumerate() {
        if listed[i] {
            continue;
        }
        // Acknowledged: nothing may be lost. Each event was delivered, skipped or is in the rejected-events
        // queue; an unreadable body is in that queue.
        if matches!(batch.records[i].body, Body::NotJson | Body::JsonScalar) {
            prop_assert!(
                queued_bodies.contains(&record.body),
                "record {} is acknowledged but its unreadable body is not in the rejected-events queue",
                i
            );
        }
        let lost: Vec<&String> = events_of(i)
            .filter(|e| {
                e.kind != EventKind::Unmapped
                    && !processed.contains(&e.uid)
                    && !queued_uids.contains(&e.uid)
            })
            .map(|e| &e.uid)
            .collect();
        prop_assert!(
            lost.is_empty(),
            "record {} ({:?}) is acknowledged but these events were neither delivered nor put in the \
             rejected-events queue: {:?}",
            i,
            batch.records[i].body,
            lost
        );
        if permanent[i] {
            counts
                .lock()
                .expect("counts")
                .records_acknowledged_with_rejections += 1;
        }
        if batch.fifo {
            // No acknowledged record after a failed one of its group.
            let group = &record.group;
            let earlier_failed = (0..i).any(|j| listed[j] && records[j].group == *group);
            prop_assert!(
                !earlier_failed,
                "FIFO: record {} of group {:?} acknowledged after a failed one",
                i,
                group
            );
        }
    }
    if let SqsAnswer::Partial(_) = answer {
        for (i, record) in records.iter().enumerate() {
            if !listed[i] {
                continue;
            }
            // Listed: there must be a reason (nothing is re-sent for nothing).
            let follower =
                batch.fifo && (0..i).any(|j| listed[j] && records[j].group == record.group);
            if follower {
                followers += 1;
            }
            prop_assert!(
                permanent[i] || follower || !delivered_or_skipped(i, &clean),
                "record {} is listed although all its events were delivered or skipped",
                i
            );
        }
    }

    let mut counts = counts.lock().expect("counts");
    counts.batches += 1;
    counts.fifo_batches += u64::from(batch.fifo);
    counts.records += records.len() as u64;
    counts.events += sent.len() as u64;
    for event in sent {
        let kind = match event.kind {
            EventKind::Invalid(why) => format!("invalid ({why:?})"),
            other => format!("{other:?}"),
        };
        *counts.events_by_kind.entry(kind).or_default() += 1;
    }
    counts.unreadable_records += batch
        .records
        .iter()
        .filter(|r| matches!(r.body, Body::NotJson | Body::JsonScalar))
        .count() as u64;
    counts.requests += requests.len() as u64;
    for request in requests.iter().filter(|r| !r.rate_limited) {
        if let Some(name) = fault_name(&request.reply) {
            *counts.faults_injected.entry(name).or_default() += 1;
        }
    }
    let listed_count = listed.iter().filter(|&&l| l).count() as u64;
    match answer {
        SqsAnswer::Partial(_) => {
            counts.records_listed += listed_count;
            counts.records_acknowledged += records.len() as u64 - listed_count;
        }
        SqsAnswer::Error(_) => {
            counts.invocation_errors += 1;
            counts.records_retried_by_error += records.len() as u64;
        }
    }
    counts.fifo_followers_listed += followers;
    counts.events_processed += processed.len() as u64;
    counts.events_in_rejected_queue += queued_uids.len() as u64;
    counts.bodies_in_rejected_queue += queued_bodies.len() as u64;
    Ok(())
}

#[test]
fn no_record_is_lost_under_random_faults() {
    let target: u64 = std::env::var("NO_LOSS_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("NO_LOSS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("no_loss: seed {seed} (NO_LOSS_SEED={seed} replays this run)");
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let counts = Mutex::new(Counts::default());
    let started = std::time::Instant::now();
    // Built as `main` builds it (production back-off, time-outs and margin); each case copies it.
    let template = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(state("http://127.0.0.1:9/v5"));
    while counts.lock().expect("counts").events < target {
        // Rounds of 100 cases until the target number of events is reached.
        let config = Config {
            cases: 100,
            failure_persistence: None,
            ..Config::default()
        };
        let round = counts.lock().expect("counts").batches;
        seed_bytes[8..16].copy_from_slice(&round.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
        let mut runner = TestRunner::new_with_rng(config, rng);
        let result = runner.run(&(batch(), faults()), |(batch, faults)| {
            check_case(&template, &batch, &faults, &counts)
        });
        if let Err(error) = result {
            panic!("no_loss (seed {seed}): {error}");
        }
    }
    let counts = counts.into_inner().expect("counts");
    println!(
        "no_loss: {} events in {} records in {} batches ({} FIFO) checked in {:.1?}",
        counts.events,
        counts.records,
        counts.batches,
        counts.fifo_batches,
        started.elapsed()
    );
    println!("no_loss: events by kind {:?}", counts.events_by_kind);
    println!(
        "no_loss: {} unreadable records; {} requests to Pinterest, {} faults injected: {:?}",
        counts.unreadable_records,
        counts.requests,
        counts.faults_injected.values().sum::<u64>(),
        counts.faults_injected
    );
    println!(
        "no_loss: {} cases behind a rate limit ({} requests answered 429 by it), {} with a small call budget",
        counts.rate_limited_cases, counts.rate_limited_requests, counts.budgeted_cases
    );
    println!(
        "no_loss: records acknowledged {}, listed in batchItemFailures {} (of which FIFO followers {}), \
         returned by an invocation error {} ({} errors); events Pinterest processed {}",
        counts.records_acknowledged,
        counts.records_listed,
        counts.fifo_followers_listed,
        counts.records_retried_by_error,
        counts.invocation_errors,
        counts.events_processed
    );
    println!(
        "no_loss: {} batches with a rejected-events queue, {} calls to it, faults injected: {:?}; events in it \
         {}, unreadable bodies in it {}; records acknowledged although they held a rejected event or an \
         unreadable body {}",
        counts.batches_with_rejected_queue,
        counts.rejected_queue_calls,
        counts.rejected_queue_faults,
        counts.events_in_rejected_queue,
        counts.bodies_in_rejected_queue,
        counts.records_acknowledged_with_rejections
    );
    assert!(counts.events >= target);
    assert!(
        counts.records_acknowledged_with_rejections > 0,
        "no rejected event ever went to the rejected-events queue"
    );
    assert!(
        counts.rate_limited_requests > 0,
        "no request met the rate limit: the rate-limited cases test nothing"
    );
}
