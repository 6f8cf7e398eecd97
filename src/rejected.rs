//! The rejected-events queue: each rejected event of an SQS batch, and each record body that is not an event, as
//! one SQS message (`SendMessageBatch`), so that it is kept without cycling through the source queue.

use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use futures::{StreamExt as _, stream};
use serde::Serialize;
use tokio::sync::OnceCell;
use tokio::time::Instant;

/// Largest message, and largest `SendMessageBatch` call, in bytes (the body plus the attributes' names, types and
/// values): SQS's limit for a queue created with the default `MaximumMessageSize` before 2025, and the smallest
/// a queue can have had since, so the limit holds for any queue.
pub const MAX_BATCH_BYTES: usize = 262_144;
/// Most entries of one `SendMessageBatch` call (SQS's limit).
pub const MAX_ENTRIES: usize = 10;
/// Calls in flight at once.
const CONCURRENT_CALLS: usize = 4;
/// Longest `reason` attribute, in characters (the body keeps the whole reason).
const MAX_REASON_ATTRIBUTE_CHARS: usize = 1024;

/// Where an event was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The record's body is not an event or an array of events.
    Input,
    /// Mapping refused the event (no identity, no `event_id`, ...).
    Mapping,
    /// Pinterest refused the event.
    Pinterest,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Mapping => "mapping",
            Self::Pinterest => "pinterest",
        }
    }
}

/// The SQS record a rejected event comes from.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub message_id: Option<&'a str>,
    pub queue_arn: Option<&'a str>,
}

/// One message for the rejected-events queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The message body: `{"event", "reason", "stage", "source_message_id", "source_queue_arn", "rejected_at"}`.
    pub body: String,
    pub reason: String,
    pub stage: Stage,
    /// The source record's message id, for log lines.
    pub message_id: Option<String>,
}

/// The message's fields after `event`.
#[derive(Serialize)]
struct Envelope<'a> {
    reason: &'a str,
    stage: Stage,
    source_message_id: Option<&'a str>,
    source_queue_arn: Option<&'a str>,
    rejected_at: i64,
}

impl Rejection {
    /// A message for one event; `event` is the event's JSON (for [`Stage::Input`], the body as a JSON string).
    pub fn new(
        event: &str,
        reason: &str,
        stage: Stage,
        source: Source<'_>,
        rejected_at: i64,
    ) -> Self {
        let envelope = Envelope {
            reason,
            stage,
            source_message_id: source.message_id,
            source_queue_arn: source.queue_arn,
            rejected_at,
        };
        // Serialising strings, an enum and a number into a String cannot fail.
        let rest = serde_json::to_string(&envelope).unwrap_or_else(|_| "{}".to_owned());
        let mut body = String::with_capacity(event.len() + rest.len() + 10);
        body.push_str("{\"event\":");
        body.push_str(event);
        body.push(',');
        body.push_str(rest.strip_prefix('{').unwrap_or(&rest));
        Self {
            body,
            reason: crate::text::prefix(reason, MAX_REASON_ATTRIBUTE_CHARS).to_owned(),
            stage,
            message_id: source.message_id.map(str::to_owned),
        }
    }

    /// A message for a record body that is not an event: `event` holds the body as a string.
    pub fn input(body: &str, reason: &str, source: Source<'_>, rejected_at: i64) -> Self {
        let text = serde_json::to_string(body).unwrap_or_else(|_| "\"\"".to_owned());
        Self::new(&text, reason, Stage::Input, source, rejected_at)
    }

    /// What SQS counts against its size limit: the body, and each attribute's name, type and value.
    pub fn size(&self) -> usize {
        let attribute = |name: &str, value: &str| name.len() + "String".len() + value.len();
        self.body.len()
            + attribute("reason", &self.reason)
            + attribute("stage", self.stage.as_str())
    }
}

/// The queue, with its SQS client created on first use.
#[derive(Debug)]
pub struct RejectedQueue {
    url: String,
    client: OnceCell<aws_sdk_sqs::Client>,
}

impl RejectedQueue {
    /// A queue whose client is configured from the environment (the AWS configuration shared with Secrets
    /// Manager) when the first rejected event comes.
    pub fn from_env(url: String) -> Self {
        Self {
            url,
            client: OnceCell::new(),
        }
    }

    /// A queue sent to with this client.
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self {
            url,
            client: OnceCell::from(client),
        }
    }

    async fn client(&self) -> &aws_sdk_sqs::Client {
        self.client
            .get_or_init(|| async { aws_sdk_sqs::Client::new(crate::token::aws_config().await) })
            .await
    }

    /// Sends `rejections` in calls of at most [`MAX_ENTRIES`] messages and [`MAX_BATCH_BYTES`], a few in flight,
    /// none started or still waited for at `stop`. Returns, for each rejection in order, whether SQS took it; a
    /// message too big for SQS is not sent.
    pub async fn send(&self, rejections: &[Rejection], stop: Instant) -> Vec<bool> {
        let mut queued = vec![false; rejections.len()];
        if rejections.is_empty() {
            return queued;
        }
        let mut sendable = Vec::with_capacity(rejections.len());
        for (index, rejection) in rejections.iter().enumerate() {
            if rejection.size() > MAX_BATCH_BYTES {
                tracing::warn!(
                    message_id = rejection.message_id.as_deref(),
                    bytes = rejection.size(),
                    limit = MAX_BATCH_BYTES,
                    "rejected event too big for the rejected-events queue; its record is reported as failed"
                );
            } else {
                sendable.push(index);
            }
        }
        let calls = plan(&sendable, rejections);
        let done: Vec<Vec<(usize, bool)>> = stream::iter(calls)
            .map(|call| self.send_call(call, rejections, stop))
            .buffer_unordered(CONCURRENT_CALLS)
            .collect()
            .await;
        for (index, ok) in done.into_iter().flatten() {
            queued[index] = ok;
        }
        queued
    }

    /// One `SendMessageBatch` call for the rejections at `indices`; whether each was taken.
    async fn send_call(
        &self,
        indices: Vec<usize>,
        rejections: &[Rejection],
        stop: Instant,
    ) -> Vec<(usize, bool)> {
        let failed = |indices: &[usize]| indices.iter().map(|&i| (i, false)).collect::<Vec<_>>();
        if Instant::now() >= stop {
            tracing::warn!(
                messages = indices.len(),
                "rejected events not sent to their queue: the Lambda deadline is too near; their records are \
                 reported as failed"
            );
            return failed(&indices);
        }
        let mut entries = Vec::with_capacity(indices.len());
        for (position, &index) in indices.iter().enumerate() {
            match entry(position, &rejections[index]) {
                Some(entry) => entries.push(entry),
                None => return failed(&indices),
            }
        }
        let call = async {
            self.client()
                .await
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
        };
        let output = match tokio::time::timeout_at(stop, call).await {
            Ok(Ok(output)) => output,
            Ok(Err(error)) => {
                tracing::error!(
                    messages = indices.len(),
                    reason = %crate::token::error_chain(&error),
                    "rejected-events queue unavailable; their records are reported as failed"
                );
                return failed(&indices);
            }
            Err(_) => {
                tracing::warn!(
                    messages = indices.len(),
                    "rejected-events queue did not answer before the Lambda deadline; their records are \
                     reported as failed"
                );
                return failed(&indices);
            }
        };
        let taken: Vec<usize> = output
            .successful()
            .iter()
            .filter_map(|ok| ok.id().parse::<usize>().ok())
            .collect();
        for refused in output.failed() {
            let message_id = refused
                .id()
                .parse::<usize>()
                .ok()
                .and_then(|position| indices.get(position))
                .and_then(|&index| rejections[index].message_id.as_deref());
            tracing::warn!(
                message_id,
                code = refused.code(),
                sender_fault = refused.sender_fault(),
                "the rejected-events queue refused a message; its record is reported as failed"
            );
        }
        indices
            .iter()
            .enumerate()
            .map(|(position, &index)| (index, taken.contains(&position)))
            .collect()
    }
}

/// The `SendMessageBatch` entry of one rejection; its id is its position in the call.
fn entry(position: usize, rejection: &Rejection) -> Option<SendMessageBatchRequestEntry> {
    let text = |value: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .ok()
    };
    SendMessageBatchRequestEntry::builder()
        .id(position.to_string())
        .message_body(&rejection.body)
        .message_attributes("reason", text(&rejection.reason)?)
        .message_attributes("stage", text(rejection.stage.as_str())?)
        .build()
        .ok()
}

/// The calls for the rejections at `indices`, in order: at most [`MAX_ENTRIES`] each, and at most
/// [`MAX_BATCH_BYTES`] together (each one alone is within it).
fn plan(indices: &[usize], rejections: &[Rejection]) -> Vec<Vec<usize>> {
    let mut calls: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0;
    for &index in indices {
        let size = rejections[index].size();
        match calls.last_mut() {
            Some(call) if call.len() < MAX_ENTRIES && bytes + size <= MAX_BATCH_BYTES => {
                call.push(index);
                bytes += size;
            }
            _ => {
                calls.push(vec![index]);
                bytes = size;
            }
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const SOURCE: Source<'static> = Source {
        message_id: Some("m-1"),
        queue_arn: Some("arn:aws:sqs:eu-west-1:123456789012:events"),
    };

    #[test]
    fn a_message_holds_the_event_as_received_and_where_it_comes_from() {
        let event = r#"{"event_name":"purchase","value":19.90}"#;
        let rejection = Rejection::new(event, "no identity", Stage::Mapping, SOURCE, 1_800_000_000);
        assert!(
            rejection
                .body
                .starts_with(r#"{"event":{"event_name":"purchase","value":19.90},"#)
        );
        let body: Value = serde_json::from_str(&rejection.body).unwrap();
        assert_eq!(
            body,
            json!({"event": {"event_name": "purchase", "value": 19.9}, "reason": "no identity",
                   "stage": "mapping", "source_message_id": "m-1",
                   "source_queue_arn": "arn:aws:sqs:eu-west-1:123456789012:events", "rejected_at": 1_800_000_000})
        );
        let input = Rejection::input("not \"json\" {", "body: not JSON", SOURCE, 1);
        let body: Value = serde_json::from_str(&input.body).unwrap();
        assert_eq!(body["event"], "not \"json\" {");
        assert_eq!(body["stage"], "input");
        let anonymous = Source {
            message_id: None,
            queue_arn: None,
        };
        let body: Value =
            serde_json::from_str(&Rejection::new("{}", "r", Stage::Pinterest, anonymous, 1).body)
                .unwrap();
        assert_eq!(body["source_message_id"], Value::Null);
        assert_eq!(body["stage"], "pinterest");
    }

    #[test]
    fn the_size_counts_the_body_and_the_attributes_and_the_reason_attribute_is_cut() {
        let rejection = Rejection::new("{}", "why", Stage::Input, SOURCE, 1);
        assert_eq!(
            rejection.size(),
            rejection.body.len() + "reasonStringwhy".len() + "stageStringinput".len()
        );
        let long = "é".repeat(5000);
        let rejection = Rejection::new("{}", &long, Stage::Pinterest, SOURCE, 1);
        assert_eq!(rejection.reason.chars().count(), MAX_REASON_ATTRIBUTE_CHARS);
        assert!(rejection.body.contains(&long));
    }

    #[test]
    fn calls_hold_at_most_ten_messages_within_the_size_limit_in_order() {
        let of_size = |bytes: usize| {
            let mut rejection = Rejection::new("{}", "r", Stage::Mapping, SOURCE, 1);
            let padding = bytes - rejection.size();
            rejection.body.push_str(&" ".repeat(padding));
            assert_eq!(rejection.size(), bytes);
            rejection
        };
        let small: Vec<Rejection> = (0..25).map(|_| of_size(200)).collect();
        let all: Vec<usize> = (0..25).collect();
        let calls = plan(&all, &small);
        assert_eq!(calls.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert_eq!(calls.concat(), all);
        let big: Vec<Rejection> = [100_000, 100_000, 62_144, 300, MAX_BATCH_BYTES, 300]
            .into_iter()
            .map(of_size)
            .collect();
        let calls = plan(&(0..6).collect::<Vec<_>>(), &big);
        assert_eq!(calls, [vec![0, 1, 2], vec![3], vec![4], vec![5]]);
        for call in &calls {
            assert!(call.iter().map(|&i| big[i].size()).sum::<usize>() <= MAX_BATCH_BYTES);
        }
    }

    #[test]
    fn entries_carry_the_reason_and_the_stage_as_attributes() {
        let rejection = Rejection::new("{}", "HTTP 400", Stage::Pinterest, SOURCE, 1);
        let entry = entry(3, &rejection).unwrap();
        assert_eq!(entry.id(), "3");
        assert_eq!(entry.message_body(), rejection.body);
        let attributes = entry.message_attributes().unwrap();
        assert_eq!(attributes["reason"].string_value(), Some("HTTP 400"));
        assert_eq!(attributes["stage"].string_value(), Some("pinterest"));
        assert_eq!(attributes["stage"].data_type(), "String");
    }
}
