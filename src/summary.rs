//! Per-invocation counters, the one summary log line, and the CloudWatch Embedded Metric Format document.

use crate::trigger::Status;
use serde_json::{Value, json};

/// What one invocation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub records: u64,
    pub records_failed: u64,
    pub received: u64,
    pub delivered: u64,
    pub skipped: u64,
    pub rejected: u64,
    pub failed: u64,
    pub requests: u64,
    pub retries: u64,
}

impl Counters {
    /// Counts one event's final status.
    pub fn count(&mut self, status: Status) {
        self.received += 1;
        match status {
            Status::Delivered => self.delivered += 1,
            Status::Skipped => self.skipped += 1,
            Status::Rejected => self.rejected += 1,
            Status::Failed => self.failed += 1,
        }
    }

    /// Emits the invocation's summary line.
    pub fn log(&self, trigger: &str, duration_ms: u64, cold_start: bool) {
        tracing::info!(
            trigger,
            records = self.records,
            records_failed = self.records_failed,
            events_received = self.received,
            delivered = self.delivered,
            skipped = self.skipped,
            rejected = self.rejected,
            failed = self.failed,
            requests = self.requests,
            retries = self.retries,
            duration_ms,
            cold_start,
            "invocation summary"
        );
    }

    /// One EMF document (print it alone on a stdout line; CloudWatch turns it into metrics).
    pub fn emf(
        &self,
        namespace: &str,
        trigger: &str,
        timestamp_ms: u64,
        duration_ms: u64,
    ) -> Value {
        let counts = [
            ("Records", self.records),
            ("RecordsFailed", self.records_failed),
            ("EventsReceived", self.received),
            ("EventsDelivered", self.delivered),
            ("EventsSkipped", self.skipped),
            ("EventsRejected", self.rejected),
            ("EventsFailed", self.failed),
            ("Requests", self.requests),
            ("Retries", self.retries),
        ];
        let mut metrics: Vec<Value> = counts
            .iter()
            .map(|(name, _)| json!({"Name": name, "Unit": "Count"}))
            .collect();
        metrics.push(json!({"Name": "Duration", "Unit": "Milliseconds"}));
        let mut document = json!({
            "_aws": {
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [["Trigger"]],
                    "Metrics": metrics
                }]
            },
            "Trigger": trigger,
            "Duration": duration_ms
        });
        for (name, value) in counts {
            document[name] = json!(value);
        }
        document
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_document_declares_every_metric_it_carries() {
        let mut c = Counters {
            records: 3,
            ..Counters::default()
        };
        for s in [
            Status::Delivered,
            Status::Delivered,
            Status::Skipped,
            Status::Rejected,
            Status::Failed,
        ] {
            c.count(s);
        }
        let doc = c.emf("Ns", "sqs", 1_700_000_000_000, 12);
        let declared = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(declared["Namespace"], "Ns");
        assert_eq!(declared["Dimensions"], json!([["Trigger"]]));
        for metric in declared["Metrics"].as_array().unwrap() {
            let name = metric["Name"].as_str().unwrap();
            assert!(doc[name].is_u64(), "{name} has no value");
        }
        assert_eq!(doc["Trigger"], "sqs");
        assert_eq!(doc["EventsReceived"], 5);
        assert_eq!(doc["EventsDelivered"], 2);
        assert_eq!(doc["EventsSkipped"], 1);
        assert_eq!(doc["EventsRejected"], 1);
        assert_eq!(doc["EventsFailed"], 1);
    }
}
