//! Per-invocation counters, the one summary log line, and the CloudWatch Embedded Metric Format document.

use crate::fate::Tally;
use serde_json::{Value, json};

/// The requests one invocation made to Pinterest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Requests {
    /// HTTP attempts made.
    pub sent: u64,
    /// Attempts that re-sent a request already sent (after a transient error or a 401).
    pub retries: u64,
    /// Answers refusing the credentials: 401 after the token was re-read, or 403.
    pub auth_failures: u64,
}

/// What one invocation did, computed from what its trigger reports: its records, the fates of its events, its
/// requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub records: u64,
    pub records_failed: u64,
    /// How many events met each fate.
    pub events: Tally,
    pub requests: Requests,
    /// Rejected events written to the rejected-events queue.
    pub rejected_queued: u64,
    /// `PINTEREST_TEST_MODE`: Pinterest does not record the events.
    pub test_mode: bool,
}

impl Counters {
    /// Emits the invocation's summary line: INFO, or WARN when an event was rejected or failed or a record
    /// failed, so that a function logging at WARN still says which invocations had trouble.
    pub fn log(&self, trigger: &str, duration_ms: u64, cold_start: bool) {
        macro_rules! summary {
            ($level:expr) => {
                tracing::event!(
                    $level,
                    trigger,
                    records = self.records,
                    records_failed = self.records_failed,
                    events_received = self.events.events(),
                    delivered = self.events.delivered,
                    skipped = self.events.skipped,
                    filtered = self.events.filtered,
                    rejected = self.events.rejected,
                    failed = self.events.failed,
                    requests = self.requests.sent,
                    retries = self.requests.retries,
                    rejected_queued = self.rejected_queued,
                    auth_failures = self.requests.auth_failures,
                    test_mode = self.test_mode,
                    duration_ms,
                    cold_start,
                    "invocation summary"
                )
            };
        }
        if self.had_trouble() {
            summary!(tracing::Level::WARN);
        } else {
            summary!(tracing::Level::INFO);
        }
    }

    /// Whether an event was rejected or failed, or a record failed.
    pub fn had_trouble(&self) -> bool {
        self.events.rejected + self.events.failed + self.records_failed > 0
    }

    /// One EMF document (print it alone on a stdout line; CloudWatch turns it into metrics). `level` is the
    /// line's log level for Lambda's log-level filter ([`crate::logging::metrics_level`]).
    pub fn emf(
        &self,
        namespace: &str,
        trigger: &str,
        timestamp_ms: u64,
        duration_ms: u64,
        level: &str,
    ) -> Value {
        let counts = [
            ("Records", self.records),
            ("RecordsFailed", self.records_failed),
            ("EventsReceived", self.events.events()),
            ("EventsDelivered", self.events.delivered),
            ("EventsSkipped", self.events.skipped),
            ("EventsFiltered", self.events.filtered),
            ("EventsRejected", self.events.rejected),
            ("EventsFailed", self.events.failed),
            ("Requests", self.requests.sent),
            ("Retries", self.requests.retries),
            ("EventsRejectedQueued", self.rejected_queued),
            ("AuthFailures", self.requests.auth_failures),
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
            "level": level,
            "Trigger": trigger,
            "Duration": duration_ms,
            // A property, not a metric: it says which documents counted test requests.
            "test_mode": self.test_mode
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
    use crate::config::Settings;
    use crate::fate::Fate;
    use crate::handler;
    use crate::trigger::State;
    use std::collections::HashSet;
    use std::time::Duration;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, Request, ResponseTemplate};

    /// CloudWatch's units for EMF metrics.
    const UNITS: &[&str] = &[
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    ];

    /// Checks `doc` against the CloudWatch Embedded Metric Format specification: `_aws.Timestamp` an integer in
    /// epoch milliseconds; `_aws.CloudWatchMetrics` a non-empty array of directives, each with a `Namespace`
    /// string, `Dimensions` an array of dimension sets (arrays of at most 30 strings) and `Metrics` an array of
    /// at most 100 `{Name, Unit}` with unique names and a known unit; every metric a number at the root (or an
    /// array of at most 100 numbers); every dimension a string at the root.
    fn emf_errors(doc: &Value) -> Vec<String> {
        let mut errors = Vec::new();
        let mut check = |ok: bool, what: String| {
            if !ok {
                errors.push(what);
            }
        };
        let aws = &doc["_aws"];
        check(aws.is_object(), "_aws is not an object".into());
        check(
            aws["Timestamp"]
                .as_u64()
                .is_some_and(|t| t > 1_000_000_000_000),
            "_aws.Timestamp is not an integer of epoch milliseconds".into(),
        );
        let directives = aws["CloudWatchMetrics"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        check(
            !directives.is_empty(),
            "_aws.CloudWatchMetrics is empty".into(),
        );
        for (i, directive) in directives.iter().enumerate() {
            let namespace = directive["Namespace"].as_str().unwrap_or_default();
            check(
                !namespace.is_empty() && namespace.len() <= 255,
                format!("directive {i}: Namespace must be a string of 1 to 255 characters"),
            );
            let sets = directive["Dimensions"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            check(
                directive["Dimensions"].is_array(),
                format!("directive {i}: Dimensions is not an array"),
            );
            for set in &sets {
                let keys = set.as_array().cloned().unwrap_or_default();
                check(
                    set.is_array() && keys.len() <= 30,
                    format!("directive {i}: a dimension set is not an array of at most 30"),
                );
                for key in keys {
                    let name = key.as_str().unwrap_or_default();
                    check(
                        doc[name].as_str().is_some_and(|v| !v.is_empty()),
                        format!("dimension {name:?} has no string value at the root"),
                    );
                }
            }
            let metrics = directive["Metrics"].as_array().cloned().unwrap_or_default();
            check(
                !metrics.is_empty() && metrics.len() <= 100,
                format!("directive {i}: Metrics must hold 1 to 100 metrics"),
            );
            let mut names = HashSet::new();
            for metric in metrics {
                let name = metric["Name"].as_str().unwrap_or_default();
                check(
                    !name.is_empty() && name.len() <= 255 && names.insert(name.to_owned()),
                    format!("metric name {name:?} is empty, too long or repeated"),
                );
                check(
                    metric["Unit"]
                        .as_str()
                        .is_none_or(|unit| UNITS.contains(&unit)),
                    format!("metric {name}: unknown unit {}", metric["Unit"]),
                );
                let value = &doc[name];
                let numbers = value
                    .as_array()
                    .is_some_and(|v| v.len() <= 100 && v.iter().all(Value::is_number));
                check(
                    value.is_number() || numbers,
                    format!("metric {name} has no numeric value at the root"),
                );
            }
        }
        errors
    }

    #[test]
    fn emf_validator_catches_broken_documents() {
        let good = Counters::default().emf("Ns", "sqs", 1_700_000_000_000, 1, "INFO");
        assert_eq!(emf_errors(&good), Vec::<String>::new());
        let mut no_value = good.clone();
        no_value["EventsFailed"] = json!("3");
        let mut no_dimension = good.clone();
        no_dimension["Trigger"] = Value::Null;
        let mut seconds = good.clone();
        seconds["_aws"]["Timestamp"] = json!(1_700_000_000);
        let mut unit = good.clone();
        unit["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Things");
        for broken in [no_value, no_dimension, seconds, unit] {
            assert!(!emf_errors(&broken).is_empty(), "{broken}");
        }
    }

    /// A Pinterest answer per request: `503` when it holds the event `transient`, otherwise `200` with the
    /// event `refused` marked failed and the others processed.
    fn pinterest(request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
        let ids: Vec<&str> = body["data"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .filter_map(|e| e["event_id"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        if ids.contains(&"transient") {
            return ResponseTemplate::new(503).set_body_json(json!({"code": 1, "message": "busy"}));
        }
        let events: Vec<Value> = ids
            .iter()
            .map(|&id| match id {
                "refused" => json!({"status": "failed", "error_message": "bad event", "warning_message": null}),
                _ => json!({"status": "processed", "error_message": null, "warning_message": null}),
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({
            "num_events_received": events.len(),
            "num_events_processed": ids.iter().filter(|&&id| id != "refused").count(),
            "events": events,
        }))
    }

    fn event(name: &str, id: &str) -> Value {
        // A long user agent, so that with 1 KiB requests every event goes in a request of its own.
        json!({
            "event_name": name,
            "context": {"event_id": id, "device": {"ip": "203.0.113.9", "user_agent": "UA/1.0 ".repeat(80)}}
        })
    }

    fn record(id: &str, body: String) -> Value {
        json!({
            "messageId": id,
            "body": body,
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
            "attributes": {},
            "messageAttributes": {}
        })
    }

    #[tokio::test]
    async fn emf_is_valid_and_counts_what_a_real_invocation_did() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(pinterest)
            .mount(&server)
            .await;
        let base_url = format!("{}/v5", server.uri());
        let settings = Settings::from_env(|name| {
            Some(match name {
                "PINTEREST_AD_ACCOUNT_ID" => "549755885175".to_owned(),
                "PINTEREST_ACCESS_TOKEN" => "pina_test".to_owned(),
                "PINTEREST_API_BASE_URL" => base_url.clone(),
                "PINTEREST_METRICS_NAMESPACE" => "Test/Pinterest".to_owned(),
                _ => return None,
            })
        })
        .unwrap();
        let mut state = State::new(settings).await.unwrap();
        state.delivery.max_body_bytes = 1024;
        let no_identity = json!({"event_name": "purchase", "context": {"event_id": "no-identity"}});
        let sqs = json!({"Records": [
            record("r-delivered", event("purchase", "ok-1").to_string()),
            record("r-delivered-and-skipped", json!([event("page_view", "ok-2"), event("unknown_name", "skip")]).to_string()),
            record("r-rejected", no_identity.to_string()),
            record("r-refused", event("purchase", "refused").to_string()),
            record("r-unreadable", "not json".to_owned()),
            record("r-transient", event("purchase", "transient").to_string()),
        ]});
        // Retries of the 503 stop 1.5 s (the deadline margin) before the deadline.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1900);

        let invocation = handler::handle(&state, &sqs.to_string(), deadline).await;
        let doc = invocation.counters.emf(
            &state.settings.metrics_namespace,
            invocation.trigger,
            1_795_983_300_000,
            42,
            "WARN",
        );
        assert!(invocation.counters.had_trouble());
        assert_eq!(doc["level"], "WARN");

        assert_eq!(emf_errors(&doc), Vec::<String>::new(), "{doc:#}");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Test/Pinterest"
        );
        assert_eq!(doc["Trigger"], "sqs");
        assert_eq!(doc["Duration"], 42);
        // What the invocation did, event by event.
        assert_eq!(doc["Records"], 6);
        assert_eq!(doc["EventsReceived"], 6);
        assert_eq!(doc["EventsDelivered"], 2);
        assert_eq!(doc["EventsSkipped"], 1);
        assert_eq!(
            doc["EventsRejected"], 2,
            "no identity, and refused by Pinterest"
        );
        assert_eq!(doc["EventsFailed"], 1);
        // The same counts, seen from the SQS response and from the fake Pinterest.
        let response = invocation.response.unwrap();
        let failed: Vec<&str> = response["batchItemFailures"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["itemIdentifier"].as_str())
            .collect();
        assert_eq!(
            failed,
            ["r-rejected", "r-refused", "r-unreadable", "r-transient"]
        );
        assert_eq!(doc["RecordsFailed"], failed.len());
        let received = server.received_requests().await.unwrap();
        assert_eq!(doc["Requests"], received.len());
        // One request per sent event (ok-1, ok-2, refused, transient); every other request re-sent `transient`.
        assert_eq!(doc["Retries"], received.len() - 4);
        assert!(doc["Retries"].as_u64().unwrap() >= 1);
        let counts = [
            "EventsDelivered",
            "EventsSkipped",
            "EventsRejected",
            "EventsFailed",
        ]
        .map(|name| doc[name].as_u64().unwrap());
        assert_eq!(
            counts.iter().sum::<u64>(),
            doc["EventsReceived"].as_u64().unwrap()
        );
    }

    #[test]
    fn emf_document_declares_every_metric_it_carries() {
        let fates = [
            Fate::Delivered,
            Fate::Delivered,
            Fate::Skipped("s".into()),
            Fate::Rejected("r".into()),
            Fate::Failed("f".into()),
        ];
        let c = Counters {
            records: 3,
            events: Tally::of(&fates),
            ..Counters::default()
        };
        let doc = c.emf("Ns", "sqs", 1_700_000_000_000, 12, "INFO");
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
        assert_eq!(doc["test_mode"], false);
    }

    #[test]
    fn emf_carries_the_queue_and_auth_metrics_and_test_mode_as_a_property() {
        let counters = Counters {
            rejected_queued: 3,
            requests: Requests {
                auth_failures: 2,
                ..Requests::default()
            },
            test_mode: true,
            ..Counters::default()
        };
        let doc = counters.emf("Ns", "sqs", 1_700_000_000_000, 1, "INFO");
        assert_eq!(emf_errors(&doc), Vec::<String>::new());
        assert_eq!(doc["EventsRejectedQueued"], 3);
        assert_eq!(doc["AuthFailures"], 2);
        assert_eq!(doc["test_mode"], true);
        let declared: Vec<&str> = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert!(declared.contains(&"EventsRejectedQueued") && declared.contains(&"AuthFailures"));
        assert!(!declared.contains(&"test_mode"));
    }
}
