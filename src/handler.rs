//! One Lambda invocation: recognise the event (SQS, REST API v1, HTTP API v2), run its trigger, count.

use crate::event::{self, Value as Event};
use crate::summary::Counters;
use crate::trigger::{State, http, sqs};
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use serde_json::Value;
use tokio::time::Instant;

/// Why an invocation answers with an error (Lambda then retries or reports it).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(
        "unsupported event: expected an SQS batch or an API Gateway proxy request (REST v1 or HTTP v2); {0}"
    )]
    Unsupported(String),
    #[error("malformed {trigger} event: {reason}")]
    Malformed {
        trigger: &'static str,
        reason: String,
    },
    #[error("{0}")]
    RetryAll(String),
}

impl From<HandlerError> for lambda_runtime::Diagnostic {
    fn from(error: HandlerError) -> Self {
        let error_type = match error {
            HandlerError::Unsupported(_) => "UnsupportedEvent",
            HandlerError::Malformed { .. } => "MalformedEvent",
            HandlerError::RetryAll(_) => "BatchRetry",
        };
        Self {
            error_type: error_type.to_string(),
            error_message: error.to_string(),
        }
    }
}

/// What one invocation did.
pub struct Invocation {
    /// `sqs`, `rest_api`, `http_api`, or `unknown`.
    pub trigger: &'static str,
    pub response: Result<Value, HandlerError>,
    pub counters: Counters,
}

/// The API Gateway triggers the function serves (an SQS batch is recognised by the SQS trigger itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    HttpApi,
    RestApi,
}

impl Trigger {
    /// The name in log lines and metrics.
    fn as_str(self) -> &'static str {
        match self {
            Self::HttpApi => "http_api",
            Self::RestApi => "rest_api",
        }
    }
}

/// The name of the SQS trigger in log lines and metrics.
const SQS: &str = "sqs";

/// Which API Gateway trigger sent the event, from its shape.
fn recognise(event: &Event<'_>) -> Option<Trigger> {
    if event.get("version").as_str() == Some("2.0")
        && !event.get("requestContext").get("http").is_null()
    {
        Some(Trigger::HttpApi)
    } else if event
        .as_object()
        .is_some_and(|o| o.get("httpMethod").is_some())
    {
        Some(Trigger::RestApi)
    } else {
        None
    }
}

/// A short description of an event we cannot handle: its record sources, or its top-level keys.
fn describe(event: &Event<'_>) -> String {
    if let Some(records) = event.get("Records").as_array() {
        // Each distinct source once, in first-seen order, at most 10 (a batch may hold thousands of records).
        let mut sources: Vec<&str> = Vec::new();
        for record in records {
            let source = [record.get("eventSource"), record.get("EventSource")]
                .into_iter()
                .find(|source| !source.is_null())
                .and_then(Event::as_str)
                .unwrap_or("unknown");
            if !sources.contains(&source) {
                sources.push(source);
            }
            if sources.len() == 10 {
                break;
            }
        }
        return format!("records from {sources:?}");
    }
    let Some(object) = event.as_object() else {
        return format!("got {}", event::kind(event));
    };
    let keys: Vec<&str> = object.iter().map(|(key, _)| key).take(10).collect();
    format!("top-level keys: {keys:?}")
}

/// An API Gateway request, read from the invocation's text (`event` is its tree); a `body` that is not text (an
/// event pasted in as an object) is named as such.
fn parse<T: serde::de::DeserializeOwned>(
    trigger: &'static str,
    event: &Event<'_>,
    payload: &str,
) -> Result<T, HandlerError> {
    match event.get("body") {
        body if !body.is_string() && !body.is_null() => Err(HandlerError::Malformed {
            trigger,
            reason: format!(
                "body: expected the request body as text (a string), found {}",
                event::kind(body)
            ),
        }),
        _ => serde_json::from_str(payload).map_err(|e| malformed(trigger, e)),
    }
}

fn malformed(trigger: &'static str, error: serde_json::Error) -> HandlerError {
    HandlerError::Malformed {
        trigger,
        reason: error.to_string(),
    }
}

fn to_value<T: serde::Serialize>(response: &T) -> Result<Value, HandlerError> {
    serde_json::to_value(response)
        .map_err(|e| HandlerError::RetryAll(format!("cannot encode the response: {e}")))
}

/// Runs one invocation to its end; `payload` is the invocation's JSON text, as the runtime received it, and
/// `deadline` the Lambda deadline. An SQS batch is read without a tree of the whole text: its records are kept
/// as text and each is parsed once, on the mapping threads, with its body (again only for the rejected-events
/// queue). Any other event is parsed once into a tree that borrows from the text, after the SQS reading has
/// skipped through it.
pub async fn handle(state: &State, payload: &str, deadline: Instant) -> Invocation {
    // A batch with a record not from SQS is described below, from the tree.
    if let Some((reply, counters)) = sqs::handle(state, payload, deadline).await {
        let response = match reply {
            sqs::SqsReply::Partial(response) => to_value(&response),
            sqs::SqsReply::RetryAll(reason) => Err(HandlerError::RetryAll(reason)),
        };
        return Invocation {
            trigger: SQS,
            response,
            counters,
        };
    }
    // What an invocation that reads no event counts.
    let nothing = Counters {
        test_mode: state.settings.test_mode,
        ..Counters::default()
    };
    let unknown = |error| Invocation {
        trigger: "unknown",
        response: Err(error),
        counters: nothing.clone(),
    };
    let event = match event::parse(payload) {
        Ok(event) => event,
        Err(e) => return unknown(HandlerError::Unsupported(format!("not JSON ({e})"))),
    };
    let Some(trigger) = recognise(&event) else {
        return unknown(HandlerError::Unsupported(describe(&event)));
    };
    let (response, counters) = match trigger {
        Trigger::HttpApi => {
            match parse::<ApiGatewayV2httpRequest>(trigger.as_str(), &event, payload) {
                Ok(request) => {
                    let (response, counters) = http::handle_v2(state, &request, deadline).await;
                    (to_value(&response), counters)
                }
                Err(e) => (Err(e), nothing),
            }
        }
        Trigger::RestApi => {
            match parse::<ApiGatewayProxyRequest>(trigger.as_str(), &event, payload) {
                Ok(request) => {
                    let (response, counters) = http::handle_v1(state, &request, deadline).await;
                    (to_value(&response), counters)
                }
                Err(e) => (Err(e), nothing),
            }
        }
    };
    Invocation {
        trigger: trigger.as_str(),
        response,
        counters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The trigger `handle` takes an invocation's text for (`unknown` when none). No event in these texts is
    /// mapped, so nothing is sent.
    async fn trigger_of(text: &str) -> &'static str {
        let settings = crate::config::Settings::from_env(|name| {
            (name == "PINTEREST_AD_ACCOUNT_ID").then(|| "1".to_owned())
        })
        .unwrap();
        let state = State::new(settings).await.unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        handle(&state, text, deadline).await.trigger
    }

    fn describe(event: &Value) -> String {
        let text = event.to_string();
        super::describe(&event::parse(&text).expect("JSON"))
    }

    #[tokio::test]
    async fn recognises_the_three_event_shapes() {
        let of = |event: Value| async move { trigger_of(&event.to_string()).await };
        assert_eq!(
            of(json!({"Records": [{"eventSource": "aws:sqs"}]})).await,
            SQS
        );
        assert_eq!(of(json!({"Records": []})).await, SQS);
        // The records need not come first; of duplicate keys the last counts.
        assert_eq!(
            of(json!({"x": {"Records": 1}, "Records": [{"eventSource": "aws:sqs"}]})).await,
            SQS
        );
        let duplicates = r#"{"Records": [{"eventSource": "aws:s3"}], "Records": [{"eventSource": "aws:s3", "eventSource": "aws:sqs"}]}"#;
        assert_eq!(trigger_of(duplicates).await, SQS);
        let last_s3 = r#"{"Records": [{"eventSource": "aws:sqs", "eventSource": "aws:s3"}]}"#;
        assert_eq!(trigger_of(last_s3).await, "unknown");
        for other in [
            json!({"Records": [{"eventSource": "aws:s3"}]}),
            json!({"Records": [{"eventSource": "aws:sqs"}, {"eventSource": "aws:s3"}]}),
            json!({"Records": [7]}),
            json!({"Records": {"eventSource": "aws:sqs"}}),
            json!({"detail-type": "x"}),
            json!([1]),
        ] {
            assert_eq!(of(other.clone()).await, "unknown", "{other}");
        }
        assert_eq!(
            of(json!({"version": "2.0", "requestContext": {"http": {}}})).await,
            "http_api"
        );
        assert_eq!(of(json!({"httpMethod": "POST"})).await, "rest_api");
    }

    #[test]
    fn an_api_request_whose_body_is_not_text_is_named() {
        let mut event: Value =
            serde_json::from_str(include_str!("../events/apigw-rest.json")).unwrap();
        let text = event.to_string();
        let tree = event::parse(&text).unwrap();
        assert!(parse::<ApiGatewayProxyRequest>("rest_api", &tree, &text).is_ok());
        event["body"] = json!({"event_name": "purchase"});
        let text = event.to_string();
        let tree = event::parse(&text).unwrap();
        let Err(error) = parse::<ApiGatewayProxyRequest>("rest_api", &tree, &text) else {
            panic!("an object body was accepted");
        };
        assert_eq!(
            error.to_string(),
            "malformed rest_api event: body: expected the request body as text (a string), found an object"
        );
    }

    #[test]
    fn unsupported_events_are_described_by_source_or_keys() {
        let s3 = json!({"Records": [{"eventSource": "aws:s3"}, {"eventSource": "aws:s3"}]});
        assert_eq!(describe(&s3), r#"records from ["aws:s3"]"#);
        let sns = json!({"Records": [{"EventSource": "aws:sns"}]});
        assert_eq!(describe(&sns), r#"records from ["aws:sns"]"#);
        // Alternating sources are named once each; a thousand different ones, ten of them.
        let mixed = json!({"Records": [{"eventSource": "aws:s3"}, {"eventSource": "aws:sns"}, {"eventSource": "aws:s3"}]});
        assert_eq!(describe(&mixed), r#"records from ["aws:s3", "aws:sns"]"#);
        let many: Vec<Value> = (0..1000)
            .map(|i| json!({"eventSource": format!("s{i}")}))
            .collect();
        let described = describe(&json!({"Records": many}));
        assert!(described.ends_with(r#""s8", "s9"]"#), "{described}");
        assert_eq!(
            describe(&json!({"detail-type": "x"})),
            r#"top-level keys: ["detail-type"]"#
        );
        assert_eq!(describe(&json!([{"event_name": "x"}])), "got an array");
        assert_eq!(describe(&json!(null)), "got null");
        let diagnostic = lambda_runtime::Diagnostic::from(HandlerError::Unsupported(describe(&s3)));
        assert_eq!(diagnostic.error_type, "UnsupportedEvent");
        assert!(diagnostic.error_message.contains("aws:s3"));
    }
}
