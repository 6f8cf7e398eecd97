//! Log hygiene: every line the function emits (captured at every level, as JSON like in Lambda) is free of the
//! token, of the person's data in clear, and of request bodies; Pinterest's error bodies are truncated before
//! they are logged. Every row of `tests/faults.rs` runs the same check over its own lines; this file adds the
//! checks that need their own inputs.

use std::time::Duration;

use crate::support::fake_pinterest::{FakePinterest, Reply, TOKEN, tick};
use crate::support::invoke::{
    Record, SqsAnswer, api_answer, good_event, http_api_event, invoke, person, rest_api_event,
    sqs_answer, sqs_event, state,
};
use crate::support::logs::{Capture, leaks, overflow};
use serde_json::{Value, json};

fn secrets() -> Vec<&'static str> {
    let mut all = person::IN_CLEAR.to_vec();
    all.push(TOKEN);
    all
}

fn assert_clean(capture: &Capture, extra: &[&str]) {
    let lines = capture.lines();
    let mut secrets = secrets();
    secrets.extend_from_slice(extra);
    let found = leaks(&lines, &secrets);
    assert!(found.is_empty(), "secrets in the logs: {found:#?}");
    let overflow = overflow();
    let found = leaks(&overflow, &secrets);
    assert!(
        found.is_empty(),
        "secrets in other threads' logs: {found:#?}"
    );
    for line in &lines {
        assert!(
            serde_json::from_str::<Value>(line).is_ok(),
            "not a JSON line: {line}"
        );
        assert!(
            !line.contains("\"data\":[") && !line.contains("user_data\":{"),
            "a request body in the logs: {line}"
        );
    }
}

/// The capture and the leak check catch what they must: a control for every other test.
#[tokio::test]
async fn the_capture_catches_a_planted_secret_at_any_level() {
    let capture = Capture::start();
    tracing::trace!(target: "aws_smithy_runtime", body = TOKEN, "a dependency at TRACE");
    tokio::spawn(async { tracing::warn!("mail {}", person::EMAIL) })
        .await
        .expect("task");
    let lines = capture.lines();
    let found = leaks(&lines, &secrets());
    let kinds: Vec<&str> = found.iter().map(|(secret, _)| *secret).collect();
    assert!(kinds.contains(&TOKEN), "{lines:?}");
    assert!(kinds.contains(&person::EMAIL), "{lines:?}");
    // Case does not hide a value.
    let lower = vec![person::EMAIL.to_lowercase()];
    assert_eq!(leaks(&lower, &[person::EMAIL]).len(), 1);
}

/// 10 KB of text ending with this: it must never reach a log line or an answer.
const MARKER: &str = "MARKER-AT-THE-END-OF-THE-BODY";

fn long_body() -> String {
    format!(
        "{}{MARKER}",
        "Pinterest says: something went wrong. ".repeat(270)
    )
}

#[tokio::test(start_paused = true)]
async fn pinterest_error_bodies_are_truncated_before_they_are_logged() {
    assert!(long_body().len() > 10_000);
    let ticker = tick(Duration::from_millis(1));
    let cases = [
        (
            "400 JSON error",
            vec![Reply::ErrorMessage(400, long_body())],
        ),
        ("400 HTML", vec![Reply::Raw(400, long_body())]),
        (
            "422 without details",
            vec![Reply::ErrorMessage(422, long_body())],
        ),
        (
            "429 JSON error",
            vec![Reply::ErrorMessage(429, long_body()), Reply::Ok],
        ),
        ("502 HTML", vec![Reply::Raw(502, long_body()), Reply::Ok]),
        (
            "503 JSON error",
            vec![Reply::ErrorMessage(503, long_body()), Reply::Ok],
        ),
        (
            "200, an event failed",
            vec![Reply::FailWith(vec![0], long_body())],
        ),
    ];
    for (name, script) in cases {
        let capture = Capture::start();
        let fake = FakePinterest::start_local().await;
        let state = state(&fake.base_url()).await;
        fake.script(script.clone());
        let records = [Record::json("m-1", &good_event("l-1", "u-l1"))];
        let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(60)).await;
        let answer = sqs_answer(&invocation);
        fake.script(script);
        let body = good_event("l-2", "u-l2").to_string();
        let api = invoke(
            &state,
            rest_api_event("POST", Some(body.as_bytes()), false),
            Duration::from_secs(60),
        )
        .await;
        let (_, api_body, _) = api_answer(&api);

        let lines = capture.lines();
        let cut: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("Pinterest says") && l.contains('…'))
            .collect();
        assert!(
            !cut.is_empty(),
            "{name}: the start of the body is logged, cut"
        );
        for line in &lines {
            assert!(!line.contains(MARKER), "{name}: {line}");
            assert!(line.len() < 2_000, "{name}: a line of {} bytes", line.len());
        }
        assert!(!format!("{answer:?}").contains(MARKER), "{name}");
        assert!(!api_body.to_string().contains(MARKER), "{name}: {api_body}");
        assert_clean(&capture, &[]);
        println!(
            "{name}: {} lines, longest {} bytes, SQS {answer:?}",
            lines.len(),
            lines.iter().map(String::len).max().unwrap_or(0)
        );
    }
    ticker.abort();
}

/// Should Pinterest quote an event's clear-text values (IP, user agent, click id, page URL) in its per-event error
/// or warning, neither the log lines nor the API's results carry them.
#[tokio::test]
async fn pinterest_messages_quoting_an_events_values_are_redacted() {
    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Test/1.0";
    const URL: &str = "https://shop.example.com/checkout/done?epik=clk-1";
    let message = format!(
        "invalid client_ip_address {} from {UA} on {URL}",
        person::IP
    );
    let capture = Capture::start();
    let fake = FakePinterest::start_local().await;
    let state = state(&fake.base_url()).await;
    for _ in 0..2 {
        fake.script([Reply::FailWith(vec![0], message.clone())]);
    }
    let records = [Record::json("m-1", &good_event("r-1", "u-r1"))];
    let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(30)).await;
    assert_eq!(
        sqs_answer(&invocation),
        SqsAnswer::Partial(vec!["m-1".to_owned()])
    );
    let body = good_event("r-2", "u-r2").to_string();
    let api = invoke(
        &state,
        rest_api_event("POST", Some(body.as_bytes()), false),
        Duration::from_secs(30),
    )
    .await;
    let (status, api_body, _) = api_answer(&api);
    assert_eq!(status, 422);
    assert_eq!(
        api_body["results"][0]["error"],
        "invalid client_ip_address [redacted] from [redacted] on [redacted]"
    );
    let lines = capture.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("invalid client_ip_address [redacted]")),
        "{lines:#?}"
    );
    assert_clean(&capture, &[UA, URL]);
}

/// The same for Pinterest's text about a whole request (a 400 that names the bad value, a 503 retried): it may
/// quote any of the request's events, and goes into log lines and, for the events it rejects, into results.
#[tokio::test]
async fn pinterest_messages_about_a_whole_request_are_redacted_too() {
    const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Test/1.0";
    const URL: &str = "https://shop.example.com/checkout/done?epik=clk-1";
    let message = format!(
        "data.1.user_data.client_ip_address: {} is not valid (from {UA} on {URL})",
        person::IP
    );
    let capture = Capture::start();
    let fake = FakePinterest::start_local().await;
    let state = state(&fake.base_url()).await;
    // A 503 (retried), then a 400 for the request of two events and for each of its halves.
    fake.script([
        Reply::ErrorMessage(503, message.clone()),
        Reply::ErrorMessage(400, message.clone()),
        Reply::ErrorMessage(400, message.clone()),
        Reply::ErrorMessage(400, message.clone()),
    ]);
    let body = json!([good_event("q-1", "u-q1"), good_event("q-2", "u-q2")]).to_string();
    let api = invoke(
        &state,
        rest_api_event("POST", Some(body.as_bytes()), false),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(fake.requests().len(), 4);
    let (_, api_body, _) = api_answer(&api);
    for result in api_body["results"].as_array().expect("results") {
        let error = result["error"].as_str().expect("an error per event");
        assert!(error.starts_with("HTTP 400"), "{error}");
        assert!(
            error.ends_with(": [redacted] is not valid (from [redacted] on [redacted])"),
            "{error}"
        );
    }
    let lines = capture.lines();
    for (what, fragment) in [
        ("retry", "transient error; retrying"),
        ("refusal", "request refused"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(fragment) && l.contains("[redacted] is not valid")),
            "no redacted {what} line: {lines:#?}"
        );
    }
    assert_clean(&capture, &[UA, URL]);
}

/// Personal data where mapping can't use it: every warning names the field, never the value.
fn malformed_personal_event(event_id: &str) -> Value {
    let mut event = good_event(event_id, "u-malformed");
    event["user"]["birthdate"] = json!(format!("{} 1987", person::FIRST_NAME));
    event["user"]["gender"] = json!(person::LAST_NAME);
    event["user"]["state"] = json!(person::CITY);
    event["user"]["country"] = json!(person::LAST_NAME);
    event["user"]["zipcode"] = json!({"postcode": person::POSTCODE});
    event["user"]["phone"] = json!([person::PHONE]);
    event["partners"] = json!({"pinterest": {"opt_out": person::FIRST_NAME}});
    event["context"]["device"]["network"] = json!({"wifi": person::LAST_NAME});
    event["context"]["device"]["lang"] = json!(person::CITY);
    event["currency"] = json!(person::LAST_NAME);
    event["value"] = json!(person::PHONE);
    event["items"] = json!([{"id": "A", "quantity": person::FIRST_NAME, "product": {"price": person::LAST_NAME}}]);
    event
}

#[tokio::test]
async fn mapping_warnings_and_rejections_name_fields_not_values() {
    let capture = Capture::start();
    let fake = FakePinterest::start_local().await;
    let state = state(&fake.base_url()).await;
    // Rejected for its timestamp, with personal data all over it.
    let mut rejected = malformed_personal_event("w-2");
    rejected["context"]["event_timestamp"] = json!(format!("{} at noon", person::FIRST_NAME));
    // Rejected for its identity: only unusable values.
    let mut no_identity = malformed_personal_event("w-3");
    no_identity["user"]["email"] = json!({"address": person::EMAIL});
    no_identity["context"]["device"] = json!({"ip": [person::IP]});
    let records = [
        Record::json("m-1", &malformed_personal_event("w-1")),
        Record::json("m-2", &json!([rejected, no_identity])),
    ];
    let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(30)).await;
    assert_eq!(
        sqs_answer(&invocation),
        SqsAnswer::Partial(vec!["m-2".to_owned()])
    );
    let body = json!([malformed_personal_event("w-4"), rejected, no_identity]).to_string();
    for event in [
        rest_api_event("POST", Some(body.as_bytes()), false),
        http_api_event("POST", Some(body.as_bytes()), true),
    ] {
        let (status, answer, _) = api_answer(&invoke(&state, event, Duration::from_secs(30)).await);
        assert_eq!(status, 422);
        let text = answer.to_string();
        let found = leaks(std::slice::from_ref(&text), &secrets());
        assert!(
            found.is_empty(),
            "personal data in the API answer: {found:?}"
        );
    }
    let warnings = capture.containing("; ignored");
    assert!(warnings.len() >= 10, "{warnings:#?}");
    for field in [
        "user_data.db",
        "user_data.ge",
        "user_data.st",
        "custom_data.currency",
        "opt_out",
        "wifi",
    ] {
        assert!(
            warnings.iter().any(|w| w.contains(field)),
            "no warning names {field}"
        );
    }
    assert!(capture.containing("user_data: no identity").len() >= 2);
    assert_clean(&capture, &[]);
}

/// One event with many items unreadable the same way logs that warning once with its count, not a line per item,
/// and is still sent.
#[tokio::test]
async fn repeated_warnings_of_one_event_are_logged_once_with_a_count() {
    let capture = Capture::start();
    let fake = FakePinterest::start_local().await;
    let state = state(&fake.base_url()).await;
    let mut flood = good_event("w-flood", "u-flood");
    flood["items"] = json!(vec![json!({"id": "SKU-1", "price": "19,90"}); 500]);
    let records = [Record::json("m-flood", &flood)];
    let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(30)).await;
    assert_eq!(sqs_answer(&invocation), SqsAnswer::Partial(Vec::new()));
    assert_eq!(fake.requests().len(), 1);
    let warnings = capture.containing("w-flood");
    let per_item: Vec<&String> = warnings
        .iter()
        .filter(|line| line.contains("item price"))
        .collect();
    assert_eq!(per_item.len(), 1, "{warnings:#?}");
    assert!(
        per_item[0].contains("; ignored (500 times)"),
        "{per_item:?}"
    );
}
