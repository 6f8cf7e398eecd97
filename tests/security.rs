//! What leaves the function and what it accepts: every outgoing `user_data` field is a 64-hex digest except the
//! four Pinterest wants raw; no clear personal data in a request; bodies over the API limit are refused on their
//! length, before any decoding; only `https` (or an explicit loopback URL) to Pinterest, and no redirect is
//! followed, so the token goes nowhere else. (The template's API key and the IAM scoping of the secret are
//! checked by `tests/template.rs`; the logs by `tests/log_hygiene.rs` and every row of `tests/faults.rs`.)

use std::time::Duration;

use crate::support::fake_pinterest::{FakePinterest, Reply, TOKEN, tick};
use crate::support::invoke::{
    Record, SqsAnswer, api_answer, good_event, http_api_event, invoke, person, rest_api_event,
    sqs_answer, sqs_event, state, state_with,
};
use base64::Engine as _;
use pinterest_destination::config::{DEFAULT_API_BASE_URL, Settings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Events carrying personal data in every form mapping accepts.
fn personal_events() -> Vec<Value> {
    let mut events = vec![good_event("p-0", "u-0")];
    // Already hashed, in upper case: passed through, lower-cased.
    let mut hashed = good_event("p-1", "u-1");
    hashed["user"]["email_sha256"] = json!(sha256("someone@example.org").to_uppercase());
    events.push(hashed);
    // Through the mobile paths and a click id from the cookie.
    let mut app = good_event("p-2", "u-2");
    app["context"]["app"] = json!({"name": "Shop", "namespace": "com.shop", "version": "1.2"});
    app["context"]["device"]["os"] = json!({"name": "Android", "version": "14"});
    app["context"]["device"]["cookie"] = json!("_epik=clk-cookie; other=1");
    app["context"]["page"]["url"] = json!("https://shop.example.com/app");
    app["user"]["state"] = json!("California");
    events.push(app);
    // Only the IP and user agent as identity.
    let mut anonymous = good_event("p-3", "u-3");
    anonymous["user"] = json!({});
    anonymous["context"]["device"]
        .as_object_mut()
        .expect("device")
        .remove("advertising_id");
    events.push(anonymous);
    events
}

#[tokio::test]
async fn outgoing_user_data_is_hashed_except_the_four_raw_fields() {
    let fake = FakePinterest::start_local().await;
    let state = state(&fake.base_url()).await;
    let events = personal_events();
    let records = vec![
        Record::json("m-1", &Value::Array(events[..2].to_vec())),
        Record::json("m-2", &Value::Array(events[2..].to_vec())),
    ];
    let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(30)).await;
    assert_eq!(sqs_answer(&invocation), SqsAnswer::Partial(Vec::new()));
    // The API path sends the same way.
    let body = Value::Array(events.clone()).to_string();
    let invocation = invoke(
        &state,
        http_api_event("POST", Some(body.as_bytes()), false),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(api_answer(&invocation).0, 200);

    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(fake.user_data_violations(), Vec::<String>::new());
    assert_eq!(fake.schema_violations(), Vec::<String>::new());
    let mut hashed_fields = 0;
    for request in &requests {
        let text = request.body.to_string();
        // Nothing personal in clear, except the IP, which Pinterest asks for raw.
        for value in person::IN_CLEAR {
            if value != person::IP {
                assert!(
                    !text.to_lowercase().contains(&value.to_lowercase()),
                    "{value} sent in clear"
                );
            }
        }
        for event in request.body["data"].as_array().expect("data") {
            let user_data = event["user_data"].as_object().expect("user_data");
            for (field, value) in user_data {
                match field.as_str() {
                    "client_ip_address" => assert_eq!(value, person::IP),
                    "client_user_agent" | "click_id" => assert!(value.is_string()),
                    _ => {
                        let digest = value[0].as_str().expect("a digest");
                        assert_eq!(value.as_array().map(Vec::len), Some(1), "{field}");
                        assert!(
                            digest.len() == 64
                                && digest
                                    .bytes()
                                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                            "{field} = {digest}"
                        );
                        hashed_fields += 1;
                    }
                }
            }
        }
    }
    let first = &requests[0].body["data"][0]["user_data"];
    assert_eq!(
        first["em"][0],
        sha256("zebulon.quixotewright@example.org"),
        "e-mail normalised then hashed"
    );
    assert_eq!(first["ph"][0], sha256("447700900123"));
    assert_eq!(first["ct"][0], sha256("llanfairpwllgwyngyll"));
    assert_eq!(
        requests[0].body["data"][1]["user_data"]["em"][0],
        sha256("someone@example.org"),
        "an upper-case digest is lower-cased, not hashed again"
    );
    assert_eq!(
        requests[0].body["data"][2]["user_data"]["click_id"],
        "clk-cookie"
    );
    assert!(hashed_fields >= 60, "{hashed_fields} hashed fields checked");
}

/// A body of exactly `len` bytes that is valid JSON: one event padded with spaces.
fn body_of(len: usize) -> Vec<u8> {
    let event = good_event("size-1", "u-size").to_string();
    assert!(event.len() <= len);
    let mut body = event.into_bytes();
    body.resize(len, b' ');
    body
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_on_their_length() {
    const LIMIT: usize = 65_536;
    let fake = FakePinterest::start_local().await;
    let state = state_with(&[
        ("PINTEREST_API_BASE_URL", &fake.base_url()),
        ("PINTEREST_ACCESS_TOKEN", TOKEN),
        ("PINTEREST_MAX_BODY_BYTES", &LIMIT.to_string()),
    ])
    .await;
    let status = |event: Value| {
        let state = &state;
        async move { api_answer(&invoke(state, event, Duration::from_secs(30)).await) }
    };
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    for make in [rest_api_event, http_api_event] {
        // Garbage one byte over the limit: 413, not a parse error, so nothing was parsed.
        let garbage = vec![b'{'; LIMIT + 1];
        let (code, body, _) = status(make("POST", Some(&garbage), false)).await;
        assert_eq!(code, 413, "{body}");
        assert_eq!(
            body["error"],
            format!("body: larger than the limit of {LIMIT} bytes")
        );
        // Base64 that would decode to more than the limit, made of characters that are not base64 at all:
        // 413, not "invalid base64", so nothing was decoded.
        let mut event = make("POST", None, true);
        event["body"] = json!("!".repeat((LIMIT / 3 + 1) * 4));
        assert_eq!(status(event).await.0, 413);
        // A 6 MB body (Lambda's payload limit) is refused the same way.
        let mut event = make("POST", None, false);
        event["body"] = json!("x".repeat(6 * 1024 * 1024 - 2048));
        assert_eq!(status(event).await.0, 413);
        // At the limit, plain and base64 (all three paddings): accepted and delivered.
        for len in [LIMIT, LIMIT - 1, LIMIT - 2] {
            let body = body_of(len);
            let (code, answer, _) = status(make("POST", Some(&body), false)).await;
            assert_eq!(code, 200, "plain body of {len} bytes: {answer}");
            let mut event = make("POST", None, true);
            event["body"] = json!(b64(&body));
            let (code, answer, _) = status(event).await;
            assert_eq!(code, 200, "base64 body of {len} bytes: {answer}");
        }
        // One byte over, base64: 413.
        let mut event = make("POST", None, true);
        event["body"] = json!(b64(&body_of(LIMIT + 1)));
        assert_eq!(status(event).await.0, 413);
    }
}

#[test]
fn only_https_or_an_explicit_loopback_url_reaches_pinterest() {
    let base_url = |url: &str| {
        Settings::from_env(|name| match name {
            "PINTEREST_AD_ACCOUNT_ID" => Some("1".to_owned()),
            "PINTEREST_API_BASE_URL" => Some(url.to_owned()),
            _ => None,
        })
        .map(|s| s.api_base_url)
    };
    let default =
        Settings::from_env(|name| (name == "PINTEREST_AD_ACCOUNT_ID").then(|| "1".to_owned()))
            .expect("settings");
    assert_eq!(default.api_base_url, DEFAULT_API_BASE_URL);
    assert!(DEFAULT_API_BASE_URL.starts_with("https://"));
    for accepted in [
        "https://api.pinterest.com/v5",
        "https://api.pinterest.com/v5/",
        "https://proxy.example.com:8443/pinterest/v5",
        "http://127.0.0.1:8080/v5",
        "http://127.0.0.2/v5",
        "http://localhost:9/v5",
        "http://[::1]:8080/v5",
    ] {
        assert!(base_url(accepted).is_ok(), "{accepted} refused");
    }
    for refused in [
        "http://api.pinterest.com/v5",
        "http://10.0.0.1/v5",
        "http://192.168.1.10:8080/v5",
        "http://0.0.0.0:8080/v5",
        "http://localhost.evil.example/v5",
        "http://127.0.0.1.nip.io/v5",
        "http://[::ffff:10.0.0.1]/v5",
        "ftp://127.0.0.1/v5",
        "file:///etc/passwd",
        "ws://127.0.0.1/v5",
        "api.pinterest.com/v5",
        "https://api.pinterest.com/v5?access_token=x",
        "https://api.pinterest.com/v5#x",
    ] {
        let error = base_url(refused).expect_err(refused);
        assert_eq!(error.name, "PINTEREST_API_BASE_URL", "{refused}");
    }
}

#[tokio::test(start_paused = true)]
async fn redirects_are_not_followed() {
    let ticker = tick(Duration::from_millis(1));
    let fake = FakePinterest::start_local().await;
    let elsewhere = FakePinterest::start_local().await;
    let state = state(&fake.base_url()).await;
    for status in [301, 302, 307, 308] {
        fake.set_default(Reply::Redirect(
            status,
            format!("{}/ad_accounts/1/events", elsewhere.base_url()),
        ));
        let records = [Record::json("m-1", &good_event("r-1", "u-r"))];
        let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(5)).await;
        // Not delivered, retried later by SQS; the bearer token went nowhere else.
        assert!(matches!(sqs_answer(&invocation), SqsAnswer::Error(_)));
    }
    ticker.abort();
    assert!(fake.requests().len() >= 4);
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test]
async fn answers_never_carry_the_token() {
    // The token Pinterest refuses, in the API's per-event errors and the invocation's error.
    let fake = FakePinterest::start_local().await;
    fake.set_token("pina_other_token");
    let state = state(&fake.base_url()).await;
    let body = good_event("t-1", "u-t").to_string();
    let invocation = invoke(
        &state,
        rest_api_event("POST", Some(body.as_bytes()), false),
        Duration::from_secs(30),
    )
    .await;
    let (status, answer, _) = api_answer(&invocation);
    assert_eq!(status, 503);
    assert!(answer.to_string().contains("HTTP 401"));
    assert!(!answer.to_string().contains(TOKEN));
    let records = [Record::json("m-1", &good_event("t-2", "u-t2"))];
    let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(30)).await;
    match sqs_answer(&invocation) {
        SqsAnswer::Error(e) => assert!(!e.contains(TOKEN)),
        other => panic!("{other:?}"),
    }
    for request in fake.requests() {
        assert!(!request.body.to_string().contains(TOKEN));
    }
}
