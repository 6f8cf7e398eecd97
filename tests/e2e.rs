//! End to end with the real components: the function binary under cargo-lambda's Lambda emulator (the Runtime
//! API it polls, the Invoke API the test posts the `events/*.json` fixtures to), its token read through the AWS
//! SDK from a Secrets Manager served by moto, and its requests answered by the fake Pinterest, which checks
//! every body against Pinterest's schema and the bearer token.
//!
//! Each test runs its own stack (fake Pinterest, moto, emulator and function) and then checks the function's
//! logs: one summary line and one EMF document per invocation with the counts of what happened, and no
//! token, clear personal data or input IP address anywhere.
//!
//! Needs `cargo-lambda` and `moto_server` (in `.venv/bin` or on `PATH`); without them the tests fail, they are
//! not skipped. `PINTEREST_E2E_LAUNCH=watch` runs the same tests with cargo-lambda building and starting the
//! function itself (see `tests/support/emulator.rs`).

use std::time::Duration;

use crate::support::emulator::{Emulator, Invoked};
use crate::support::fake_pinterest::{AD_ACCOUNT_ID, FakePinterest, Recorded};
use crate::support::leaks::{self, HTTP_EVENT_ID, REST_EVENT_IDS, fifo, fixture, sqs};
use crate::support::moto::Moto;
use serde_json::{Value, json};

const SECRET_ID: &str = "pinterest/e2e-access-token";
const TOKEN_A: &str = "pina_e2e_token_A_7f3c1d";
const TOKEN_B: &str = "pina_e2e_token_B_91d2ee";

/// What one invocation should count, as its summary line and its EMF document report it.
#[derive(Debug, Clone, PartialEq)]
struct Counts {
    trigger: String,
    records: u64,
    records_failed: u64,
    /// delivered, skipped, rejected, failed
    events: [u64; 4],
    requests: u64,
    retries: u64,
}

fn counts(
    trigger: &str,
    records: u64,
    records_failed: u64,
    events: [u64; 4],
    requests: u64,
    retries: u64,
) -> Counts {
    Counts {
        trigger: trigger.to_owned(),
        records,
        records_failed,
        events,
        requests,
        retries,
    }
}

fn number(value: &Value) -> u64 {
    value
        .as_u64()
        .unwrap_or_else(|| panic!("not a count: {value}"))
}

impl Counts {
    fn from_summary(fields: &Value) -> Self {
        let n = |name: &str| number(&fields[name]);
        let counts = counts(
            fields["trigger"].as_str().unwrap_or_default(),
            n("records"),
            n("records_failed"),
            [n("delivered"), n("skipped"), n("rejected"), n("failed")],
            n("requests"),
            n("retries"),
        );
        assert_eq!(n("events_received"), counts.events.iter().sum::<u64>());
        counts
    }

    fn from_emf(document: &Value) -> Self {
        let n = |name: &str| number(&document[name]);
        let counts = counts(
            document["Trigger"].as_str().unwrap_or_default(),
            n("Records"),
            n("RecordsFailed"),
            [
                n("EventsDelivered"),
                n("EventsSkipped"),
                n("EventsRejected"),
                n("EventsFailed"),
            ],
            n("Requests"),
            n("Retries"),
        );
        assert_eq!(n("EventsReceived"), counts.events.iter().sum::<u64>());
        counts
    }
}

/// The first invocation, sent by the emulator helper to know the function is up: an empty SQS batch.
fn warm_up() -> Counts {
    counts("sqs", 0, 0, [0; 4], 0, 0)
}

/// One test's components, and what its invocations should have logged.
struct Stack {
    fake: FakePinterest,
    moto: Moto,
    function: Emulator,
    expected: Vec<Counts>,
    /// Values that must never be logged.
    secrets: Vec<&'static str>,
    /// Requests already checked.
    seen: usize,
}

impl Stack {
    /// Starts the fake Pinterest (accepting `token`), moto holding the secret `{"access_token": token}`, and
    /// the function with `extra` settings.
    async fn start(token: &'static str, extra: &[(&str, &str)]) -> Self {
        let (fake, moto) = Self::services(token).await;
        let extra: Vec<(&str, String)> = extra.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Self::launch(token, fake, moto, &extra).await
    }

    /// The fake Pinterest accepting `token`, and moto holding the secret `{"access_token": token}`.
    async fn services(token: &'static str) -> (FakePinterest, Moto) {
        let fake = FakePinterest::start().await;
        fake.set_token(token);
        let moto = Moto::start().await;
        moto.create_secret(SECRET_ID, &json!({"access_token": token}).to_string())
            .await;
        (fake, moto)
    }

    /// Starts the function against these services with `extra` settings.
    async fn launch(
        token: &'static str,
        fake: FakePinterest,
        moto: Moto,
        extra: &[(&str, String)],
    ) -> Self {
        let mut env = vec![
            ("PINTEREST_AD_ACCOUNT_ID", AD_ACCOUNT_ID.to_owned()),
            ("PINTEREST_TOKEN_SECRET_ID", SECRET_ID.to_owned()),
            ("PINTEREST_API_BASE_URL", fake.base_url()),
            ("AWS_ENDPOINT_URL", moto.endpoint().to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ];
        env.extend(extra.iter().cloned());
        let function = Emulator::start(&env).await;
        eprintln!(
            "function up in {:?} ({:?} launch)",
            function.started_in,
            function.launch()
        );
        Self {
            fake,
            moto,
            function,
            expected: vec![warm_up()],
            secrets: vec![token],
            seen: 0,
        }
    }

    /// Invokes the function; its summary line and EMF document must report `expected`.
    async fn invoke(&mut self, event: &Value, expected: Counts) -> Invoked {
        self.expected.push(expected);
        self.function.invoke(event).await
    }

    /// The requests received since the last call, each checked: this ad account, `?test=true` as configured,
    /// bodies valid against the schema, hashed fields as digests, no clear personal data.
    fn new_requests(&mut self, test_mode: bool) -> Vec<Recorded> {
        assert_eq!(self.fake.schema_violations(), Vec::<String>::new());
        let requests = self.fake.requests().split_off(self.seen);
        self.seen += requests.len();
        for request in &requests {
            assert_eq!(request.ad_account_id, AD_ACCOUNT_ID);
            assert_eq!(request.test_mode, test_mode);
            assert_eq!(
                leaks::body_problems(&request.body),
                Vec::<String>::new(),
                "{}",
                request.body
            );
        }
        requests
    }

    /// Checks the logs of every invocation so far, and that nothing leaked into them.
    async fn check_logs(&self) {
        let invocations = self.expected.len();
        let lines = self
            .function
            .wait_for_logs(
                |lines| {
                    leaks::summaries(lines).len() >= invocations
                        && leaks::emf_documents(lines).len() >= invocations
                },
                Duration::from_secs(10),
            )
            .await;
        let summaries = leaks::summaries(&lines);
        let from_summaries: Vec<Counts> = summaries.iter().map(Counts::from_summary).collect();
        assert_eq!(from_summaries, self.expected, "summary lines");
        let documents = leaks::emf_documents(&lines);
        let from_emf: Vec<Counts> = documents.iter().map(Counts::from_emf).collect();
        assert_eq!(from_emf, self.expected, "EMF documents");
        for document in &documents {
            let declared = &document["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(declared["Namespace"], "PinterestDestination");
            assert_eq!(declared["Dimensions"], json!([["Trigger"]]));
            assert!(document["_aws"]["Timestamp"].is_u64());
            assert!(document["Duration"].is_u64());
        }
        // Only the first invocation of the container is a cold start.
        let cold: Vec<bool> = summaries
            .iter()
            .map(|s| s["cold_start"].as_bool().expect("cold_start"))
            .collect();
        assert!(cold[0], "the first invocation is a cold start");
        assert!(cold[1..].iter().all(|c| !c), "{cold:?}");
        // Each summary line is in the invocation's span, which carries its request id.
        let request_ids: std::collections::HashSet<String> = leaks::json_lines(&lines)
            .iter()
            .filter(|l| l["message"] == "invocation summary")
            .map(|l| l["requestId"].as_str().expect("requestId").to_owned())
            .collect();
        assert_eq!(request_ids.len(), invocations);

        assert_eq!(
            leaks::log_problems(&lines, &self.secrets),
            Vec::<String>::new(),
            "the logs leak"
        );
    }
}

fn batch_item_failures(ids: &[&str]) -> Value {
    json!({"batchItemFailures": ids.iter().map(|id| json!({"itemIdentifier": id})).collect::<Vec<_>>()})
}

/// The fixture's records at these positions, as a new batch.
fn batch(name: &str, positions: &[usize]) -> Value {
    let records = fixture(name)["Records"]
        .as_array()
        .expect("Records")
        .clone();
    json!({"Records": positions.iter().map(|&i| records[i].clone()).collect::<Vec<_>>()})
}

fn record(message_id: &str, body: &str) -> Value {
    let mut record = fixture("sqs.json")["Records"][0].clone();
    record["messageId"] = json!(message_id);
    record["body"] = json!(body);
    record
}

/// The body of an API Gateway answer, parsed.
fn api_body(invoked: &Invoked) -> Value {
    let text = invoked.body["body"]
        .as_str()
        .unwrap_or_else(|| panic!("no body: {}", invoked.body));
    serde_json::from_str(text).unwrap_or_else(|e| panic!("body not JSON ({e}): {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_standard_queue_in_test_mode() {
    // At Lambda's most verbose log level, where the runtime library would print each raw event.
    let mut stack = Stack::start(
        TOKEN_A,
        &[
            ("PINTEREST_TEST_MODE", "true"),
            ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ],
    )
    .await;

    let invoked = stack
        .invoke(
            &fixture("sqs.json"),
            counts("sqs", 5, 2, [3, 1, 1, 0], 1, 0),
        )
        .await;
    assert_eq!(invoked.status, 200, "{}", invoked.body);
    assert_eq!(
        invoked.body,
        batch_item_failures(&[sqs::REJECTED, sqs::UNREADABLE])
    );
    let requests = stack.new_requests(true);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, sqs::SENT);
    assert_eq!(requests[0].status, 200);

    // Personal data where it doesn't belong, in shapes the mapping must refuse or ignore without repeating it.
    let warned = json!({
        "event_name": "purchase",
        "user": {"email": " Toto.Dupont@Domain.fr ", "phone": "Dupont", "birthdate": "1990-02-31",
                 "gender": "Toto", "state": "Paris", "country": "Jane", "zipcode": "Menlo Park"},
        "partners": {"pinterest": {"opt_out": "jane.doe@example.com"}},
        "context": {"event_id": "e-warned", "device": {"ip": "203.0.113.45", "user_agent": "UA",
                    "lang": "toto@domain.fr", "network": {"wifi": "198.51.100.23"}}}
    });
    let rejected = json!({
        "event_name": "signup",
        "user": {"email": "new.customer@example.com"},
        "partners": {"pinterest": {"action_source": "toto.dupont@domain.fr"}},
        "context": {"event_id": "e-rejected", "event_timestamp": "1990-02-01 Paris"}
    });
    let event = json!({"Records": [
        record("m-messy", &json!([warned, rejected]).to_string()),
        record("m-not-json", "Toto.Dupont@Domain.fr +33 6 12 34 56 78 {"),
        record("m-string", "\"jane.doe@example.com\""),
    ]});
    let invoked = stack
        .invoke(&event, counts("sqs", 3, 3, [1, 0, 1, 0], 1, 0))
        .await;
    assert_eq!(
        invoked.body,
        batch_item_failures(&["m-messy", "m-not-json", "m-string"])
    );
    let requests = stack.new_requests(true);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, ["e-warned"]);

    stack.check_logs().await;
    // Test mode is visible: a start-up warning, and `test_mode` in every summary line and EMF document.
    let lines = stack.function.logs();
    let warning = leaks::json_lines(&lines)
        .into_iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("PINTEREST_TEST_MODE is on"))
        })
        .expect("a start-up line about test mode");
    assert_eq!(warning["level"], "WARN");
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("does not record them")
    );
    let summaries = leaks::summaries(&lines);
    assert!(
        summaries.iter().all(|s| s["test_mode"] == true),
        "{summaries:?}"
    );
    let documents = leaks::emf_documents(&lines);
    assert!(
        documents.iter().all(|d| d["test_mode"] == true),
        "{documents:?}"
    );
    // A property, not a metric.
    let metrics = &documents[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"];
    assert!(!metrics.to_string().contains("test_mode"), "{metrics}");
}

/// At Lambda's WARN filter level (the template's `LogLevel` allows it): Lambda drops JSON lines whose `level` is
/// below WARN, or missing (read as INFO). The metrics must still arrive, every line must still carry its
/// request id, and an invocation with rejected events still gets its summary line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_lambdas_warn_level_metrics_and_request_ids_remain() {
    let mut stack = Stack::start(TOKEN_A, &[("AWS_LAMBDA_LOG_LEVEL", "WARN")]).await;
    let invoked = stack
        .invoke(
            &fixture("sqs.json"),
            counts("sqs", 5, 2, [3, 1, 1, 0], 1, 0),
        )
        .await;
    assert_eq!(invoked.status, 200, "{}", invoked.body);
    let lines = stack
        .function
        .wait_for_logs(
            |lines| leaks::emf_documents(lines).len() >= 2 && !leaks::summaries(lines).is_empty(),
            Duration::from_secs(10),
        )
        .await;
    let levels = ["WARN", "ERROR", "FATAL"];
    let json_lines = leaks::json_lines(&lines);
    let below_warn: Vec<&Value> = json_lines
        .iter()
        .filter(|l| !levels.contains(&l["level"].as_str().unwrap_or("INFO")))
        .collect();
    assert_eq!(below_warn, Vec::<&Value>::new(), "lines Lambda would drop");
    // The warm-up invocation had nothing to report: only the second one has a summary.
    let summaries = leaks::summaries(&lines);
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    assert_eq!(summaries[0]["rejected"], 1);
    let documents = leaks::emf_documents(&lines);
    assert_eq!(documents.len(), 2, "one metrics document per invocation");
    assert!(
        documents.iter().all(|d| d["level"] == "WARN"),
        "{documents:?}"
    );
    let log_lines: Vec<&Value> = json_lines
        .iter()
        .filter(|l| l.get("_aws").is_none())
        .collect();
    assert!(log_lines.len() >= 3, "{log_lines:?}");
    for line in log_lines {
        assert!(
            line["requestId"].as_str().is_some_and(|id| !id.is_empty()),
            "no request id: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_fifo_queue_fails_the_rest_of_a_failed_group() {
    let mut stack = Stack::start(TOKEN_A, &[]).await;
    let invoked = stack
        .invoke(
            &fixture("sqs-fifo.json"),
            counts("sqs", 4, 2, [3, 0, 1, 0], 1, 0),
        )
        .await;
    assert_eq!(invoked.status, 200, "{}", invoked.body);
    assert_eq!(
        invoked.body,
        batch_item_failures(&[fifo::A1_REJECTED, fifo::A2])
    );
    let requests = stack.new_requests(false);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, fifo::SENT);
    stack.check_logs().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_gateway_rest_and_http_api() {
    let mut stack = Stack::start(TOKEN_A, &[]).await;

    let invoked = stack
        .invoke(
            &fixture("apigw-rest.json"),
            counts("rest_api", 1, 0, [2, 0, 0, 0], 1, 0),
        )
        .await;
    assert_eq!(invoked.status, 200, "{}", invoked.body);
    assert_eq!(invoked.body["statusCode"], 200);
    assert_eq!(invoked.body["headers"]["content-type"], "application/json");
    assert_eq!(
        api_body(&invoked),
        json!({
            "results": [
                {"index": 0, "event_id": REST_EVENT_IDS[0], "status": "delivered"},
                {"index": 1, "event_id": REST_EVENT_IDS[1], "status": "delivered"},
            ],
            "delivered": 2, "skipped": 0, "filtered": 0, "rejected": 0, "failed": 0
        })
    );
    let requests = stack.new_requests(false);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, REST_EVENT_IDS);

    let invoked = stack
        .invoke(
            &fixture("apigw-http.json"),
            counts("http_api", 1, 0, [1, 0, 0, 0], 1, 0),
        )
        .await;
    assert_eq!(invoked.status, 200, "{}", invoked.body);
    assert_eq!(invoked.body["statusCode"], 200);
    assert_eq!(
        api_body(&invoked),
        json!({
            "results": [{"index": 0, "event_id": HTTP_EVENT_ID, "status": "delivered"}],
            "delivered": 1, "skipped": 0, "filtered": 0, "rejected": 0, "failed": 0
        })
    );
    let requests = stack.new_requests(false);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, [HTTP_EVENT_ID]);

    let mut get = fixture("apigw-rest.json");
    get["httpMethod"] = json!("GET");
    let invoked = stack
        .invoke(&get, counts("rest_api", 1, 1, [0; 4], 0, 0))
        .await;
    assert_eq!(invoked.body["statusCode"], 405);
    assert_eq!(invoked.body["headers"]["allow"], "POST");
    assert!(api_body(&invoked)["error"].is_string());

    // An event from a trigger the function doesn't serve: a function error, naming what came.
    let eventbridge = json!({"version": "0", "id": "e-1", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": "123456789012", "time": "2026-11-29T20:00:00Z",
        "region": "us-east-1", "resources": [], "detail": {}});
    let invoked = stack
        .invoke(&eventbridge, counts("unknown", 0, 0, [0; 4], 0, 0))
        .await;
    assert_eq!(invoked.status, 500, "{}", invoked.body);
    let message = invoked.body["errorMessage"].as_str().expect("errorMessage");
    assert!(message.starts_with("unsupported event"), "{message}");
    assert!(message.contains("detail-type"), "{message}");
    assert!(stack.new_requests(false).is_empty());

    stack.check_logs().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_secret_is_re_read_after_a_401() {
    let mut stack = Stack::start(TOKEN_A, &[]).await;
    stack.secrets.push(TOKEN_B);
    let good = batch("sqs.json", &[0, 1]);

    let invoked = stack
        .invoke(&good, counts("sqs", 2, 0, [3, 0, 0, 0], 1, 0))
        .await;
    assert_eq!(invoked.body, batch_item_failures(&[]));
    let requests = stack.new_requests(false);
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [200]);

    // Rotation: the secret now holds B, and Pinterest accepts only B. The function still has A cached.
    stack
        .moto
        .rotate_secret(SECRET_ID, &json!({"access_token": TOKEN_B}).to_string())
        .await;
    stack.fake.set_token(TOKEN_B);
    let invoked = stack
        .invoke(&good, counts("sqs", 2, 0, [3, 0, 0, 0], 2, 1))
        .await;
    assert_eq!(invoked.body, batch_item_failures(&[]));
    let requests = stack.new_requests(false);
    let seen: Vec<(u16, bool)> = requests.iter().map(|r| (r.status, r.authorized)).collect();
    assert_eq!(seen, [(401, false), (200, true)], "one 401 with A, then B");
    assert!(requests.iter().all(|r| r.event_ids == sqs::SENT));

    // B is cached from now on.
    let invoked = stack
        .invoke(&good, counts("sqs", 2, 0, [3, 0, 0, 0], 1, 0))
        .await;
    assert_eq!(invoked.body, batch_item_failures(&[]));
    let requests = stack.new_requests(false);
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [200]);

    stack.check_logs().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persisting_401_fails_the_records_after_one_refresh() {
    let mut stack = Stack::start(TOKEN_A, &[]).await;
    stack.fake.set_token("pina_token_nobody_has");

    // Every record fails transiently: the invocation is an error, so Lambda retries the batch later.
    let invoked = stack
        .invoke(
            &batch("sqs.json", &[0, 1]),
            counts("sqs", 2, 2, [0, 0, 0, 3], 2, 1),
        )
        .await;
    assert_eq!(invoked.status, 500, "{}", invoked.body);
    let message = invoked.body["errorMessage"].as_str().expect("errorMessage");
    assert!(
        message.contains("all 2 records failed transiently"),
        "{message}"
    );
    assert!(
        invoked.elapsed < Duration::from_secs(5),
        "{:?}",
        invoked.elapsed
    );
    let requests = stack.new_requests(false);
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        [401, 401],
        "one attempt, one after re-reading the secret, no more"
    );

    // With permanent failures in the batch, a partial response: the good records come back as failed.
    let invoked = stack
        .invoke(
            &fixture("sqs.json"),
            counts("sqs", 5, 4, [0, 1, 1, 3], 2, 1),
        )
        .await;
    assert_eq!(invoked.status, 200, "{}", invoked.body);
    assert_eq!(
        invoked.body,
        batch_item_failures(&[sqs::PURCHASE, sqs::ARRAY, sqs::REJECTED, sqs::UNREADABLE])
    );
    assert_eq!(stack.new_requests(false).len(), 2);

    stack.check_logs().await;
    // Each request refused again after the token was re-read is an authentication failure.
    let lines = stack.function.logs();
    let failures: Vec<u64> = leaks::emf_documents(&lines)
        .iter()
        .map(|d| number(&d["AuthFailures"]))
        .collect();
    assert_eq!(failures, [0, 1, 1]);
    let summaries = leaks::summaries(&lines);
    assert!(
        summaries.iter().all(|s| s["test_mode"] == false),
        "{summaries:?}"
    );
    assert_eq!(summaries[2]["auth_failures"], 1);
}

/// Runs the function binary to its end with only the ad account and `env` in its environment: its exit code
/// and everything it printed.
fn run_function(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pinterest-destination"))
        .env_clear()
        .env("PINTEREST_AD_ACCOUNT_ID", AD_ACCOUNT_ID)
        .envs(env.iter().copied())
        .output()
        .expect("the function binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// Started by hand (`cargo run`) rather than by Lambda, or by a hand-made harness that sets only some of
/// Lambda's variables, the function names the first missing one and what to run instead, in one line, rather
/// than the runtime library's panic.
#[test]
fn function_started_outside_lambda_names_the_missing_variable_and_points_to_the_cli() {
    let token = ("PINTEREST_ACCESS_TOKEN", "pina_by_hand");
    let runtime_api = ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9");
    let name = ("AWS_LAMBDA_FUNCTION_NAME", "pinterest-destination");
    let version = ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    for (env, missing) in [
        (vec![token], "AWS_LAMBDA_RUNTIME_API"),
        (vec![token, runtime_api], "AWS_LAMBDA_FUNCTION_NAME"),
        (
            vec![token, runtime_api, name, version],
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        ),
    ] {
        let (code, text) = run_function(&env);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains(&format!("{missing} is not set")), "{text}");
        assert!(text.contains("pinterest-cli -- replay"), "{text}");
        assert!(!text.contains("panicked"), "{text}");
        assert_eq!(text.trim().lines().count(), 1, "{text}");
    }
}

/// A token in the environment works (local emulators), but the function says at start-up that in Lambda it
/// belongs in Secrets Manager, without showing it.
#[test]
fn function_with_a_token_in_its_environment_warns_at_start_up() {
    const PLAIN_TOKEN: &str = "pina_in_the_environment";
    let (_, text) = run_function(&[
        ("PINTEREST_ACCESS_TOKEN", PLAIN_TOKEN),
        // Nothing listens there: the function warns, then stops when the runtime API can't be reached.
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
        ("AWS_LAMBDA_FUNCTION_NAME", "pinterest-destination"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ]);
    let warning = text
        .lines()
        .find(|line| line.contains("PINTEREST_ACCESS_TOKEN"))
        .unwrap_or_else(|| panic!("no start-up warning: {text}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        text.contains("Lambda runtime loop stopped"),
        "no runtime error: {text}"
    );
    assert!(
        warning.contains("set PINTEREST_TOKEN_SECRET_ID"),
        "{warning}"
    );
    assert!(!text.contains(PLAIN_TOKEN), "{text}");
}

/// Without a token setting the function would map events and count them delivered without sending them (the
/// CLI's dry run), and SQS would delete them: the Lambda binary refuses to start, naming the variable.
#[test]
fn function_without_a_token_setting_refuses_to_start() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pinterest-destination"))
        .env_clear()
        .env("PINTEREST_AD_ACCOUNT_ID", AD_ACCOUNT_ID)
        // Where the runtime would poll: nothing listens there, the function must stop before.
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", "pinterest-destination")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the function binary starts");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait for the function").is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the function kept running without a token setting");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("the function's output");
    assert!(!out.status.success(), "{:?}", out.status);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("PINTEREST_TOKEN_SECRET_ID: required in Lambda"),
        "{text}"
    );
    // One line says it (not a second, Debug-formatted copy).
    assert_eq!(
        text.matches("PINTEREST_TOKEN_SECRET_ID").count(),
        1,
        "{text}"
    );
}

/// The batch of the rejected-queue tests: two good records, an event without identity, an event Pinterest
/// refuses, and a body that is not JSON. Returns it with the three rejected bodies, by message id.
fn batch_with_rejections() -> (Value, Vec<(&'static str, String)>) {
    let good = |id: &str| crate::support::invoke::good_event(id, &format!("u-{id}"));
    let no_identity = json!({"event_name": "purchase", "id": "order-9",
                             "context": {"event_id": "e-no-identity"}});
    let refused = good("e-refused");
    let not_json = "{\"event_name\": \"purchase\", oops";
    let batch = json!({"Records": [
        record("m-good-1", &good("e-good-1").to_string()),
        record("m-no-identity", &no_identity.to_string()),
        record("m-refused", &refused.to_string()),
        record("m-not-json", not_json),
        record("m-good-2", &json!([good("e-good-2")]).to_string()),
    ]});
    let rejected = vec![
        ("m-no-identity", no_identity.to_string()),
        ("m-refused", refused.to_string()),
        ("m-not-json", not_json.to_owned()),
    ];
    (batch, rejected)
}

/// The rejected events of an SQS batch go to the rejected-events queue (moto's SQS, through the AWS SDK) at
/// once, with their reason and stage, and their records are acknowledged: none comes back to cycle through
/// the queue, and Pinterest sees the refused event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_events_go_to_the_rejected_queue_and_their_records_are_acknowledged() {
    let (fake, moto) = Stack::services(TOKEN_A).await;
    fake.fail_event_id("e-refused");
    let queue = moto.create_queue("pinterest-rejected").await;
    let extra = [("PINTEREST_REJECTED_QUEUE_URL", queue.clone())];
    let mut stack = Stack::launch(TOKEN_A, fake, moto, &extra).await;
    let (event, rejected) = batch_with_rejections();

    let invoked = stack
        .invoke(&event, counts("sqs", 5, 0, [2, 0, 2, 0], 1, 0))
        .await;
    assert_eq!(invoked.status, 200, "{}", invoked.body);
    assert_eq!(
        invoked.body,
        batch_item_failures(&[]),
        "every record is acknowledged"
    );
    let requests = stack.new_requests(false);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].event_ids, ["e-good-1", "e-refused", "e-good-2"]);

    let messages = stack.moto.receive_all(&queue).await;
    assert_eq!(messages.len(), 3, "{messages:?}");
    let source_arn = fixture("sqs.json")["Records"][0]["eventSourceARN"].clone();
    let mut seen: Vec<String> = Vec::new();
    for message in &messages {
        let body: Value = serde_json::from_str(message.body().expect("a body")).expect("JSON body");
        let source = body["source_message_id"]
            .as_str()
            .expect("source_message_id");
        let (_, sent) = rejected
            .iter()
            .find(|(id, _)| *id == source)
            .unwrap_or_else(|| panic!("unexpected message {body}"));
        let (stage, reason) = match source {
            "m-no-identity" => ("mapping", "user_data: no identity"),
            "m-refused" => ("pinterest", "invalid user_data"),
            _ => ("input", "body: not JSON"),
        };
        if stage == "input" {
            assert_eq!(body["event"], json!(sent), "the body as a string");
        } else {
            assert_eq!(body["event"], serde_json::from_str::<Value>(sent).unwrap());
        }
        assert_eq!(body["stage"], stage, "{body}");
        assert!(body["reason"].as_str().unwrap().contains(reason), "{body}");
        assert_eq!(body["source_queue_arn"], source_arn);
        let rejected_at = body["rejected_at"].as_i64().expect("rejected_at");
        assert!((rejected_at - crate::support::invoke::now_ms() as i64 / 1000).abs() < 600);
        let attributes = message.message_attributes().expect("attributes");
        assert_eq!(attributes["stage"].string_value(), Some(stage));
        assert_eq!(attributes["reason"].string_value(), body["reason"].as_str());
        seen.push(source.to_owned());
    }
    seen.sort_unstable();
    assert_eq!(seen, ["m-no-identity", "m-not-json", "m-refused"]);

    stack.check_logs().await;
    let lines = stack.function.logs();
    let summary = leaks::summaries(&lines).pop().expect("a summary");
    assert_eq!(summary["rejected_queued"], 3, "{summary}");
    let document = leaks::emf_documents(&lines).pop().expect("an EMF document");
    assert_eq!(document["EventsRejectedQueued"], 3, "{document}");
    // Each rejected event's line names its record.
    for (line, message_id) in [
        ("event rejected: user_data: no identity", "m-no-identity"),
        ("event rejected by Pinterest", "m-refused"),
    ] {
        let found = leaks::json_lines(&lines)
            .into_iter()
            .find(|l| l["message"].as_str().is_some_and(|m| m.starts_with(line)))
            .unwrap_or_else(|| panic!("no line {line:?}"));
        assert_eq!(found["message_id"], message_id, "{found}");
    }
}

/// With the rejected-events queue unreachable, the records of the rejected events are reported as before:
/// they come back (and reach the dead-letter queue), the good events are delivered, nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_rejected_queue_unreachable_their_records_fail_and_nothing_is_lost() {
    let (fake, moto) = Stack::services(TOKEN_A).await;
    fake.fail_event_id("e-refused");
    let queue = moto.create_queue("pinterest-rejected").await;
    // Nothing listens there: SQS alone is unreachable, Secrets Manager still answers.
    let closed = format!("http://127.0.0.1:{}", crate::support::emulator::free_port());
    let extra = [
        ("PINTEREST_REJECTED_QUEUE_URL", queue.clone()),
        ("AWS_ENDPOINT_URL_SQS", closed),
    ];
    let mut stack = Stack::launch(TOKEN_A, fake, moto, &extra).await;
    let (event, _) = batch_with_rejections();

    let invoked = stack
        .invoke(&event, counts("sqs", 5, 3, [2, 0, 2, 0], 1, 0))
        .await;
    assert_eq!(invoked.status, 200, "{}", invoked.body);
    assert_eq!(
        invoked.body,
        batch_item_failures(&["m-no-identity", "m-refused", "m-not-json"])
    );
    let requests = stack.new_requests(false);
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].processed, [true, false, true]);
    assert!(stack.moto.receive_all(&queue).await.is_empty());

    stack.check_logs().await;
    let lines = stack.function.logs();
    let summary = leaks::summaries(&lines).pop().expect("a summary");
    assert_eq!(summary["rejected_queued"], 0, "{summary}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("rejected-events queue unavailable")),
        "no line says the queue is unavailable"
    );
}
