//! Runs the built `pinterest-cli`: `map` on a single event, an array, JSON lines and broken input; `replay` dry and
//! sent, and on rejected-queue messages; `check` against the fake Pinterest.

use crate::support::fake_pinterest::{AD_ACCOUNT_ID, FakePinterest, Reply, TOKEN};
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
        .env_remove("PINTEREST_EVENT_TABLE")
        .env_remove("PINTEREST_CONSENT_CATEGORIES")
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
fn map_shows_events_the_consent_gate_filters_and_honours_the_event_table() {
    let consented = {
        let mut event = good("a");
        event["user"] = json!({"consent_categories": [3]});
        event
    };
    let mut checkout = good("b");
    checkout["event_name"] = json!("begin_checkout");
    let input = format!("{consented}\n{checkout}\n");
    let env = [
        ("PINTEREST_CONSENT_CATEGORIES", "3"),
        ("PINTEREST_EVENT_TABLE", "current"),
    ];
    let out = run(&["map", "--now", "1700000000"], input.as_bytes(), &env);
    assert_eq!(out.status.code(), Some(0));
    let shown = lines(&out);
    assert_eq!(shown[0]["status"], "mapped");
    assert_eq!(
        shown[1],
        json!({"index": 1, "status": "filtered",
               "reason": "user.consent_categories: missing; the consent gate needs one of 3"})
    );
    let out = run(
        &["map", "--now", "1700000000"],
        checkout.to_string().as_bytes(),
        &env[1..],
    );
    assert_eq!(lines(&out)[0]["event"]["event_name"], "initiate_checkout");
    let out = run(&["map"], b"{}", &[("PINTEREST_CONSENT_CATEGORIES", "3;5")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PINTEREST_CONSENT_CATEGORIES"));
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
fn help_lists_every_command_and_each_command_has_its_own() {
    for args in [&["--help"][..], &["-h"], &["help"]] {
        let out = run(args, b"", &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let usage = String::from_utf8_lossy(&out.stdout);
        for command in ["map", "replay", "check", "fake-pinterest"] {
            assert!(
                usage.contains(&format!("pinterest-cli {command}")),
                "{args:?}: {usage}"
            );
        }
    }
    for (args, command) in [
        (&["map", "--help"][..], "map"),
        (&["help", "map"], "map"),
        (&["replay", "--help"], "replay"),
        (&["replay", "events.json", "-h"], "replay"),
        (&["help", "check"], "check"),
        (&["fake-pinterest", "--help"], "fake-pinterest"),
    ] {
        let out = run(args, b"", &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.starts_with(&format!("usage: pinterest-cli {command}")),
            "{args:?}: {help}"
        );
        let others = ["map", "replay", "check", "fake-pinterest"]
            .into_iter()
            .filter(|c| *c != command);
        for other in others {
            assert!(
                !help.contains(&format!("pinterest-cli {other} ")),
                "{args:?} shows {other}: {help}"
            );
        }
    }
    let out = run(&["help", "nope"], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown command 'nope'"));
}

#[test]
fn version_prints_the_crates_version() {
    for flag in ["--version", "-V"] {
        let out = run(&[flag], b"", &[]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            format!("pinterest-cli {}", env!("CARGO_PKG_VERSION"))
        );
    }
}

#[test]
fn fake_pinterest_refuses_a_port_that_is_not_a_number() {
    let out = run(&["fake-pinterest", "--port", "http"], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--port: expected a port number from 0 to 65535, got 'http'"),
        "{stderr}"
    );
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
    // Nothing was sent, and the summary does not say delivered.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("dry run sqs: 5 records, 5 events: 3 would_send, 1 skipped"),
        "{stderr}"
    );
    assert!(!stderr.contains("delivered"), "{stderr}");
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
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("PINTEREST_TEST_MODE is on") && stderr.contains("does not record them"),
        "{stderr}"
    );
}

#[test]
fn a_dry_run_in_test_mode_says_pinterest_would_not_record_the_events() {
    for (mode, said) in [("true", true), ("false", false)] {
        let out = run(
            &["replay", &sqs_fixture()],
            b"",
            &[("PINTEREST_TEST_MODE", mode)],
        );
        assert_eq!(out.status.code(), Some(0));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.contains("does not record them"), said, "{stderr}");
        assert_eq!(
            lines(&out)[0]["request"]["url"]
                .as_str()
                .unwrap()
                .ends_with("?test=true"),
            said
        );
    }
}

/// `pinterest-cli check` against the fake Pinterest, with the token in the environment; its one line and exit
/// status.
async fn check(fake: &FakePinterest, env: &[(&str, &str)]) -> (Option<i32>, String) {
    let base_url = fake.base_url();
    let mut vars = vec![
        ("PINTEREST_AD_ACCOUNT_ID", AD_ACCOUNT_ID),
        ("PINTEREST_API_BASE_URL", base_url.as_str()),
    ];
    vars.extend_from_slice(env);
    let out = tokio::task::block_in_place(|| run(&["check"], b"", &vars));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
    assert!(
        !stdout.contains(TOKEN) && !String::from_utf8_lossy(&out.stderr).contains(TOKEN),
        "the token is never printed"
    );
    (out.status.code(), stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn check_says_whether_the_token_and_the_account_work_and_what_to_do_if_not() {
    let fake = FakePinterest::start().await;
    // Whatever PINTEREST_TEST_MODE says, the check's event is a test event.
    let (code, line) = check(
        &fake,
        &[
            ("PINTEREST_ACCESS_TOKEN", TOKEN),
            ("PINTEREST_TEST_MODE", "false"),
        ],
    )
    .await;
    assert_eq!(code, Some(0), "{line}");
    assert!(line.starts_with("OK: the token and ad account"), "{line}");
    assert!(line.contains("does not record it"), "{line}");
    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].test_mode && requests[0].authorized);
    assert_eq!(requests[0].ad_account_id, AD_ACCOUNT_ID);
    assert_eq!(requests[0].status, 200);
    assert!(
        fake.schema_violations().is_empty(),
        "{:?}",
        fake.schema_violations()
    );
    assert!(fake.user_data_violations().is_empty());

    let cases = [
        (Reply::Status(403), "HTTP 403", "ads:write"),
        (Reply::Status(404), "HTTP 404", "PINTEREST_AD_ACCOUNT_ID"),
        (Reply::Status(400), "HTTP 400", "Invalid parameters"),
        (Reply::Status(503), "UNKNOWN", "try again later"),
        (Reply::Status(429), "UNKNOWN", "try again later"),
    ];
    for (reply, status, hint) in cases {
        fake.script([reply.clone()]);
        let (code, line) = check(&fake, &[("PINTEREST_ACCESS_TOKEN", TOKEN)]).await;
        assert_eq!(code, Some(1), "{reply:?}: {line}");
        assert!(
            line.contains(status) && line.contains(hint),
            "{reply:?}: {line}"
        );
    }
    // A token Pinterest does not know.
    fake.set_token("pina_another_token");
    let (code, line) = check(&fake, &[("PINTEREST_ACCESS_TOKEN", TOKEN)]).await;
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.starts_with("FAILED (HTTP 401)") && line.contains("new conversion access token"),
        "{line}"
    );
    // Nothing listens: try later.
    let (code, line) = check(
        &fake,
        &[
            ("PINTEREST_ACCESS_TOKEN", TOKEN),
            ("PINTEREST_API_BASE_URL", "http://127.0.0.1:9/v5"),
        ],
    )
    .await;
    assert_eq!(code, Some(1), "{line}");
    assert!(
        line.contains("connection failed") && line.contains("try again later"),
        "{line}"
    );
    assert!(fake.requests().iter().all(|r| r.test_mode));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reads_the_token_from_the_secret_as_the_function_does() {
    let fake = FakePinterest::start().await;
    let moto = crate::support::moto::Moto::start().await;
    moto.create_secret(
        "pinterest/check",
        &json!({"access_token": TOKEN}).to_string(),
    )
    .await;
    let endpoint = moto.endpoint().to_owned();
    let secret = [
        ("PINTEREST_TOKEN_SECRET_ID", "pinterest/check"),
        // The secret wins over a token in the environment, as in the function.
        ("PINTEREST_ACCESS_TOKEN", "pina_not_this_one"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ];
    let (code, line) = check(&fake, &secret).await;
    assert_eq!(code, Some(0), "{line}");
    assert!(fake.requests()[0].authorized);
    let missing = [
        ("PINTEREST_TOKEN_SECRET_ID", "pinterest/none"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
    ];
    let (code, line) = check(&fake, &missing).await;
    assert_eq!(code, Some(1), "{line}");
    assert!(line.contains("the token secret was not found"), "{line}");
    assert_eq!(fake.requests().len(), 1, "nothing sent without a token");
    // No token setting at all: a usage error.
    let out = run(
        &["check"],
        b"",
        &[("PINTEREST_AD_ACCOUNT_ID", AD_ACCOUNT_ID)],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("check needs PINTEREST_TOKEN_SECRET_ID"));
}

/// Messages of the rejected-events queue, as `aws sqs receive-message` prints them or as message bodies one a
/// line, replay as an SQS batch of one record each: after a fix (here a mapping that finds the e-mail where
/// the producer put it), the event maps; a body that is still not JSON is still listed, by its source id.
#[test]
fn replay_takes_rejected_queue_messages_after_a_fix() {
    let fixed = json!({"event": {"event_name": "purchase", "user": {"mail": "a@example.com"},
                                 "context": {"event_id": "e-fixed"}},
                       "reason": "user_data: no identity", "stage": "mapping",
                       "source_message_id": "m-1", "source_queue_arn": "arn:aws:sqs:eu-west-1:123456789012:events",
                       "rejected_at": 1_800_000_000});
    let broken = json!({"event": "{\"event_name\": oops", "reason": "body: not JSON", "stage": "input",
                        "source_message_id": "m-2", "source_queue_arn": "arn:aws:sqs:eu-west-1:123456789012:events",
                        "rejected_at": 1_800_000_000});
    let received = json!({"Messages": [
        {"MessageId": "q-1", "ReceiptHandle": "h1", "Body": fixed.to_string()},
        {"MessageId": "q-2", "ReceiptHandle": "h2", "Body": broken.to_string()},
    ]});
    let lines_file = format!("{fixed}\n{broken}\n");
    let mapping = (
        "PINTEREST_MAPPING",
        r#"{"fields": {"user_data.em": "user.mail"}}"#,
    );
    for (name, text) in [("received", received.to_string()), ("lines", lines_file)] {
        let path = temp_file(&format!("rejected-{name}.json"), text.as_bytes());
        let out = run(&["replay", path.to_str().unwrap()], b"", &[mapping]);
        std::fs::remove_file(&path).ok();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = lines(&out);
        assert_eq!(printed.len(), 2, "{printed:?}");
        let data = &printed[0]["request"]["body"]["data"];
        assert_eq!(data.as_array().unwrap().len(), 1);
        assert_eq!(data[0]["event_id"], "e-fixed");
        assert_eq!(
            printed[1]["response"]["batchItemFailures"],
            json!([{"itemIdentifier": "m-2"}])
        );
    }
    // Without the fix, the event is still rejected, under its source id.
    let path = temp_file("rejected-unfixed.json", received.to_string().as_bytes());
    let out = run(&["replay", path.to_str().unwrap()], b"", &[]);
    std::fs::remove_file(&path).ok();
    assert_eq!(
        lines(&out)[0]["response"]["batchItemFailures"],
        json!([{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-2"}])
    );
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

/// A file in the temporary directory holding `bytes`, named after `name` and this process.
fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("cli-{name}-{}.json", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

const USAGE_START: &str = "usage:\n  pinterest-cli map";

#[test]
fn replay_of_a_handler_error_exits_1_and_a_commanders_act_event_gets_a_hint() {
    let fixture = format!(
        "{}/tests/fixtures/commandersact/mobile-sdk-add-to-cart.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = run(&["replay", &fixture], b"", &[]);
    assert_eq!(out.status.code(), Some(1));
    let printed = lines(&out);
    assert_eq!(printed.len(), 1);
    assert!(
        printed[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("unsupported event: "),
        "{printed:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`pinterest-cli map FILE` previews its mapping")
            && stderr.contains("`replay` takes a Lambda event")
            && stderr.contains("events/"),
        "{stderr}"
    );
    for (name, document) in [
        ("empty-object", "{}"),
        ("empty-array", "[]"),
        ("null", "null"),
    ] {
        let path = temp_file(&format!("replay-{name}"), document.as_bytes());
        let out = run(&["replay", path.to_str().unwrap()], b"", &[]);
        std::fs::remove_file(&path).ok();
        assert_eq!(out.status.code(), Some(1), "{document}");
        assert!(
            lines(&out)[0]["error"]
                .as_str()
                .unwrap()
                .starts_with("unsupported event: "),
            "{document}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("hint"),
            "{document}"
        );
    }
    let usage = String::from_utf8_lossy(&run(&["--help"], b"", &[]).stdout).into_owned();
    assert!(
        usage.contains(
            "Exit status: 0 when the input was read (and, for replay, the handler answered; for check, the\n\
             token and the account work), 1 when the replayed handler returned a function error or the\n\
             check failed, 2 when the input or a setting could not be read."
        ),
        "{usage}"
    );
}

#[test]
fn map_of_an_empty_input_exits_2_and_dash_reads_stdin() {
    const EMPTY: &str = "pinterest-cli: input: empty (expected a JSON event, a JSON array of events or JSON lines)\n";
    for input in [&b""[..], b"  \n\t\r\n", b"\xEF\xBB\xBF\n"] {
        for args in [&["map", "--now", "1700000000"][..], &["map", "-"]] {
            let out = run(args, input, &[]);
            assert_eq!(out.status.code(), Some(2), "{args:?} {input:?}");
            assert!(out.stdout.is_empty());
            assert_eq!(String::from_utf8_lossy(&out.stderr), EMPTY);
        }
        let path = temp_file("map-empty", input);
        let out = run(&["map", path.to_str().unwrap()], b"", &[]);
        std::fs::remove_file(&path).ok();
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), EMPTY);
    }
    // An empty array is a valid input of no events, and the CLI says so.
    let out = run(&["map"], b" [ ]\n", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "pinterest-cli: input: an empty array, nothing to map\n"
    );
    let out = run(
        &["map", "-", "--now", "1700000000"],
        good("a").to_string().as_bytes(),
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines(&out)[0]["event"]["event_id"], "a");
}

#[test]
fn map_of_a_lambda_event_points_to_replay() {
    let dir = format!("{}/events", env!("CARGO_MANIFEST_DIR"));
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        files += 1;
        let out = run(&["map", path.to_str().unwrap()], b"", &[]);
        assert_eq!(out.status.code(), Some(2), "{path:?}");
        assert!(out.stdout.is_empty(), "{path:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("a Lambda event (SQS batch or API Gateway request)")
                && stderr.contains("use `pinterest-cli replay FILE`"),
            "{path:?}: {stderr}"
        );
    }
    assert!(files >= 4);
    for lambda in [
        json!({"Records": []}),
        json!({"requestContext": {}}),
        json!({"httpMethod": "POST"}),
        json!({"routeKey": "POST /events"}),
    ] {
        let out = run(&["map"], lambda.to_string().as_bytes(), &[]);
        assert_eq!(out.status.code(), Some(2), "{lambda}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("pinterest-cli replay FILE"));
        // Inside an array or JSON lines, such an object is an event like any other.
        for input in [json!([lambda]).to_string(), format!("{lambda}\n{lambda}\n")] {
            let out = run(&["map"], input.as_bytes(), &[]);
            assert_eq!(out.status.code(), Some(0), "{input}");
            assert!(
                lines(&out).iter().all(|l| l["status"] == "rejected"
                    && l["error"].as_str().unwrap().contains("event_name: missing")),
                "{input}"
            );
        }
    }
    // `Records` that is no array is not a Lambda event.
    let out = run(&["map"], br#"{"Records": 1}"#, &[]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn now_must_be_unix_seconds_from_0_to_year_9999() {
    for value in [
        "abc",
        "-1",
        "1.5",
        "",
        "253402300800",
        "-9223372036854775808",
        "9223372036854775808",
    ] {
        for args in [
            vec!["map".to_string(), "--now".to_string(), value.to_string()],
            vec!["map".to_string(), format!("--now={value}")],
        ] {
            let out = run(
                &args.iter().map(String::as_str).collect::<Vec<_>>(),
                good("a").to_string().as_bytes(),
                &[],
            );
            assert_eq!(out.status.code(), Some(2), "{args:?}");
            assert!(out.stdout.is_empty());
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                format!(
                    "pinterest-cli: --now: expected Unix seconds (a whole number from 0 to 253402300799), got '{value}'\n"
                ),
                "{args:?}"
            );
        }
    }
    for value in ["0", "253402300799"] {
        let out = run(
            &["map", "--now", value],
            good("a").to_string().as_bytes(),
            &[],
        );
        assert_eq!(out.status.code(), Some(0), "{value}");
        assert_eq!(lines(&out).len(), 1);
    }
}

#[test]
fn a_leading_byte_order_mark_is_skipped() {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let event = [BOM, good("a").to_string().as_bytes()].concat();
    let path = temp_file("map-bom", &event);
    let from_file = run(
        &["map", path.to_str().unwrap(), "--now", "1700000000"],
        b"",
        &[],
    );
    std::fs::remove_file(&path).ok();
    let from_stdin = run(&["map", "--now", "1700000000"], &event, &[]);
    for out in [from_file, from_stdin] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(lines(&out)[0]["status"], "mapped");
        assert_eq!(lines(&out)[0]["event"]["event_id"], "a");
    }
    // JSON lines: the mark is skipped before the first line only.
    let input = [BOM, format!("{}\n{}\n", good("a"), good("b")).as_bytes()].concat();
    let out = run(&["map", "--now", "1700000000"], &input, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(lines(&out).iter().all(|l| l["status"] == "mapped"));
    // Only one mark is skipped: a second one leaves no JSON at all, which is an error.
    let out = run(
        &["map", "--now", "1700000000"],
        &[BOM, &event].concat(),
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("input: not JSON"));

    let batch = [BOM, &std::fs::read(sqs_fixture()).unwrap()].concat();
    let path = temp_file("replay-bom", &batch);
    let out = run(&["replay", path.to_str().unwrap()], b"", &[]);
    std::fs::remove_file(&path).ok();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        lines(&out).last().unwrap()["response"]["batchItemFailures"],
        json!(expected_sqs_failures())
    );
}

#[test]
fn an_unknown_first_option_is_named_and_help_is_a_command() {
    for option in ["-x", "--verbose", "-v"] {
        let out = run(&[option], b"", &[]);
        assert_eq!(out.status.code(), Some(2), "{option}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.starts_with(&format!(
                "pinterest-cli: invalid option '{option}'\n{USAGE_START}"
            )),
            "{stderr}"
        );
    }
    let out = run(&[], b"", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with(&format!(
        "pinterest-cli: a command is required\n{USAGE_START}"
    )));
    let out = run(&["help"], b"", &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with(USAGE_START));
    assert!(out.stderr.is_empty());
}

#[test]
fn map_explain_shows_each_hashed_fields_source_and_value_before_hashing() {
    let mut event = good("a");
    event["user"] =
        json!({"email_sha256": "b".repeat(64), "firstname": " Zoë ", "phone": "+33 6 12 34 56 78"});
    let out = run(
        &["map", "--explain", "--now", "1700000000"],
        event.to_string().as_bytes(),
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        lines(&out)[0]["explained"],
        json!([
            {"field": "user_data.em", "source": "user.email_sha256", "normalised": null},
            {"field": "user_data.ph", "source": "user.phone", "normalised": "33612345678"},
            {"field": "user_data.fn", "source": "user.firstname", "normalised": "zoë"},
        ])
    );
    // Without the flag nothing is explained, and the help says what the flag prints.
    let out = run(
        &["map", "--now", "1700000000"],
        event.to_string().as_bytes(),
        &[],
    );
    assert!(lines(&out)[0].get("explained").is_none());
    let help = run(&["help", "map"], b"", &[]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("personal data in clear"));
}
