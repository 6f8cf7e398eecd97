//! Runs the built `pinterest-cli`: `map` on a single event, an array, JSON lines and broken input; `replay` dry and sent.

use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Output, Stdio};

const CLI: &str = env!("CARGO_BIN_EXE_pinterest-cli");

fn good(id: &str) -> Value {
    json!({"event_name": "purchase", "value": "19.90", "context": {"event_id": id, "device": {"ip": "192.0.2.1", "user_agent": "UA"}}})
}

fn run(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(CLI)
        .args(args)
        .env_remove("PINTEREST_MAPPING")
        .env_remove("PINTEREST_MAPPING_FILE")
        .env_remove("PINTEREST_ACCESS_TOKEN")
        .env_remove("PINTEREST_TOKEN_SECRET_ID")
        .env_remove("PINTEREST_API_BASE_URL")
        .env_remove("PINTEREST_TEST_MODE")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The CLI may exit (e.g. on a bad argument) before reading its input: a broken pipe is expected then.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn maps_one_event_from_stdin_reproducibly() {
    let out = run(
        &["map", "--now", "1700000000"],
        good("a").to_string().as_bytes(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        lines(&out),
        vec![json!({"index": 0, "status": "mapped", "event": {
            "event_name": "checkout", "action_source": "web", "event_time": 1_700_000_000, "event_id": "a",
            "user_data": {"client_ip_address": "192.0.2.1", "client_user_agent": "UA"},
            "custom_data": {"value": "19.90"}
        }})]
    );
}

#[test]
fn half_an_emoji_is_replaced_and_the_event_mapped() {
    // `JSON.stringify` of a string cut inside an emoji: a lone high surrogate escape.
    let mut event = good("a");
    event["search_term"] = json!("caf");
    let text = event.to_string().replace(r#""caf""#, r#""caf\ud83d""#);
    let out = run(&["map", "--now", "1700000000"], text.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(0));
    let lines = lines(&out);
    assert_eq!(lines[0]["status"], "mapped", "{lines:?}");
    assert_eq!(
        lines[0]["event"]["custom_data"]["search_string"],
        "caf\u{fffd}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("replaced by U+FFFD"));
}

#[test]
fn maps_an_array_in_order_with_every_status() {
    let input = json!([good("a"), {"event_name": "newsletter_optin"}, {"event_name": "purchase"}, good("d")]);
    let out = run(
        &["map", "--now", "1700000000"],
        input.to_string().as_bytes(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    let lines = lines(&out);
    let statuses: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l["index"].as_u64().unwrap(),
                l["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            (0, "mapped".into()),
            (1, "skipped".into()),
            (2, "rejected".into()),
            (3, "mapped".into())
        ]
    );
    assert_eq!(
        lines[1]["reason"],
        "event_name 'newsletter_optin' has no Pinterest mapping"
    );
    assert!(
        lines[2]["error"]
            .as_str()
            .unwrap()
            .contains("event_id: missing")
    );
    assert_eq!(lines[3]["event"]["event_id"], "d");
}

#[test]
fn json_lines_with_a_broken_line_reject_only_that_index() {
    let input = format!("{}\n{{not json\n\n{}\n", good("a"), good("c"));
    let out = run(&["map", "--now", "1700000000"], input.as_bytes(), &[]);
    assert_eq!(out.status.code(), Some(0));
    let lines = lines(&out);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["status"], "mapped");
    assert_eq!(lines[1]["status"], "rejected");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("input: not JSON")
    );
    assert_eq!(lines[2]["event"]["event_id"], "c");
}

#[test]
fn reads_a_file_and_honours_the_mapping_settings() {
    let path = std::env::temp_dir().join(format!("cli-events-{}.json", std::process::id()));
    std::fs::write(&path, json!({"event_name": "optin", "context": {"event_id": "x", "device": {"cookie": "_pc=click-1"}}, "user": {"email": "a@b.c"}}).to_string()).unwrap();
    let out = run(
        &["map", path.to_str().unwrap(), "--now", "1700000000"],
        b"",
        &[
            ("PINTEREST_MAPPING", r#"{"event_names":{"optin":"lead"}}"#),
            ("PINTEREST_CLICK_ID_COOKIE", "_pc"),
        ],
    );
    std::fs::remove_file(&path).ok();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = lines(&out);
    assert_eq!(lines[0]["event"]["event_name"], "lead");
    assert_eq!(lines[0]["event"]["user_data"]["click_id"], "click-1");
}

#[test]
fn unreadable_input_or_bad_settings_exit_2_with_a_clear_message() {
    let out = run(&["map", "/nonexistent/events.json"], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/events.json"));
    let out = run(
        &["map"],
        b"{}",
        &[("PINTEREST_MAPPING", r#"{"fields":{"user_data.mail":"x"}}"#)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PINTEREST_MAPPING: fields.user_data.mail")
    );
    let out = run(&["map", "--now", "soon"], b"{}", &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["frobnicate"], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_is_printed_before_and_after_either_command() {
    for args in [
        &["--help"][..],
        &["-h"],
        &["map", "--help"],
        &["replay", "--help"],
        &["replay", "events.json", "-h"],
    ] {
        let out = run(args, b"", &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let usage = String::from_utf8_lossy(&out.stdout);
        assert!(
            usage.contains("pinterest-cli map") && usage.contains("pinterest-cli replay"),
            "{args:?}: {usage}"
        );
    }
}

#[test]
fn non_utf8_and_non_object_input_are_rejected_per_index() {
    let out = run(&["map", "--now", "1700000000"], b"\xff\xfe\n[1,2]\n", &[]);
    assert_eq!(out.status.code(), Some(0));
    let lines = lines(&out);
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|l| l["status"] == "rejected"));
    assert_eq!(
        lines[1]["error"],
        "event: expected a JSON object, got an array"
    );
}

fn sqs_fixture() -> String {
    format!("{}/events/sqs.json", env!("CARGO_MANIFEST_DIR"))
}

/// The message ids `events/sqs.json` must report: its rejected and its unreadable record.
fn expected_sqs_failures() -> Vec<Value> {
    let batch: Value =
        serde_json::from_str(&std::fs::read_to_string(sqs_fixture()).unwrap()).unwrap();
    let records = batch["Records"].as_array().unwrap();
    let id = |i: usize| json!({"itemIdentifier": records[i]["messageId"]});
    vec![id(3), id(4)]
}

#[test]
fn replay_dry_run_prints_the_requests_with_the_token_redacted_and_the_response() {
    let out = run(
        &["replay", &sqs_fixture()],
        b"",
        &[
            ("PINTEREST_ACCESS_TOKEN", "pina_must_not_show"),
            ("PINTEREST_AD_ACCOUNT_ID", ""),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("pina_must_not_show")
            && !String::from_utf8_lossy(&out.stderr).contains("pina_must_not_show")
    );
    let lines = lines(&out);
    assert_eq!(lines.len(), 2, "{stdout}");
    let request = &lines[0]["request"];
    assert_eq!(request["headers"]["Authorization"], "Bearer **REDACTED**");
    assert_eq!(
        request["url"],
        "https://api.pinterest.com/v5/ad_accounts/000000000000/events"
    );
    assert_eq!(request["body"]["data"].as_array().unwrap().len(), 3);
    assert!(crate::support::schema::request_errors(&request["body"]).is_empty());
    assert_eq!(
        lines[1]["response"]["batchItemFailures"],
        json!(expected_sqs_failures())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn replay_send_delivers_to_pinterest_in_test_mode() {
    let fake = crate::support::fake_pinterest::FakePinterest::start().await;
    let base_url = fake.base_url();
    let out = run(
        &["replay", &sqs_fixture(), "--send"],
        b"",
        &[
            (
                "PINTEREST_ACCESS_TOKEN",
                crate::support::fake_pinterest::TOKEN,
            ),
            (
                "PINTEREST_AD_ACCOUNT_ID",
                crate::support::fake_pinterest::AD_ACCOUNT_ID,
            ),
            ("PINTEREST_API_BASE_URL", &base_url),
            ("PINTEREST_TEST_MODE", "true"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = lines(&out);
    assert_eq!(lines.len(), 1, "a real send prints only the response");
    assert_eq!(
        lines[0]["response"]["batchItemFailures"],
        json!(expected_sqs_failures())
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].test_mode && requests[0].authorized);
    assert_eq!(requests[0].event_ids.len(), 3);
    assert!(fake.schema_violations().is_empty());
}

#[test]
fn replay_send_without_a_token_is_refused() {
    let out = run(
        &["replay", &sqs_fixture(), "--send"],
        b"",
        &[("PINTEREST_AD_ACCOUNT_ID", "1")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--send needs PINTEREST_ACCESS_TOKEN"));
}
