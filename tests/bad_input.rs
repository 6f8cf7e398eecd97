//! Bad input, from the corpus in `tests/bad_input/` (one case per file; `generate.py` writes them, `README.md`
//! describes them). Each body goes into an SQS batch between two good records, and through the REST API (v1)
//! and the HTTP API (v2): the good records are delivered, the bad one fails alone, with an error that names what
//! is wrong, and nothing panics. `lambda/*.json` are whole Lambda events of unknown or malformed shapes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::fake_pinterest::FakePinterest;
use crate::support::invoke::{
    Record, SqsAnswer, api_answer, good_event, http_api_event, invoke, rest_api_event, sqs_answer,
    sqs_event, state_with,
};
use crate::support::logs::Capture;
use pinterest_destination::mapping::fields::FIELDS;
use serde_json::Value;
use tokio::time::Instant;

/// `PINTEREST_MAX_BODY_BYTES` for these tests: the huge files are over it (it limits API Gateway bodies only).
const BODY_LIMIT: usize = 65_536;

/// What an SQS record holding the file becomes.
#[derive(Clone, Copy, Debug)]
enum Sqs {
    /// Listed in `batchItemFailures`; a log line contains this text.
    Listed(&'static str),
    /// Acknowledged (nothing wrong to report, e.g. an event without mapping is skipped); a log line contains
    /// this text.
    Acked(&'static str),
    /// Not sent through SQS: SQS only carries valid UTF-8 text, and base64 is API Gateway's encoding.
    ApiOnly,
}

/// One row: the file, its SQS outcome, and its API status with a text the API's error (or one of its
/// per-event errors) contains.
struct Expect {
    file: &'static str,
    sqs: Sqs,
    api: (u16, &'static str),
}

const fn row(file: &'static str, sqs: Sqs, status: u16, text: &'static str) -> Expect {
    Expect {
        file,
        sqs,
        api: (status, text),
    }
}

use Sqs::{Acked, ApiOnly, Listed};

const EXPECTED: &[Expect] = &[
    row(
        "not-json-truncated.txt",
        Listed("body: not JSON (EOF while parsing"),
        400,
        "body: not JSON (EOF while parsing",
    ),
    row(
        "not-json-text.txt",
        Listed("body: not JSON (expected value"),
        400,
        "body: not JSON (expected value",
    ),
    row("empty.txt", Listed("body: empty"), 400, "body: empty"),
    row("whitespace.txt", Listed("body: empty"), 400, "body: empty"),
    row(
        "bom.json",
        Listed("body: not JSON (expected value at line 1 column 1)"),
        400,
        "body: not JSON (expected value at line 1 column 1)",
    ),
    row(
        "scalar-number.json",
        Listed("body: expected an event object or an array of events"),
        400,
        "body: expected an event object, an array of events",
    ),
    row(
        "scalar-string.json",
        Listed("body: expected an event object or an array of events"),
        400,
        "body: expected an event object, an array of events",
    ),
    row(
        "scalar-null.json",
        Listed("body: expected an event object or an array of events"),
        400,
        "body: expected an event object, an array of events",
    ),
    row(
        "scalar-bool.json",
        Listed("body: expected an event object or an array of events"),
        400,
        "body: expected an event object, an array of events",
    ),
    row(
        "object-empty.json",
        Listed("event_name: missing"),
        422,
        "event_name: missing",
    ),
    row(
        "array-empty.json",
        Acked("record holds an empty array"),
        400,
        "body: no events",
    ),
    row(
        "array-of-scalars.json",
        Listed("event: expected a JSON object, got a number"),
        400,
        "body: events[0]: expected an event object, found a number",
    ),
    row(
        "events-not-array.json",
        Listed("event_name: missing"),
        400,
        "body: \"events\" must be an array of events",
    ),
    row(
        "numbers-nan.txt",
        Listed("body: not JSON (expected value"),
        400,
        "body: not JSON (expected value",
    ),
    row(
        "numbers-out-of-range.json",
        Listed("body: not JSON (number out of range"),
        400,
        "body: not JSON (number out of range",
    ),
    row(
        "numbers-extreme.json",
        Listed("event_time (context.event_timestamp)"),
        422,
        "event_time (context.event_timestamp)",
    ),
    row(
        "wrong-types-object.json",
        Listed("event_name: not a string or a number (event_name)"),
        422,
        "event_id: not a string or a number (context.event_id)",
    ),
    row(
        "wrong-types-array.json",
        Listed("event_name: not a string or a number (event_name)"),
        422,
        "event_id: not a string or a number (context.event_id)",
    ),
    row(
        "wrong-types-bool.json",
        Listed("event_name: not a string or a number (event_name)"),
        422,
        "event_id: not a string or a number (context.event_id)",
    ),
    row(
        "deep-nesting-array.json",
        Listed("body: not JSON (recursion limit exceeded"),
        400,
        "body: not JSON (recursion limit exceeded",
    ),
    row(
        "deep-nesting-object.json",
        Listed("body: not JSON (recursion limit exceeded"),
        400,
        "body: not JSON (recursion limit exceeded",
    ),
    row(
        "nesting-under-the-limit.json",
        Acked("invocation summary"),
        200,
        "",
    ),
    row(
        "huge-string-event-name.json",
        Acked("has no Pinterest mapping"),
        200,
        "has no Pinterest mapping",
    ),
    row(
        "huge-string-url.json",
        Acked("invocation summary"),
        413,
        "body: larger than the limit of 65536 bytes",
    ),
    row(
        "huge-array-items.json",
        Acked("invocation summary"),
        413,
        "body: larger than the limit of 65536 bytes",
    ),
    row(
        "huge-array-of-non-events.json",
        Listed("event: expected a JSON object, got a number"),
        400,
        "body: events[3]: expected an event object, found a number",
    ),
    row(
        "lone-surrogate.json",
        Acked("lone UTF-16 surrogate escapes (half an emoji) replaced by U+FFFD"),
        200,
        "",
    ),
    row(
        "invalid-utf8.bin",
        ApiOnly,
        400,
        "body: not JSON (invalid unicode code point",
    ),
    row("not-base64.b64", ApiOnly, 400, "body: invalid base64"),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_input")
}

/// The corpus files (bodies), by name.
fn corpus_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("corpus directory")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| {
            [".json", ".txt", ".bin", ".b64"]
                .iter()
                .any(|ext| name.ends_with(ext))
        })
        .collect()
}

#[test]
fn every_corpus_file_has_an_expectation() {
    let listed: BTreeSet<String> = EXPECTED.iter().map(|e| e.file.to_owned()).collect();
    assert_eq!(
        corpus_files(&corpus_dir()),
        listed,
        "tests/bad_input/ and EXPECTED disagree"
    );
}

/// Every string in `value` (the API's `error` and per-event errors).
fn errors_of(body: &Value) -> Vec<String> {
    let mut errors: Vec<String> = body["error"]
        .as_str()
        .map(str::to_owned)
        .into_iter()
        .collect();
    for result in body["results"].as_array().into_iter().flatten() {
        if let Some(error) = result["error"].as_str() {
            errors.push(error.to_owned());
        }
    }
    errors
}

/// Runs one file; returns what went wrong (empty when it behaved).
async fn run_file(expect: &Expect, show: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let name = expect.file;
    let bytes = std::fs::read(corpus_dir().join(name)).expect("corpus file");
    let fake = FakePinterest::start_local().await;
    let limit = BODY_LIMIT.to_string();
    let state = state_with(&[
        ("PINTEREST_API_BASE_URL", &fake.base_url()),
        (
            "PINTEREST_ACCESS_TOKEN",
            crate::support::fake_pinterest::TOKEN,
        ),
        ("PINTEREST_MAX_BODY_BYTES", &limit),
    ])
    .await;

    if let Listed(text) | Acked(text) = expect.sqs {
        let logs = Capture::start();
        let body = String::from_utf8(bytes.clone()).expect("SQS bodies are UTF-8");
        let records = [
            Record::json("m-good-1", &good_event("g-1", "u-good-1")),
            Record::new("m-bad", body),
            Record::json("m-good-2", &good_event("g-2", "u-good-2")),
        ];
        let started = Instant::now();
        let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(30)).await;
        let took = started.elapsed();
        let expected = match expect.sqs {
            Listed(_) => vec!["m-bad".to_owned()],
            _ => Vec::new(),
        };
        let answer = sqs_answer(&invocation);
        if answer != SqsAnswer::Partial(expected.clone()) {
            problems.push(format!("SQS answered {answer:?}, expected {expected:?}"));
        }
        let delivered: BTreeSet<String> = fake
            .requests()
            .iter()
            .flat_map(|r| {
                r.body["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .zip(&r.processed)
                    .filter(|(_, ok)| **ok)
                    .filter_map(|(e, _)| e["custom_data"]["order_id"].as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
            })
            .collect();
        for uid in ["u-good-1", "u-good-2"] {
            if !delivered.contains(uid) {
                problems.push(format!(
                    "SQS: the good record's event {uid} was not delivered"
                ));
            }
        }
        let lines = logs.containing(text);
        if lines.is_empty() {
            problems.push(format!("SQS: no log line contains {text:?}"));
        }
        if show {
            println!(
                "| {name} | SQS {answer:?} in {} ms | {} |",
                took.as_millis(),
                lines
                    .first()
                    .map_or("-", |l| l.as_str())
                    .chars()
                    .take(220)
                    .collect::<String>()
            );
        }
    }

    let (status, text) = expect.api;
    let base64 = name.ends_with(".bin");
    let raw_base64 = name.ends_with(".b64");
    for (version, event) in [
        (
            "v1",
            rest_api_event("POST", Some(&bytes), base64 || raw_base64),
        ),
        (
            "v2",
            http_api_event("POST", Some(&bytes), base64 || raw_base64),
        ),
    ] {
        let mut event = event;
        if raw_base64 {
            event["body"] = Value::String(String::from_utf8_lossy(&bytes).into_owned());
        }
        let invocation = invoke(&state, event, Duration::from_secs(30)).await;
        let (got, body, _) = api_answer(&invocation);
        let errors = errors_of(&body);
        if got != status {
            problems.push(format!(
                "API {version}: status {got}, expected {status}: {errors:?}"
            ));
        }
        if !text.is_empty() && !errors.iter().any(|e| e.contains(text)) {
            problems.push(format!(
                "API {version}: no error contains {text:?}: {errors:?}"
            ));
        }
        if version == "v1" {
            problems.extend(check_each_event(name, &bytes, &body, show));
        }
        if show && version == "v1" {
            println!(
                "| {name} | API {got} | {} |",
                errors
                    .first()
                    .map_or("-", |e| e.as_str())
                    .chars()
                    .take(200)
                    .collect::<String>()
            );
        }
    }
    problems
}

/// The names a reason may use for a problem at `path`: the path, the source paths under it, and the Pinterest
/// fields read from them.
fn names_for(path: &str) -> Vec<String> {
    let mut names = vec![path.to_owned()];
    let prefix = format!("{path}.");
    for row in FIELDS {
        for source in row.sources {
            if *source == path || source.starts_with(&prefix) {
                names.push((*source).to_owned());
                names.push(row.name.to_owned());
            }
        }
    }
    names
}

/// For the files whose events each carry one bad value (labelled `_wrong` or `_case`): every event is
/// delivered, skipped or rejected (never failed), and a rejection names the field or path at fault.
fn check_each_event(name: &str, bytes: &[u8], answer: &Value, show: bool) -> Vec<String> {
    if !(name.starts_with("wrong-types-") || name.starts_with("numbers-extreme")) {
        return Vec::new();
    }
    let events: Vec<Value> = serde_json::from_slice(bytes).expect("a JSON array");
    let results = answer["results"].as_array().cloned().unwrap_or_default();
    if results.len() != events.len() {
        return vec![format!(
            "{} results for {} events",
            results.len(),
            events.len()
        )];
    }
    let mut problems = Vec::new();
    for (event, result) in events.iter().zip(&results) {
        let label = event["_wrong"]
            .as_str()
            .or_else(|| event["_case"].as_str())
            .unwrap_or_default();
        let path = label.split(" = ").next().unwrap_or_default();
        let path = path
            .strip_prefix("items.0.")
            .map_or(path.to_owned(), |p| format!("items.{p}"));
        let status = result["status"].as_str().unwrap_or_default();
        let error = result["error"].as_str().unwrap_or_default();
        if show {
            println!("    {label}: {status} {error}");
        }
        match status {
            "delivered" | "skipped" => {}
            "rejected" => {
                let names = names_for(if path.starts_with("items.") {
                    "items"
                } else {
                    &path
                });
                if !names.iter().any(|n| error.contains(n.as_str())) {
                    problems.push(format!("{label}: rejected without naming it: {error}"));
                }
            }
            other => problems.push(format!("{label}: {other} {error}")),
        }
    }
    problems
}

#[tokio::test]
async fn each_bad_body_fails_alone_with_a_clear_error() {
    let show = std::env::var_os("BAD_INPUT_SHOW").is_some();
    let mut problems = Vec::new();
    for expect in EXPECTED {
        for problem in run_file(expect, show).await {
            problems.push(format!("{}: {problem}", expect.file));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// `lambda/*.json`: whole Lambda events of other services or malformed ones, and the error each must give.
const LAMBDA_EVENTS: &[(&str, &[&str])] = &[
    (
        "eventbridge.json",
        &[
            "unsupported event: expected an SQS batch or an API Gateway proxy request",
            "\"detail-type\"",
        ],
    ),
    (
        "s3.json",
        &["unsupported event", "records from [\"aws:s3\"]"],
    ),
    (
        "sns.json",
        &["unsupported event", "records from [\"aws:sns\"]"],
    ),
    (
        "mixed-records.json",
        &[
            "unsupported event",
            "records from [\"aws:sqs\", \"aws:s3\"]",
        ],
    ),
    (
        "sqs-records-not-array.json",
        &["unsupported event", "[\"Records\"]"],
    ),
    (
        "http-api-without-method.json",
        &["malformed http_api event", "method"],
    ),
    (
        "rest-api-method-not-string.json",
        &["malformed rest_api event"],
    ),
    (
        "empty-object.json",
        &["unsupported event", "top-level keys: []"],
    ),
    ("array.json", &["unsupported event", "got an array"]),
    ("string.json", &["unsupported event", "got a string"]),
    ("null.json", &["unsupported event", "got null"]),
];

#[tokio::test]
async fn unknown_lambda_event_shapes_are_errors_that_say_why() {
    let dir = corpus_dir().join("lambda");
    let files: BTreeSet<String> = std::fs::read_dir(&dir)
        .expect("lambda corpus")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let listed: BTreeSet<String> = LAMBDA_EVENTS.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(
        files, listed,
        "tests/bad_input/lambda/ and LAMBDA_EVENTS disagree"
    );

    let fake = FakePinterest::start_local().await;
    let state = crate::support::invoke::state(&fake.base_url()).await;
    for (file, texts) in LAMBDA_EVENTS {
        let event: Value =
            serde_json::from_slice(&std::fs::read(dir.join(file)).expect("file")).expect("JSON");
        let invocation = invoke(&state, event, Duration::from_secs(30)).await;
        let error = match &invocation.response {
            Err(e) => e.to_string(),
            Ok(v) => panic!("{file}: answered {v}"),
        };
        for text in *texts {
            assert!(error.contains(text), "{file}: {error:?} lacks {text:?}");
        }
        println!("| lambda/{file} | {error} |");
    }
    assert!(fake.requests().is_empty());
}

/// serde_json stops at 128 levels of nesting, so a deep body is an error, not a stack overflow: checked with
/// a million levels (a stack of 2 MB, a test thread's, can't hold that many recursive calls), and through the
/// handler in the corpus (`deep-nesting-*.json`).
#[test]
fn serde_jsons_recursion_limit_protects_deep_nesting() {
    let depth = 1_000_000;
    let deep = "[".repeat(depth) + &"]".repeat(depth);
    let error = serde_json::from_str::<Value>(&deep).expect_err("too deep");
    assert!(
        error.to_string().starts_with("recursion limit exceeded"),
        "{error}"
    );
    let deep_objects = "{\"a\":".repeat(depth) + "1" + &"}".repeat(depth);
    let error = serde_json::from_slice::<Value>(deep_objects.as_bytes()).expect_err("too deep");
    assert!(
        error.to_string().starts_with("recursion limit exceeded"),
        "{error}"
    );
    // The limit: 127 levels parse, 128 don't.
    let nested = |n: usize| "[".repeat(n) + &"]".repeat(n);
    assert!(serde_json::from_str::<Value>(&nested(127)).is_ok());
    assert!(serde_json::from_str::<Value>(&nested(128)).is_err());
}

#[tokio::test]
async fn methods_other_than_post_get_405() {
    let fake = FakePinterest::start_local().await;
    let state = crate::support::invoke::state(&fake.base_url()).await;
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        for event in [
            rest_api_event(method, Some(b"{}"), false),
            http_api_event(method, Some(b"{}"), false),
        ] {
            let invocation = invoke(&state, event, Duration::from_secs(30)).await;
            let (status, body, headers) = api_answer(&invocation);
            assert_eq!(status, 405, "{method}");
            assert_eq!(headers["allow"], "POST");
            assert!(body["error"].as_str().is_some_and(|e| e.contains(method)));
        }
    }
}
