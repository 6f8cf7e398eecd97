//! SQS trigger: each record's body is decoded on its own; failed records are reported by message id.

use super::{Batch, EventResult, State, Status};
use crate::summary::Counters;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::Value;
use std::collections::HashSet;
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

/// Why a record failed, for the log.
enum RecordFailure {
    Unreadable,
    Events { transient: bool },
    FifoGroup,
}

/// A record's body: one event or an array of events.
fn decode_body(body: Option<&str>) -> Result<Vec<Value>, String> {
    let body = body
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or("body: empty")?;
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(events)) => Ok(events),
        Ok(event @ Value::Object(_)) => Ok(vec![event]),
        Ok(_) => Err("body: expected an event object or an array of events".to_string()),
        Err(e) => Err(format!("body: not JSON ({e})")),
    }
}

/// Handles one SQS batch.
pub async fn handle(
    state: &State,
    batch: &SqsEvent,
    deadline: Instant,
    counters: &mut Counters,
) -> SqsReply {
    let now = super::unix_now();
    counters.records = batch.records.len() as u64;
    // Each record's events are mapped as soon as its body is decoded, and dropped then: a decoded event takes
    // several times its JSON's size, so the batch never holds more than one record's decoded events.
    let mut mapped = Batch::default();
    let bodies: Vec<Result<usize, String>> = batch
        .records
        .iter()
        .map(|record| {
            decode_body(record.body.as_deref()).map(|events| {
                for event in &events {
                    mapped.map(state, event, now);
                }
                events.len()
            })
        })
        .collect();

    // One delivery for the whole batch, so requests are as full as they can be.
    let results = mapped.deliver(state, deadline, counters).await;

    let mut results = results.into_iter();
    let mut failures: Vec<(usize, RecordFailure)> = Vec::new();
    for (index, (record, body)) in batch.records.iter().zip(&bodies).enumerate() {
        let id = message_id(record).unwrap_or("-");
        match body {
            Err(reason) => {
                tracing::warn!(message_id = id, "record failed: {reason}");
                failures.push((index, RecordFailure::Unreadable));
            }
            Ok(events) => {
                let own: Vec<EventResult> = results.by_ref().take(*events).collect();
                if *events == 0 {
                    tracing::warn!(
                        message_id = id,
                        "record holds an empty array: nothing to send"
                    );
                }
                let failed = own.iter().any(|r| r.status == Status::Failed);
                let rejected = own.iter().any(|r| r.status == Status::Rejected);
                if failed || rejected {
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
    counters.records_failed = failures.len() as u64;

    let all_transient = !batch.records.is_empty()
        && failures.len() == batch.records.len()
        && failures.iter().all(|(_, f)| {
            matches!(
                f,
                RecordFailure::Events { transient: true } | RecordFailure::FifoGroup
            )
        });
    if all_transient {
        return SqsReply::RetryAll(format!(
            "all {} records failed transiently; the batch goes back to the queue",
            batch.records.len()
        ));
    }

    let mut response = SqsBatchResponse::default();
    for (index, failure) in &failures {
        let record = &batch.records[*index];
        let Some(id) = message_id(record) else {
            return SqsReply::RetryAll(format!(
                "record {index} failed but has no message id to report; the batch goes back to the queue"
            ));
        };
        if let RecordFailure::FifoGroup = failure {
            tracing::warn!(
                message_id = id,
                "record failed: an earlier record of its FIFO group failed"
            );
        }
        response.add_failure(id.to_string());
    }
    SqsReply::Partial(response)
}

/// The record's message id, when it has a non-blank one.
fn message_id(record: &SqsMessage) -> Option<&str> {
    record
        .message_id
        .as_deref()
        .filter(|id| !id.trim().is_empty())
}

/// A FIFO queue's ARN ends in `.fifo`.
fn is_fifo(batch: &SqsEvent) -> bool {
    batch.records.iter().any(|r| {
        r.event_source_arn
            .as_deref()
            .is_some_and(|arn| arn.ends_with(".fifo"))
    })
}

/// On FIFO queues a failed record fails every later record of its message group (order is kept).
fn add_fifo_followers(batch: &SqsEvent, failures: &mut Vec<(usize, RecordFailure)>) {
    let mut failed: HashSet<usize> = failures.iter().map(|(i, _)| *i).collect();
    let mut failed_groups: HashSet<Option<&str>> = HashSet::new();
    for (index, record) in batch.records.iter().enumerate() {
        let group = record.attributes.get("MessageGroupId").map(String::as_str);
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

    #[test]
    fn bodies_are_an_object_or_an_array() {
        assert_eq!(decode_body(Some(r#"{"a":1}"#)).map(|v| v.len()), Ok(1));
        assert_eq!(
            decode_body(Some(r#" [{"a":1},{"b":2}] "#)).map(|v| v.len()),
            Ok(2)
        );
        assert_eq!(decode_body(Some("[]")).map(|v| v.len()), Ok(0));
        assert_eq!(decode_body(None), Err("body: empty".to_string()));
        assert_eq!(decode_body(Some("  ")), Err("body: empty".to_string()));
        assert!(
            decode_body(Some("42"))
                .unwrap_err()
                .contains("expected an event object")
        );
        assert!(
            decode_body(Some("{oops"))
                .unwrap_err()
                .starts_with("body: not JSON")
        );
    }

    fn record(id: &str, group: &str) -> SqsMessage {
        let mut r = SqsMessage::default();
        r.message_id = Some(id.to_string());
        r.event_source_arn = Some("arn:aws:sqs:eu-west-1:1:q.fifo".into());
        r.attributes.insert("MessageGroupId".into(), group.into());
        r
    }

    #[test]
    fn fifo_failure_fails_later_records_of_its_group_only() {
        let mut batch = SqsEvent::default();
        batch.records = vec![
            record("a1", "A"),
            record("b1", "B"),
            record("a2", "A"),
            record("b2", "B"),
            record("a3", "A"),
        ];
        assert!(is_fifo(&batch));
        let mut failures = vec![(0, RecordFailure::Events { transient: false })];
        add_fifo_followers(&batch, &mut failures);
        let ids: Vec<usize> = failures.iter().map(|(i, _)| *i).collect();
        assert_eq!(ids, [0, 2, 4]);
    }
}
