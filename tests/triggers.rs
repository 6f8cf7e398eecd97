//! Trigger semantics in process: `handler::handle` on the Lambda event fixtures and variations of them, against
//! the fake Pinterest. SQS partial batch responses (the FIFO rule, whole-batch errors), API Gateway
//! answers (REST v1 and HTTP API v2), and unknown event shapes.

use std::collections::HashMap;
use std::time::Duration;

use crate::support::fake_pinterest::{AD_ACCOUNT_ID, FakePinterest, Recorded, Reply, TOKEN};
use crate::support::leaks::{self, HTTP_EVENT_ID, REST_EVENT_IDS, fifo, fixture, sqs};
use pinterest_destination::config::Settings;
use pinterest_destination::fate::Tally;
use pinterest_destination::handler::{self, HandlerError, Invocation};
use pinterest_destination::summary::{Counters, Requests};
use pinterest_destination::trigger::State;
use serde_json::{Value, json};
use tokio::time::Instant;

/// A state whose token is the fake's and whose API is the fake, plus `extra` settings.
async fn state(fake: &FakePinterest, extra: &[(&str, &str)]) -> State {
    let mut env: HashMap<String, String> = HashMap::from([
        (
            "PINTEREST_AD_ACCOUNT_ID".to_owned(),
            AD_ACCOUNT_ID.to_owned(),
        ),
        ("PINTEREST_ACCESS_TOKEN".to_owned(), TOKEN.to_owned()),
        ("PINTEREST_API_BASE_URL".to_owned(), fake.base_url()),
    ]);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let settings = Settings::from_env(move |name| env.get(name).cloned()).expect("settings");
    State::new(settings).await.expect("state")
}

/// Enough time for anything but a retry loop.
const BUDGET: Duration = Duration::from_secs(20);
/// Short enough that retries of a transient error stop soon (the state keeps a 1.5 s margin).
const SHORT_BUDGET: Duration = Duration::from_secs(3);

async fn invoke(state: &State, event: Value, budget: Duration) -> Invocation {
    handler::handle(state, &event.to_string(), Instant::now() + budget).await
}

/// The message ids of a partial batch response; panics on an error or another shape.
fn failures(invocation: &Invocation) -> Vec<String> {
    let response = match &invocation.response {
        Ok(response) => response,
        Err(e) => panic!("expected a partial batch response, got the error: {e}"),
    };
    let failures = response["batchItemFailures"]
        .as_array()
        .unwrap_or_else(|| panic!("not a partial batch response: {response}"));
    assert_eq!(response.as_object().map(|o| o.len()), Some(1), "{response}");
    failures
        .iter()
        .map(|f| {
            assert_eq!(f.as_object().map(|o| o.len()), Some(1), "{f}");
            f["itemIdentifier"]
                .as_str()
                .unwrap_or_else(|| panic!("itemIdentifier is not a string: {f}"))
                .to_owned()
        })
        .collect()
}

/// The fixture's records at these positions, as a new batch.
fn batch(name: &str, positions: &[usize]) -> Value {
    let records = fixture(name)["Records"]
        .as_array()
        .expect("Records")
        .clone();
    json!({"Records": positions.iter().map(|&i| records[i].clone()).collect::<Vec<_>>()})
}

/// An SQS record of the standard queue of `events/sqs.json` with this message id and body.
fn record(message_id: Option<&str>, body: &str) -> Value {
    let mut record = fixture("sqs.json")["Records"][0].clone();
    record["body"] = json!(body);
    match message_id {
        Some(id) => record["messageId"] = json!(id),
        None => {
            record.as_object_mut().expect("record").remove("messageId");
        }
    }
    record
}

/// A Commanders Act event that maps and passes the identity rule.
fn good_event(event_id: &str) -> Value {
    json!({
        "event_name": "purchase",
        "id": "ORD-1",
        "value": "19.90",
        "currency": "eur",
        "user": {"email": "toto.dupont@domain.fr", "phone": "+33 6 12 34 56 78"},
        "context": {"event_id": event_id, "device": {"ip": "203.0.113.45", "user_agent": "UA"}}
    })
}

/// The request checks common to every test: the ad account, bodies valid against the schema, every hashed field
/// a digest and no clear personal data, the token accepted.
fn assert_requests_clean(fake: &FakePinterest) -> Vec<Recorded> {
    assert_eq!(fake.schema_violations(), Vec::<String>::new());
    let requests = fake.requests();
    for request in &requests {
        assert_eq!(request.ad_account_id, AD_ACCOUNT_ID);
        assert!(request.authorized, "the fake refused the token");
        assert!(!request.test_mode);
        assert_eq!(
            leaks::body_problems(&request.body),
            Vec::<String>::new(),
            "{}",
            request.body
        );
    }
    requests
}

fn counters(
    records: u64,
    records_failed: u64,
    [delivered, skipped, rejected, failed]: [u64; 4],
    requests: u64,
) -> Counters {
    Counters {
        records,
        records_failed,
        events: Tally {
            delivered,
            skipped,
            rejected,
            failed,
            ..Tally::default()
        },
        requests: Requests {
            sent: requests,
            ..Requests::default()
        },
        ..Counters::default()
    }
}

// ---------------------------------------------------------------- SQS

#[tokio::test]
async fn sqs_fixture_reports_the_rejected_and_unreadable_records_and_sends_the_good_events_once() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let invocation = invoke(&state, fixture("sqs.json"), BUDGET).await;

    assert_eq!(invocation.trigger, "sqs");
    assert_eq!(failures(&invocation), [sqs::REJECTED, sqs::UNREADABLE]);
    assert_eq!(invocation.counters, counters(5, 2, [3, 1, 1, 0], 1));

    let requests = assert_requests_clean(&fake);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, sqs::SENT);
    let body = requests[0].body.to_string();
    for clear in [
        "toto.dupont",
        "Toto.Dupont",
        "612345678",
        "Dupont",
        "1990-02-01",
    ] {
        assert!(!body.contains(clear), "{clear} in {body}");
    }
    // The purchase carries every hashed field it has data for.
    let user_data = &requests[0].body["data"][0]["user_data"];
    for field in [
        "em",
        "ph",
        "ge",
        "db",
        "ln",
        "fn",
        "ct",
        "zp",
        "country",
        "external_id",
    ] {
        assert!(
            user_data[field][0]
                .as_str()
                .is_some_and(leaks::is_sha256_hex),
            "{field}: {user_data}"
        );
    }
}

#[tokio::test]
async fn sqs_fifo_failed_record_fails_the_later_records_of_its_group_only() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let invocation = invoke(&state, fixture("sqs-fifo.json"), BUDGET).await;

    // A1 is rejected; A2 is good but comes after A1 in group A; group B is acknowledged.
    assert_eq!(failures(&invocation), [fifo::A1_REJECTED, fifo::A2]);
    assert_eq!(invocation.counters, counters(4, 2, [3, 0, 1, 0], 1));
    let requests = assert_requests_clean(&fake);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, fifo::SENT);
}

#[tokio::test]
async fn sqs_fifo_groups_fail_independently() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    // Pinterest fails B1's event (the first of the request): B1 is reported and B2 follows it, as A2 follows
    // the rejected A1. Everything is reported.
    fake.script([Reply::FailEvents(vec![0])]);
    let invocation = invoke(&state, fixture("sqs-fifo.json"), BUDGET).await;
    assert_eq!(
        failures(&invocation),
        [fifo::A1_REJECTED, fifo::B1, fifo::A2, fifo::B2]
    );
}

#[tokio::test]
async fn sqs_all_records_failing_transiently_is_an_error_so_lambda_backs_off() {
    let fake = FakePinterest::start().await;
    fake.set_default(Reply::Status(503));
    let state = state(&fake, &[]).await;
    let started = Instant::now();
    let invocation = invoke(&state, batch("sqs.json", &[0, 1]), SHORT_BUDGET).await;

    match &invocation.response {
        Err(HandlerError::RetryAll(reason)) => {
            assert!(
                reason.contains("all 2 records failed transiently"),
                "{reason}"
            );
        }
        other => panic!("expected RetryAll, got {other:?}"),
    }
    assert!(started.elapsed() < SHORT_BUDGET, "{:?}", started.elapsed());
    assert_eq!(invocation.counters.events.failed, 3);
    assert_eq!(invocation.counters.records_failed, 2);
    let requests = assert_requests_clean(&fake);
    assert!(requests.len() >= 2, "503 is retried: {}", requests.len());
    assert!(
        requests
            .iter()
            .all(|r| r.status == 503 && r.event_ids == sqs::SENT)
    );
    assert_eq!(invocation.counters.requests.sent, requests.len() as u64);
}

#[tokio::test]
async fn sqs_transient_and_permanent_failures_together_are_a_partial_response() {
    let fake = FakePinterest::start().await;
    fake.set_default(Reply::Status(503));
    let state = state(&fake, &[]).await;
    // The purchase fails transiently, the record without an event id is rejected, the body is unreadable.
    let invocation = invoke(&state, batch("sqs.json", &[0, 3, 4]), SHORT_BUDGET).await;
    assert_eq!(
        failures(&invocation),
        [sqs::PURCHASE, sqs::REJECTED, sqs::UNREADABLE]
    );
    // A skipped record next to a transient failure: acknowledged, and the batch is not all-transient.
    let invocation = invoke(&state, batch("sqs.json", &[0, 2]), SHORT_BUDGET).await;
    assert_eq!(failures(&invocation), [sqs::PURCHASE]);
}

#[tokio::test]
async fn sqs_failed_record_without_a_message_id_returns_the_whole_batch() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let good = good_event("e-good").to_string();
    for missing in [Some(""), Some("   "), None] {
        let event =
            json!({"Records": [record(Some("m-good"), &good), record(missing, "not json {")]});
        let invocation = invoke(&state, event, BUDGET).await;
        match &invocation.response {
            Err(HandlerError::RetryAll(reason)) => {
                assert!(reason.contains("no message id"), "{reason}");
            }
            other => panic!("{missing:?}: expected RetryAll, got {other:?}"),
        }
        // Both records go back to the queue, and the metrics say so.
        assert_eq!(invocation.counters.records_failed, 2, "{missing:?}");
    }
    // A message id that is not a string can't be reported either.
    let event = json!({"Records": [record(Some("m-good"), &good), with(record(None, "[42]"), "messageId", json!(5))]});
    let invocation = invoke(&state, event, BUDGET).await;
    assert!(
        matches!(&invocation.response, Err(HandlerError::RetryAll(reason)) if reason.contains("no message id")),
        "{:?}",
        invocation.response
    );
    // A record without an id that succeeds needs no identifier: acknowledged with the rest.
    let event = json!({"Records": [record(Some(""), &good), record(Some("m-bad"), "[42]")]});
    let invocation = invoke(&state, event, BUDGET).await;
    assert_eq!(failures(&invocation), ["m-bad"]);
}

#[tokio::test]
async fn sqs_empty_array_body_is_acknowledged_and_nothing_is_sent() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let event =
        json!({"Records": [record(Some("m-empty"), "[]"), record(Some("m-blank"), " [ ] ")]});
    let invocation = invoke(&state, event, BUDGET).await;
    assert_eq!(failures(&invocation), Vec::<String>::new());
    assert_eq!(invocation.counters, counters(2, 0, [0, 0, 0, 0], 0));
    assert!(fake.requests().is_empty());

    let invocation = invoke(&state, json!({"Records": []}), BUDGET).await;
    assert_eq!(failures(&invocation), Vec::<String>::new());
}

#[tokio::test]
async fn sqs_bodies_that_are_not_events_fail_their_record_only() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let good = good_event("e-good").to_string();
    let event = json!({"Records": [
        record(Some("m-number"), "42"),
        record(Some("m-good"), &good),
        record(Some("m-string"), "\"x\""),
        record(Some("m-empty"), ""),
        record(Some("m-array-of-junk"), "[1, \"a\"]"),
        // SQS bodies are strings; a hand-written event that puts the event itself there fails alone.
        with(record(Some("m-body-object"), ""), "body", good_event("e-inline")),
        with(record(Some("m-body-number"), ""), "body", json!(7)),
        // Envelope fields the function reads, of the wrong type, read as absent.
        with(record(Some("m-null-body"), ""), "body", Value::Null),
        with(record(Some("m-good-2"), &good_event("e-good-2").to_string()), "attributes", json!("x")),
    ]});
    let invocation = invoke(&state, event, BUDGET).await;
    assert_eq!(
        failures(&invocation),
        [
            "m-number",
            "m-string",
            "m-empty",
            "m-array-of-junk",
            "m-body-object",
            "m-body-number",
            "m-null-body"
        ]
    );
    assert_eq!(invocation.counters.records_failed, 7);
    let requests = assert_requests_clean(&fake);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, ["e-good", "e-good-2"]);
}

/// `record` with `field` set to `value`.
fn with(mut record: Value, field: &str, value: Value) -> Value {
    record[field] = value;
    record
}

#[tokio::test]
async fn sqs_pinterest_per_event_failure_reports_only_that_record() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    // The request holds [purchase, page view, add-to-cart]; Pinterest fails the add-to-cart (array record).
    fake.script([Reply::FailEvents(vec![2])]);
    let invocation = invoke(&state, batch("sqs.json", &[0, 1, 2]), BUDGET).await;
    assert_eq!(failures(&invocation), [sqs::ARRAY]);
    assert_eq!(invocation.counters, counters(3, 1, [2, 1, 1, 0], 1));

    // The same through a 422 with per-event details, failing the purchase.
    fake.script([Reply::Unprocessable(vec![0])]);
    let invocation = invoke(&state, batch("sqs.json", &[0, 1, 2]), BUDGET).await;
    assert_eq!(failures(&invocation), [sqs::PURCHASE]);
    assert_requests_clean(&fake);
}

#[tokio::test]
async fn unknown_event_shapes_are_unsupported_and_name_what_came() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let s3 = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "b"}, "object": {"key": "k"}}}]});
    let eventbridge = json!({"version": "0", "id": "1", "detail-type": "Scheduled Event", "source": "aws.events",
        "detail": {}});
    for (event, named) in [
        (s3, "aws:s3"),
        (eventbridge, "detail-type"),
        (json!([1, 2]), "got an array"),
    ] {
        let invocation = invoke(&state, event.clone(), BUDGET).await;
        assert_eq!(invocation.trigger, "unknown");
        match &invocation.response {
            Err(e @ HandlerError::Unsupported(_)) => {
                let message = e.to_string();
                assert!(
                    message
                        .starts_with("unsupported event: expected an SQS batch or an API Gateway")
                );
                assert!(message.contains(named), "{message}");
            }
            other => panic!("{event}: expected Unsupported, got {other:?}"),
        }
    }
    assert!(fake.requests().is_empty());
}

// ---------------------------------------------------------------- API Gateway

/// An API Gateway answer, REST v1 or HTTP API v2.
#[derive(Debug)]
struct Answer {
    status: i64,
    headers: Value,
    body: Value,
}

fn answer(invocation: &Invocation) -> Answer {
    let response = match &invocation.response {
        Ok(response) => response,
        Err(e) => panic!("expected an API Gateway response, got the error: {e}"),
    };
    let text = response["body"]
        .as_str()
        .unwrap_or_else(|| panic!("no text body: {response}"));
    assert_ne!(response["isBase64Encoded"], true);
    let answer = Answer {
        status: response["statusCode"].as_i64().expect("statusCode"),
        headers: response["headers"].clone(),
        body: serde_json::from_str(text).unwrap_or_else(|e| panic!("body not JSON ({e}): {text}")),
    };
    assert_eq!(
        answer.headers["content-type"], "application/json",
        "{response}"
    );
    answer
}

/// `events/apigw-rest.json` with another body.
fn rest(body: &str) -> Value {
    let mut event = fixture("apigw-rest.json");
    event["body"] = json!(body);
    event
}

/// `events/apigw-http.json` with another (base64) body.
fn http_api(body_base64: &str) -> Value {
    let mut event = fixture("apigw-http.json");
    event["body"] = json!(body_base64);
    event
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Asserts an error answer `{"error": "..."}` with this status whose message contains `says`.
fn assert_error(answer: &Answer, status: i64, says: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    let object = answer.body.as_object().expect("an object");
    assert_eq!(object.len(), 1, "{answer:?}");
    let message = answer.body["error"].as_str().expect("an error message");
    assert!(message.contains(says), "{message}");
}

#[tokio::test]
async fn rest_api_fixture_delivers_and_answers_200_with_one_result_per_event() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let invocation = invoke(&state, fixture("apigw-rest.json"), BUDGET).await;
    assert_eq!(invocation.trigger, "rest_api");
    let answer = answer(&invocation);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({
            "results": [
                {"index": 0, "event_id": REST_EVENT_IDS[0], "status": "delivered"},
                {"index": 1, "event_id": REST_EVENT_IDS[1], "status": "delivered"},
            ],
            "delivered": 2, "skipped": 0, "filtered": 0, "rejected": 0, "failed": 0
        })
    );
    assert_eq!(invocation.counters, counters(1, 0, [2, 0, 0, 0], 1));
    let requests = assert_requests_clean(&fake);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, REST_EVENT_IDS);
}

#[tokio::test]
async fn http_api_base64_fixture_delivers_and_answers_200() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let invocation = invoke(&state, fixture("apigw-http.json"), BUDGET).await;
    assert_eq!(invocation.trigger, "http_api");
    let answer = answer(&invocation);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({
            "results": [{"index": 0, "event_id": HTTP_EVENT_ID, "status": "delivered"}],
            "delivered": 1, "skipped": 0, "filtered": 0, "rejected": 0, "failed": 0
        })
    );
    let requests = assert_requests_clean(&fake);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, [HTTP_EVENT_ID]);
    let event = &requests[0].body["data"][0];
    assert_eq!(event["action_source"], "app_android");
    assert!(
        event["user_data"]["hashed_maids"][0]
            .as_str()
            .is_some_and(leaks::is_sha256_hex)
    );
}

#[tokio::test]
async fn api_methods_other_than_post_get_405_with_allow_post() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let mut v1 = fixture("apigw-rest.json");
    v1["httpMethod"] = json!("GET");
    let mut v2 = fixture("apigw-http.json");
    v2["requestContext"]["http"]["method"] = json!("PUT");
    for event in [v1, v2] {
        let answer = answer(&invoke(&state, event, BUDGET).await);
        assert_error(&answer, 405, "not allowed; use POST");
        assert_eq!(answer.headers["allow"], "POST");
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn api_bodies_that_are_not_events_get_400() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let cases = [
        (rest("not json {"), "not JSON"),
        (rest(r#"{"events": {}}"#), "\"events\" must be an array"),
        (rest("[]"), "no events"),
        (rest(r#"{"events": []}"#), "no events"),
        (rest("42"), "expected an event object"),
        (
            rest("[1, 2]"),
            "events[0]: expected an event object, found a number",
        ),
        (
            rest(&format!("[{}, \"x\"]", good_event("e-1"))),
            "events[1]: expected an event object, found a string",
        ),
        (
            rest(r#"{"events": [[]]}"#),
            "events[0]: expected an event object, found an array",
        ),
        (rest(""), "body: empty"),
        (http_api("!!! not base64 !!!"), "invalid base64"),
        (http_api(&base64(b"not json either")), "not JSON"),
    ];
    for (event, says) in cases {
        let invocation = invoke(&state, event, BUDGET).await;
        assert_error(&answer(&invocation), 400, says);
        assert_eq!(invocation.counters.records_failed, 1);
    }
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn api_body_over_the_limit_gets_413() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[("PINTEREST_MAX_BODY_BYTES", "1024")]).await;
    let mut big = good_event("e-big");
    big["page_name"] = json!("x".repeat(1100));
    let big = big.to_string();
    for event in [rest(&big), http_api(&base64(big.as_bytes()))] {
        assert_error(
            &answer(&invoke(&state, event, BUDGET).await),
            413,
            "1024 bytes",
        );
    }
    // Under the limit, the same trigger delivers.
    let small = good_event("e-small").to_string();
    assert_eq!(
        answer(&invoke(&state, rest(&small), BUDGET).await).status,
        200
    );
    assert_eq!(fake.requests().len(), 1);

    // The answer must fit Lambda's 6 MB whatever the body: at most 2000 events, ids cut to 128 characters.
    let state = crate::triggers::state(&fake, &[("PINTEREST_MAX_BODY_BYTES", "6291456")]).await;
    let many = format!("[{}]", vec!["{}"; 2001].join(","));
    assert_error(
        &answer(&invoke(&state, rest(&many), BUDGET).await),
        413,
        "body: 2001 events; at most 2000 per request",
    );
    let long_id = json!({"event_name": "purchase", "context": {"event_id": "x".repeat(2900)}});
    let most = format!("[{}]", vec![long_id.to_string(); 2000].join(","));
    assert!(most.len() > 5_800_000, "{}", most.len());
    let reply = invoke(&state, rest(&most), BUDGET).await;
    let answer = answer(&reply);
    assert_eq!(answer.status, 422);
    assert_eq!(answer.body["rejected"], 2000);
    assert_eq!(
        answer.body["results"][1999]["event_id"],
        format!("{}…", "x".repeat(128))
    );
    let size = serde_json::to_string(reply.response.as_ref().expect("an answer"))
        .expect("JSON")
        .len();
    assert!(size < 1_500_000, "{size}");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn api_some_rejected_none_failed_gets_422_with_per_event_results() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[]).await;
    let mut no_id = good_event("x");
    no_id["context"]
        .as_object_mut()
        .expect("context")
        .remove("event_id");
    let body = json!({"events": [good_event("e-1"), {"event_name": "newsletter_optin"}, no_id]});
    let answer = answer(&invoke(&state, rest(&body.to_string()), BUDGET).await);
    assert_eq!(answer.status, 422, "{answer:?}");
    let results = answer.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(
        results[0],
        json!({"index": 0, "event_id": "e-1", "status": "delivered"})
    );
    assert_eq!(results[1]["status"], "skipped");
    assert!(
        results[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("newsletter_optin"))
    );
    assert_eq!(results[2]["index"], 2);
    assert_eq!(results[2]["status"], "rejected");
    assert!(results[2].get("event_id").is_none());
    assert!(
        results[2]["error"]
            .as_str()
            .is_some_and(|e| e.contains("event_id"))
    );
    assert_eq!(
        (
            &answer.body["delivered"],
            &answer.body["skipped"],
            &answer.body["rejected"],
            &answer.body["failed"]
        ),
        (&json!(1), &json!(1), &json!(1), &json!(0))
    );
    // Pinterest's own per-event refusal is a rejection too.
    fake.script([Reply::FailEvents(vec![1])]);
    let body = json!([good_event("e-2"), good_event("e-3")]);
    let answer_2 = answer_of(&state, rest(&body.to_string())).await;
    assert_eq!(answer_2.status, 422);
    assert_eq!(answer_2.body["results"][1]["status"], "rejected");
    assert_eq!(
        answer_2.body["results"][1]["error"],
        "Event 1: invalid user_data"
    );
    assert_requests_clean(&fake);
}

async fn answer_of(state: &State, event: Value) -> Answer {
    answer(&invoke(state, event, BUDGET).await)
}

#[tokio::test]
async fn api_transient_failure_gets_503_with_retry_after() {
    let fake = FakePinterest::start().await;
    fake.set_default(Reply::Status(503));
    let state = state(&fake, &[]).await;
    let mut no_id = good_event("x");
    no_id["context"]
        .as_object_mut()
        .expect("context")
        .remove("event_id");
    // One rejected and one failed event: the transient failure decides (the client should retry).
    let body = json!([good_event("e-1"), no_id]);
    let answer = answer(&invoke(&state, rest(&body.to_string()), SHORT_BUDGET).await);
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.headers["retry-after"], "30");
    assert_eq!(answer.body["results"][0]["status"], "failed");
    assert!(
        answer.body["results"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("503"))
    );
    assert_eq!(answer.body["results"][1]["status"], "rejected");
    assert_eq!(
        (&answer.body["failed"], &answer.body["rejected"]),
        (&json!(1), &json!(1))
    );
}

// ---------------------------------------------------------------- the leak checks themselves

#[test]
fn leak_detectors_find_what_they_look_for() {
    assert_eq!(leaks::email_like("x a.b@c.fr y"), ["a.b@c.fr"]);
    assert!(leaks::email_like("user@localhost, @x.com, a@b").is_empty());
    assert_eq!(
        leaks::ipv4_like("ip=203.0.113.45:80 v1.2.3"),
        ["203.0.113.45"]
    );
    assert!(leaks::ipv4_like("1.2.3.4.5 999.1.1.1").is_empty());
    let body = json!({"data": [{"user_data": {"em": ["A"], "ln": ["dupont"]}, "custom_data": {"order_id": "75011"}}]});
    assert_eq!(
        leaks::body_problems(&body).len(),
        3,
        "{:?}",
        leaks::body_problems(&body)
    );
    let lines = [
        "token pina_x".to_owned(),
        "from 203.0.113.45".to_owned(),
        "fine".to_owned(),
    ];
    assert_eq!(leaks::log_problems(&lines, &["pina_x"]).len(), 2);
}

// ---------------------------------------------------------------- consent gate

#[tokio::test]
async fn events_the_consent_gate_filters_are_acknowledged_counted_and_never_sent() {
    let fake = FakePinterest::start().await;
    let state = state(&fake, &[("PINTEREST_CONSENT_CATEGORIES", "3,5")]).await;
    let mut consented = good_event("e-ok");
    consented["user"]["consent_categories"] = json!(["1", 5]);
    let mut refused = good_event("e-no");
    refused["user"]["consent_categories"] = json!([1]);
    let unasked = good_event("e-none");
    let body = json!([consented, refused]).to_string();
    let event =
        json!({"Records": [record(Some("m-1"), &body), record(Some("m-2"), &unasked.to_string())]});
    let invocation = invoke(&state, event, BUDGET).await;
    assert_eq!(failures(&invocation), Vec::<String>::new());
    assert_eq!(
        (
            invocation.counters.events.delivered,
            invocation.counters.events.filtered,
            invocation.counters.events.events()
        ),
        (1, 2, 3)
    );
    let requests = assert_requests_clean(&fake);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, ["e-ok"]);

    let body = json!([good_event("e-api")]);
    let answer = answer_of(&state, rest(&body.to_string())).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["filtered"], 1);
    assert_eq!(answer.body["results"][0]["status"], "filtered");
    assert!(
        answer.body["results"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("user.consent_categories: missing"))
    );
}

/// A 403 refuses the credentials, not the events: it counts as an authentication failure (the template alarms on
/// them), and so does a 401 that persists after the token was re-read; a 400 does not.
#[tokio::test]
async fn refused_credentials_count_as_auth_failures() {
    let purchase = |id: &str| json!({"event_name": "purchase", "context": {"event_id": id, "device": {"ip": "192.0.2.1", "user_agent": "UA"}}});
    for (reply, expected) in [(Reply::Status(403), 1), (Reply::Status(400), 0)] {
        let fake = FakePinterest::start().await;
        fake.set_default(reply.clone());
        let state = state(&fake, &[]).await;
        let event = json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:events",
            "body": purchase("e-1").to_string()}]});
        let invocation = invoke(&state, event, BUDGET).await;
        assert_eq!(
            invocation.counters.requests.auth_failures, expected,
            "{reply:?}"
        );
        assert_eq!(invocation.counters.events.rejected, 1, "{reply:?}");
    }
    let fake = FakePinterest::start().await;
    fake.set_token("pina_nobody_has_it");
    let state = state(&fake, &[]).await;
    let event = json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs",
        "body": purchase("e-1").to_string()}]});
    let invocation = invoke(&state, event, BUDGET).await;
    assert_eq!(
        fake.requests().len(),
        2,
        "one attempt, one after re-reading the token"
    );
    assert_eq!(invocation.counters.requests.auth_failures, 1);
}

/// The rejected-events queue is for SQS batches only: an API caller learns of its rejected events from the
/// answer (422), and nothing is written to the queue.
#[tokio::test]
async fn api_gateway_rejections_are_answered_not_queued() {
    let fake = FakePinterest::start().await;
    let sqs = crate::support::fake_sqs::FakeSqs::start().await;
    let mut state = state(&fake, &[]).await;
    state.rejected = Some(pinterest_destination::rejected::RejectedQueue::new(
        crate::support::moto::sqs_client_for(&sqs.uri()),
        "http://127.0.0.1:9/123456789012/rejected".to_owned(),
    ));
    let no_identity = json!({"event_name": "purchase", "context": {"event_id": "e-1"}}).to_string();
    let event = crate::support::invoke::rest_api_event("POST", Some(no_identity.as_bytes()), false);
    let invocation = invoke(&state, event, BUDGET).await;
    let (status, body, _) = crate::support::invoke::api_answer(&invocation);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["rejected"], 1);
    assert!(sqs.calls().is_empty(), "{:?}", sqs.calls());
    assert_eq!(invocation.counters.rejected_queued, 0);

    // The same event in an SQS record goes to the queue, and its record is acknowledged.
    let record =
        json!({"Records": [{"messageId": "m-1", "eventSource": "aws:sqs", "body": no_identity}]});
    let invocation = invoke(&state, record, BUDGET).await;
    assert_eq!(
        invocation.response.as_ref().unwrap(),
        &json!({"batchItemFailures": []})
    );
    assert_eq!(invocation.counters.rejected_queued, 1);
    let stored = sqs.stored();
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].body["event"],
        serde_json::from_str::<Value>(&no_identity).unwrap()
    );
    assert_eq!(stored[0].stage.as_deref(), Some("mapping"));
}
