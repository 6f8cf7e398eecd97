//! Fuzzing of record-body parsing and mapping, as a proptest-driven loop (no nightly toolchain needed).
//!
//! Each execution feeds one generated body through `handler::handle` exactly as Lambda would: as an SQS record
//! next to a good record, or as a REST API (plain) or HTTP API (base64) body. The state is a dry run (no token:
//! nothing leaves the process), so parsing, mapping, normalisation, hashing, request planning and request
//! bodies all run. An execution fails when it panics, when the good record is not acknowledged, when the answer
//! names a record that does not exist, or when a request body would send a hashed field that is not 64
//! lower-case hex digits or a `user_data` field that is neither hashed nor one of the four sent raw.
//!
//! `cargo bench --bench fuzz` runs 1 000 000 executions (release build); `cargo test --benches` (part of
//! `cargo test --all-targets`) runs 5 000 in the test profile. `FUZZ_EXECUTIONS=n` and `FUZZ_SEED=n` override;
//! an input that fails is written to `target/fuzz-failures/`.

mod support;

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use base64::Engine as _;
use pinterest_destination::config::Settings;
use pinterest_destination::handler;
use pinterest_destination::mapping::fields::FIELDS;
use pinterest_destination::trigger::{Sender, State};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Map, Value, json};

/// How a body reaches the handler.
#[derive(Debug, Clone, Copy)]
enum Via {
    Sqs,
    RestApi,
    HttpApiBase64,
}

/// One generated input.
#[derive(Debug, Clone)]
struct Input {
    kind: &'static str,
    body: Vec<u8>,
    via: Via,
}

/// Strings that exercise the normalisers and readers.
fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,24}",
        "[0-9]{1,25}",
        "[+0 ()-]{0,4}[0-9 ]{0,16}",
        "[0-9]{4}[-/.]?[0-9]{1,2}[-/.]?[0-9]{1,2}(T[0-9:.]{0,12}(Z|[+-][0-9:]{2,5})?)?",
        "[a-fA-F0-9]{60,68}",
        "[A-Za-z.]{0,12}@[a-z]{0,8}\\.[a-z]{0,3}",
        "[a-zA-Z]{1,3}[-_]?[a-zA-Z]{0,3}",
        Just(String::new()),
        Just("   ".to_owned()),
        Just("-9223372036854775808".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("1e400".to_owned()),
        Just("https://x.example/p?epik=a%2Fb%zz&epik=".to_owned()),
        Just("_epik=; _epik=x%; a=b; =;;".to_owned()),
        "\\PC{0,3}",
    ]
}

/// Numbers at the edges.
fn tricky_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(f64::MAX),
            json!(f64::MIN),
            json!(f64::MIN_POSITIVE),
            json!(-0.0),
            json!(0),
            json!(1),
            json!(99_999_999_999u64),
            json!(100_000_000_000u64),
        ]),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        tricky_number(),
        tricky_string().prop_map(Value::String),
    ]
}

fn any_json(depth: u32) -> impl Strategy<Value = Value> {
    leaf().prop_recursive(depth, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                "[a-z_]{1,8}|event_name|context|user|items|id",
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Sets `value` at a dotted path, creating objects on the way.
fn put(event: &mut Value, path: &str, value: Value) {
    let mut at = event;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        if !at.get(*part).is_some_and(Value::is_object) {
            at[*part] = json!({});
        }
        at = &mut at[*part];
    }
    at[parts[parts.len() - 1]] = value;
}

/// The paths mapping reads.
fn paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = FIELDS
        .iter()
        .flat_map(|row| row.sources.iter().copied())
        .chain([
            "type",
            "context.device.cookie",
            "context.cookie",
            "context.device.os.name",
            "context.app",
            "items.0",
            "items.0.product",
            "items.0.product.price",
            "items.0.price",
            "items.0.quantity",
            "items.0.product.id",
            "items.1",
        ])
        .collect();
    paths.sort_unstable();
    paths.dedup();
    paths
}

/// A plausible event with random values at random paths.
fn structured_event() -> impl Strategy<Value = Value> {
    let paths = paths();
    let n = paths.len();
    (
        prop::sample::select(vec![
            "purchase",
            "page_view",
            "search",
            "login",
            "add_to_cart",
            " Sign_Up ",
            "unknown_event",
        ]),
        prop::collection::vec((0..n, prop_oneof![3 => leaf(), 1 => any_json(2)]), 0..14),
    )
        .prop_map(move |(name, values)| {
            let mut event = json!({
                "event_name": name,
                "value": "10.5",
                "items": [{"id": "A", "quantity": 1, "product": {"price": 3}}],
                "user": {"email": "someone@example.org", "phone": "0612345678", "country": "FR"},
                "context": {
                    "event_id": "e-1",
                    "page": {"url": "https://shop.example/p?epik=x"},
                    "device": {"ip": "192.0.2.1", "user_agent": "UA", "lang": "fr-FR"}
                }
            });
            for (i, value) in values {
                let path = paths[i];
                if let Some(rest) = path.strip_prefix("items.") {
                    // Keep `items` an array so that item paths are reached.
                    let (index, sub) = rest.split_once('.').unwrap_or((rest, ""));
                    let index: usize = index.parse().unwrap_or(0);
                    if let Some(items) = event["items"].as_array_mut() {
                        while items.len() <= index {
                            items.push(json!({}));
                        }
                        if sub.is_empty() {
                            items[index] = value;
                        } else if items[index].is_object() {
                            put(&mut items[index], sub, value);
                        }
                    }
                } else {
                    put(&mut event, path, value);
                }
            }
            event
        })
}

/// A body of events as SQS or the API may carry them.
fn event_body() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => structured_event(),
        2 => prop::collection::vec(structured_event(), 0..4).prop_map(Value::Array),
        1 => prop::collection::vec(structured_event(), 0..3).prop_map(|events| json!({"events": events})),
        1 => prop::collection::vec(prop_oneof![structured_event(), leaf()], 0..4).prop_map(Value::Array),
    ]
}

/// Byte-level mutations of a serialised body.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    const SPECIAL: &[u8] = b"{}[]\",:\\ 0-.eE\x00\xff\xc3";
    for &(at, op, byte) in edits {
        if bytes.is_empty() {
            bytes.push(byte);
            continue;
        }
        let at = at % bytes.len();
        match op % 5 {
            0 => bytes[at] = byte,
            1 => bytes[at] = SPECIAL[usize::from(byte) % SPECIAL.len()],
            2 => {
                bytes.remove(at);
            }
            3 => bytes.insert(at, SPECIAL[usize::from(byte) % SPECIAL.len()]),
            _ => {
                let end = (at + usize::from(byte % 16)).min(bytes.len());
                let slice = bytes[at..end].to_vec();
                bytes.splice(at..at, slice);
            }
        }
    }
    bytes
}

fn via() -> impl Strategy<Value = Via> {
    prop_oneof![
        6 => Just(Via::Sqs),
        2 => Just(Via::RestApi),
        2 => Just(Via::HttpApiBase64),
    ]
}

fn input() -> impl Strategy<Value = Input> {
    let body = prop_oneof![
        5 => event_body().prop_map(|v| ("structured", v.to_string().into_bytes())),
        3 => (event_body(), prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6))
            .prop_map(|(v, edits)| ("mutated", mutate(v.to_string().into_bytes(), &edits))),
        2 => any_json(4).prop_map(|v| ("arbitrary JSON", v.to_string().into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| ("random bytes", b)),
        1 => (100usize..200, any::<bool>()).prop_map(|(depth, arrays)| {
            let body = if arrays {
                "[".repeat(depth) + &"]".repeat(depth)
            } else {
                "{\"event_name\":".repeat(depth) + "1" + &"}".repeat(depth)
            };
            ("deep nesting", body.into_bytes())
        }),
    ];
    (body, via()).prop_map(|((kind, body), via)| Input { kind, body, via })
}

/// A good record: must always be acknowledged, whatever its neighbour holds.
fn good_body() -> String {
    json!({
        "event_name": "purchase",
        "user": {"email": "good@example.org"},
        "context": {"event_id": "good-1", "device": {"ip": "192.0.2.9", "user_agent": "UA"}}
    })
    .to_string()
}

fn sqs_event(body: &str) -> Value {
    let record = |id: &str, body: &str| {
        json!({
            "messageId": id,
            "receiptHandle": "h",
            "body": body,
            "attributes": {},
            "messageAttributes": {},
            "md5OfBody": "0",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:1:q",
            "awsRegion": "us-east-1"
        })
    };
    json!({"Records": [record("m-fuzz", body), record("m-good", &good_body())]})
}

fn api_event(input: &Input) -> Value {
    match input.via {
        Via::HttpApiBase64 => json!({
            "version": "2.0",
            "routeKey": "POST /events",
            "rawPath": "/events",
            "rawQueryString": "",
            "headers": {},
            "requestContext": {"http": {"method": "POST", "path": "/events", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "f"}},
            "body": base64::engine::general_purpose::STANDARD.encode(&input.body),
            "isBase64Encoded": true
        }),
        _ => json!({
            "httpMethod": "POST",
            "path": "/events",
            "headers": {},
            "multiValueHeaders": {},
            "requestContext": {"httpMethod": "POST"},
            "body": String::from_utf8_lossy(&input.body),
            "isBase64Encoded": false
        }),
    }
}

const HASHED: [&str; 12] = [
    "em",
    "hashed_maids",
    "ph",
    "ge",
    "db",
    "ln",
    "fn",
    "ct",
    "st",
    "zp",
    "country",
    "external_id",
];
const RAW: [&str; 4] = [
    "client_ip_address",
    "client_user_agent",
    "click_id",
    "partner_id",
];

/// Problems in the request bodies the dry run would have sent.
fn request_problems(bodies: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    for body in bodies {
        let Ok(body) = serde_json::from_str::<Value>(body) else {
            problems.push("a request body is not JSON".to_owned());
            continue;
        };
        for event in body["data"].as_array().into_iter().flatten() {
            for (field, value) in event["user_data"].as_object().into_iter().flatten() {
                let ok = if HASHED.contains(&field.as_str()) {
                    value.as_array().is_some_and(|a| {
                        a.len() == 1
                            && a[0].as_str().is_some_and(|s| {
                                s.len() == 64
                                    && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                            })
                    })
                } else {
                    RAW.contains(&field.as_str()) && value.is_string()
                };
                if !ok {
                    problems.push(format!("user_data.{field} = {value}"));
                }
            }
        }
    }
    problems
}

/// Runs one input; `Err` describes a broken invariant.
fn execute(runtime: &tokio::runtime::Runtime, state: &State, input: &Input) -> Result<(), String> {
    let event = match input.via {
        Via::Sqs => sqs_event(&String::from_utf8_lossy(&input.body)),
        _ => api_event(input),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let invocation = runtime.block_on(handler::handle(state, &event.to_string(), deadline));
    let bodies = match &state.sender {
        Sender::DryRun(bodies) => std::mem::take(&mut *bodies.lock().map_err(|e| e.to_string())?),
        Sender::Pinterest(_) => Vec::new(),
    };
    let mut problems = request_problems(&bodies);
    match (input.via, &invocation.response) {
        (Via::Sqs, Ok(response)) => {
            let listed: Vec<&str> = response["batchItemFailures"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["itemIdentifier"].as_str())
                .collect();
            if !listed.iter().all(|id| *id == "m-fuzz") {
                problems.push(format!("SQS answer lists {listed:?}"));
            }
        }
        (Via::Sqs, Err(e)) => problems.push(format!("SQS invocation failed: {e}")),
        (_, Ok(response)) => {
            let status = response["statusCode"].as_u64().unwrap_or_default();
            if ![200, 400, 413, 422].contains(&status) {
                problems.push(format!("API status {status}"));
            }
            let body: Value = response["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or(Value::Null);
            if !(body["error"].is_string() || body["results"].is_array()) {
                problems.push(format!("API body {body}"));
            }
        }
        (_, Err(e)) => problems.push(format!("API invocation failed: {e}")),
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn dry_run_state(runtime: &tokio::runtime::Runtime) -> State {
    let settings = Settings::from_env(|name| match name {
        "PINTEREST_AD_ACCOUNT_ID" => Some("549755885175".to_owned()),
        "PINTEREST_MAX_BODY_BYTES" => Some("65536".to_owned()),
        _ => None,
    })
    .expect("settings");
    let state = runtime.block_on(State::new(settings)).expect("state");
    assert!(
        matches!(state.sender, Sender::DryRun(_)),
        "no token: a dry run"
    );
    state
}

fn save(index: u64, input: &Input, why: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-failures");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("failure-{index}.bin"));
    let _ = std::fs::write(&path, &input.body);
    eprintln!(
        "fuzz: execution {index} ({}, {:?}) failed: {why}; input saved to {}",
        input.kind,
        input.via,
        path.display()
    );
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    if !benching {
        // The smoke pass of `cargo test --benches` runs quietly; failures are reported on stderr.
        support::discard_stdout();
    }
    let executions: u64 = std::env::var("FUZZ_EXECUTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if benching { 1_000_000 } else { 5_000 });
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let strategy = input();
    let mut runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut state = dry_run_state(&runtime);
    println!("fuzz: {executions} executions, seed {seed} (FUZZ_SEED={seed} replays them)");

    let started = Instant::now();
    let (mut panics, mut broken) = (0u64, 0u64);
    let mut by_kind: BTreeMap<(&str, String), u64> = BTreeMap::new();
    for index in 0..executions {
        let input = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(e) => panic!("generation failed: {e}"),
        };
        *by_kind
            .entry((input.kind, format!("{:?}", input.via)))
            .or_default() += 1;
        match catch_unwind(AssertUnwindSafe(|| execute(&runtime, &state, &input))) {
            Ok(Ok(())) => {}
            Ok(Err(why)) => {
                broken += 1;
                save(index, &input, &why);
            }
            Err(panic) => {
                panics += 1;
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                save(index, &input, &format!("panic: {message}"));
                // A panic may leave the runtime or the state half-way: start afresh.
                runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                state = dry_run_state(&runtime);
            }
        }
        if benching && (index + 1) % 100_000 == 0 {
            println!(
                "fuzz: {} executions, {panics} panics, {broken} broken invariants, {:.1?}",
                index + 1,
                started.elapsed()
            );
        }
    }
    let took = started.elapsed();
    println!("fuzz: inputs by kind and trigger: {by_kind:?}");
    println!(
        "fuzz: {executions} executions in {took:.1?} ({:.0}/s): {panics} panics, {broken} broken invariants",
        executions as f64 / took.as_secs_f64().max(1e-9)
    );
    if panics + broken > 0 {
        eprintln!(
            "fuzz: {panics} panics, {broken} broken invariants; FUZZ_SEED={seed} replays them"
        );
        std::process::exit(1);
    }
}
