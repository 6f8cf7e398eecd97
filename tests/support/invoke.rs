//! In-process invocations: settings and `State` as `main` builds them, Lambda events (SQS standard and FIFO,
//! REST API v1, HTTP API v2) built around Commanders Act bodies, and readers for what `handler::handle` answers.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use pinterest_destination::budget::CallBudget;
use pinterest_destination::config::Settings;
use pinterest_destination::delivery::DeliveryConfig;
use pinterest_destination::handler::{self, Invocation};
use pinterest_destination::token::{AccessToken, SecretsManagerToken, StaticToken, TokenProvider};
use pinterest_destination::trigger::{Sender, State};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::fake_pinterest::{AD_ACCOUNT_ID, TOKEN};

/// The person in every good event: each value below must never reach a log line, and only the IP (sent raw,
/// as Pinterest asks) may reach Pinterest in clear.
pub mod person {
    pub const EMAIL: &str = "Zebulon.Quixotewright@Example.ORG";
    pub const PHONE: &str = "+44 7700 900123";
    pub const FIRST_NAME: &str = "Zebulon";
    pub const LAST_NAME: &str = "Quixotewright";
    pub const BIRTH_DATE: &str = "1987-11-23";
    pub const CITY: &str = "Llanfairpwllgwyngyll";
    pub const POSTCODE: &str = "SW1A 2AA";
    pub const IP: &str = "203.0.113.77";
    pub const CUSTOMER_ID: &str = "CUST-7781-QX";
    pub const ADVERTISING_ID: &str = "38400000-8cf0-11bd-b23e-10b96e40000d";

    /// Every form of the personal data that must never be logged: as given and as normalised before hashing.
    pub const IN_CLEAR: [&str; 17] = [
        EMAIL,
        "zebulon.quixotewright@example.org",
        PHONE,
        "447700900123",
        "7700900123",
        "7700 900123",
        FIRST_NAME,
        LAST_NAME,
        BIRTH_DATE,
        "19871123",
        CITY,
        POSTCODE,
        "sw1a2aa",
        IP,
        CUSTOMER_ID,
        ADVERTISING_ID,
        "Quixotewright@",
    ];
}

/// Unix milliseconds now (real clock: mapping compares event times with the real clock).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A purchase carrying the whole [`person`]; `uid` goes to `id` (→ `custom_data.order_id`), so that a test can
/// tell events with the same `event_id` apart in what Pinterest received.
pub fn good_event(event_id: &str, uid: &str) -> Value {
    json!({
        "event_name": "purchase",
        "id": uid,
        "value": "59.90",
        "currency": "eur",
        "items": [{"id": "SKU-1", "quantity": 2, "product": {"price": 29.95, "name": "Shirt"}}],
        "user": {
            "id": person::CUSTOMER_ID,
            "email": person::EMAIL,
            "phone": person::PHONE,
            "firstname": person::FIRST_NAME,
            "lastname": person::LAST_NAME,
            "birthdate": person::BIRTH_DATE,
            "gender": "male",
            "city": person::CITY,
            "zipcode": person::POSTCODE,
            "country": "GB"
        },
        "context": {
            "event_id": event_id,
            "event_timestamp": now_ms(),
            "page": {"url": "https://shop.example.com/checkout/done?epik=clk-1"},
            "device": {
                "ip": person::IP,
                "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Test/1.0",
                "lang": "en-GB",
                "advertising_id": person::ADVERTISING_ID
            }
        }
    })
}

/// An event whose name has no Pinterest mapping: skipped.
pub fn unmapped_event(event_id: &str) -> Value {
    json!({
        "event_name": "newsletter_optin_custom",
        "user": {"email": person::EMAIL},
        "context": {"event_id": event_id}
    })
}

/// Settings as `main` reads them, from these variables (the advertiser id is always set).
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    env.entry("PINTEREST_AD_ACCOUNT_ID".into())
        .or_insert_with(|| AD_ACCOUNT_ID.to_owned());
    Settings::from_env(move |name| env.get(name).cloned()).expect("valid test settings")
}

/// The state `main` builds, sending to `base_url` with the fake's token.
pub async fn state(base_url: &str) -> State {
    state_with(&[
        ("PINTEREST_API_BASE_URL", base_url),
        ("PINTEREST_ACCESS_TOKEN", TOKEN),
    ])
    .await
}

pub async fn state_with(vars: &[(&str, &str)]) -> State {
    State::new(settings(vars)).await.expect("state")
}

/// The state `main` builds with `PINTEREST_TOKEN_SECRET_ID`, whose Secrets Manager client is then pointed at
/// `client` (moto, or an unreachable endpoint). `State::new` reads the AWS endpoint from the process
/// environment, which tests running in parallel cannot each set.
pub async fn state_with_secret(
    base_url: &str,
    secret_id: &str,
    client: aws_sdk_secretsmanager::Client,
) -> State {
    let mut state = state_with(&[
        ("PINTEREST_API_BASE_URL", base_url),
        ("PINTEREST_TOKEN_SECRET_ID", secret_id),
    ])
    .await;
    state.sender = Sender::Pinterest(TokenProvider::SecretsManager(SecretsManagerToken::new(
        client,
        secret_id.to_owned(),
        state.settings.token_ttl,
    )));
    state
}

/// A copy of `template` (built by `State::new`) sending to `base_url` with the fake's token, sharing its HTTP
/// client: building a client (TLS roots) is the slow part of `State::new`, which tests that run hundreds of
/// invocations can't afford each time. The copy has a call budget of its own (a new container), not the
/// template's: slots taken on another test's (paused) clock would make this one wait.
pub fn state_like(template: &State, base_url: &str) -> State {
    State {
        settings: template.settings.clone(),
        delivery: DeliveryConfig {
            base_url: base_url.to_owned(),
            budget: std::sync::Arc::new(CallBudget::for_instance(&template.settings)),
            ..template.delivery.clone()
        },
        http: template.http.clone(),
        sender: Sender::Pinterest(TokenProvider::Static(StaticToken(AccessToken::new(
            TOKEN.to_owned(),
        )))),
        rejected: None,
    }
}

/// One SQS record.
#[derive(Debug, Clone)]
pub struct Record {
    pub message_id: Option<String>,
    pub body: String,
    pub group: Option<String>,
}

impl Record {
    pub fn new(message_id: &str, body: impl Into<String>) -> Self {
        Self {
            message_id: Some(message_id.to_owned()),
            body: body.into(),
            group: None,
        }
    }

    /// A record whose body is this JSON.
    pub fn json(message_id: &str, body: &Value) -> Self {
        Self::new(message_id, body.to_string())
    }

    pub fn in_group(mut self, group: &str) -> Self {
        self.group = Some(group.to_owned());
        self
    }
}

/// An SQS event of these records, from a standard queue or (`fifo`) a FIFO queue.
pub fn sqs_event(records: &[Record], fifo: bool) -> Value {
    let arn = if fifo {
        "arn:aws:sqs:us-east-1:123456789012:events.fifo"
    } else {
        "arn:aws:sqs:us-east-1:123456789012:events"
    };
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut attributes = json!({
                "ApproximateReceiveCount": "1",
                "SentTimestamp": "1764400000000",
                "SenderId": "AIDAEXAMPLE",
                "ApproximateFirstReceiveTimestamp": "1764400000001"
            });
            if let Some(group) = &r.group {
                attributes["MessageGroupId"] = json!(group);
            }
            let mut record = json!({
                "receiptHandle": "AQEB-test",
                "body": r.body,
                "attributes": attributes,
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1"
            });
            if let Some(id) = &r.message_id {
                record["messageId"] = json!(id);
            }
            record
        })
        .collect();
    json!({ "Records": records })
}

/// A REST API (v1) proxy event.
pub fn rest_api_event(method: &str, body: Option<&[u8]>, base64: bool) -> Value {
    json!({
        "resource": "/events",
        "path": "/events",
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": null,
        "requestContext": {
            "resourcePath": "/events",
            "httpMethod": method,
            "path": "/prod/events",
            "stage": "prod",
            "requestId": "req-1",
            "identity": {"sourceIp": "192.0.2.1", "apiKey": "k"}
        },
        "body": encode_body(body, base64),
        "isBase64Encoded": base64
    })
}

/// An HTTP API (v2) proxy event.
pub fn http_api_event(method: &str, body: Option<&[u8]>, base64: bool) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "POST /events",
        "rawPath": "/events",
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.com",
            "domainPrefix": "api",
            "http": {"method": method, "path": "/events", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "curl"},
            "requestId": "req-1",
            "routeKey": "POST /events",
            "stage": "$default",
            "time": "29/Nov/2025:10:00:00 +0000",
            "timeEpoch": 1764410400000u64
        },
        "body": encode_body(body, base64),
        "isBase64Encoded": base64
    })
}

fn encode_body(body: Option<&[u8]>, base64: bool) -> Value {
    match body {
        None => Value::Null,
        Some(bytes) if base64 => json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
        Some(bytes) => json!(String::from_utf8_lossy(bytes)),
    }
}

/// Runs one invocation as `main` does (the summary line included) with this much time left.
pub async fn invoke(state: &State, event: Value, time_left: Duration) -> Invocation {
    let deadline = Instant::now() + time_left;
    let started = Instant::now();
    let invocation = handler::handle(state, &event.to_string(), deadline).await;
    invocation.counters.log(
        invocation.trigger,
        started.elapsed().as_millis() as u64,
        false,
    );
    if let Err(e) = &invocation.response {
        tracing::error!("invocation failed: {e}");
    }
    invocation
}

/// What an SQS invocation answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqsAnswer {
    /// A partial batch response listing these message ids.
    Partial(Vec<String>),
    /// An error: the whole batch goes back to the queue.
    Error(String),
}

pub fn sqs_answer(invocation: &Invocation) -> SqsAnswer {
    match &invocation.response {
        Ok(value) => SqsAnswer::Partial(
            value["batchItemFailures"]
                .as_array()
                .expect("batchItemFailures is an array")
                .iter()
                .map(|f| {
                    f["itemIdentifier"]
                        .as_str()
                        .expect("itemIdentifier is a string")
                        .to_owned()
                })
                .collect(),
        ),
        Err(e) => SqsAnswer::Error(e.to_string()),
    }
}

/// What an API Gateway invocation answered: status, JSON body, headers.
pub fn api_answer(invocation: &Invocation) -> (u16, Value, Value) {
    let response = invocation
        .response
        .as_ref()
        .expect("API answers are values");
    let status = response["statusCode"].as_u64().expect("statusCode") as u16;
    let body = response["body"]
        .as_str()
        .and_then(|b| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, body, response["headers"].clone())
}
