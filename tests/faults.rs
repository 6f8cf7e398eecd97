//! Fault injection through the SQS handler, one case per row: Pinterest's failure modes (fake Pinterest served
//! on the test's runtime) and Secrets Manager's (moto). Each row asserts the attempts made, the waits between
//! them, every record's outcome, the invocation's answer, and that no log line holds the token or the
//! person's data.
//!
//! Rows that wait run with paused tokio time and the production settings of `State::new` (200 ms base back-off,
//! 5 s cap, 10 s request time-out, 1.5 s deadline margin): a 10 s stall or a `Retry-After: 3` costs no real
//! time. Rows that talk to moto (a separate process) run in real time.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::fake_pinterest::{FakePinterest, Recorded, Reply, ResetServer, TOKEN, tick};
use crate::support::invoke::{
    Record, SqsAnswer, good_event, invoke, person, sqs_answer, sqs_event, state, state_with_secret,
    unmapped_event,
};
use crate::support::logs::{Capture, leaks};
use crate::support::moto::{Moto, unreachable_client};
use tokio::time::Instant;

/// Production back-off: retry `n` waits at most `min(5 s, 200 ms * 2^n)`.
fn ceiling(n: u32) -> Duration {
    Duration::from_millis(200)
        .saturating_mul(2u32.saturating_pow(n))
        .min(Duration::from_secs(5))
}

/// Virtual time spent on one exchange with the local fake (a few clock steps of [`TICK`]), with room for a
/// loaded machine.
const SLACK: Duration = Duration::from_millis(150);
const TICK: Duration = Duration::from_millis(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);

/// The records of a case.
#[derive(Clone, Copy, Debug)]
enum Batch {
    /// `m-a`: one purchase; `m-b`: an array of two; `m-s`: one unmapped event (skipped). One request of 3 events.
    Standard,
    /// `m-a` and `m-b` only: every record has events to send.
    AllMapped,
    /// Eight records of two purchases; event `bad` (the second event of `m-5`) is refused by Pinterest with a
    /// 400 whenever a request holds it.
    OneBadAmongSixteen,
}

impl Batch {
    fn records(self) -> Vec<Record> {
        let purchase = |n: usize| good_event(&format!("ev-{n}"), &format!("u-{n}"));
        match self {
            Batch::Standard | Batch::AllMapped => {
                let mut records = vec![
                    Record::json("m-a", &purchase(0)),
                    Record::json("m-b", &serde_json::json!([purchase(1), purchase(2)])),
                ];
                if matches!(self, Batch::Standard) {
                    records.push(Record::json("m-s", &unmapped_event("ev-skip")));
                }
                records
            }
            Batch::OneBadAmongSixteen => (0..8)
                .map(|r| {
                    let second = if r == 5 {
                        good_event("bad", "u-bad")
                    } else {
                        purchase(2 * r + 1)
                    };
                    Record::json(
                        &format!("m-{r}"),
                        &serde_json::json!([purchase(2 * r), second]),
                    )
                })
                .collect(),
        }
    }

    fn message_ids(self) -> Vec<String> {
        self.records()
            .into_iter()
            .filter_map(|r| r.message_id)
            .collect()
    }
}

/// How many attempts (HTTP requests reaching the server).
#[derive(Clone, Copy, Debug)]
enum Attempts {
    Exactly(usize),
    AtLeast(usize),
}

/// What the invocation must answer.
#[derive(Clone, Debug)]
enum Answer {
    /// Partial batch response listing exactly these records.
    Partial(&'static [&'static str]),
    /// An error: every record goes back to the queue.
    Error,
}

/// One row of the table.
struct Case {
    name: &'static str,
    script: Vec<Reply>,
    default: Reply,
    /// Serve with the connection-resetting server instead of the fake.
    resets: bool,
    batch: Batch,
    time_left: Duration,
    attempts: Attempts,
    /// Bounds of each wait between consecutive attempts (start to start), in order; the last bound applies to
    /// any further gap.
    gaps: Vec<(Duration, Duration)>,
    answer: Answer,
    /// A log line must contain this.
    logged: Option<&'static str>,
}

impl Case {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            script: Vec::new(),
            default: Reply::Ok,
            resets: false,
            batch: Batch::Standard,
            time_left: Duration::from_secs(60),
            attempts: Attempts::Exactly(1),
            gaps: Vec::new(),
            answer: Answer::Partial(&[]),
            logged: None,
        }
    }

    fn script(mut self, replies: impl IntoIterator<Item = Reply>) -> Self {
        self.script.extend(replies);
        self
    }

    fn default(mut self, reply: Reply) -> Self {
        self.default = reply;
        self
    }

    fn batch(mut self, batch: Batch) -> Self {
        self.batch = batch;
        self
    }

    fn time_left(mut self, time_left: Duration) -> Self {
        self.time_left = time_left;
        self
    }

    fn attempts(mut self, attempts: Attempts) -> Self {
        self.attempts = attempts;
        self
    }

    /// Exponential back-off: gap `n` is at most `ceiling(n)` (full jitter may make it as short as zero).
    fn backoff(mut self) -> Self {
        self.gaps = (0..12)
            .map(|n| (Duration::ZERO, ceiling(n) + SLACK))
            .collect();
        self
    }

    fn gaps(mut self, gaps: Vec<(Duration, Duration)>) -> Self {
        self.gaps = gaps;
        self
    }

    fn answer(mut self, answer: Answer) -> Self {
        self.answer = answer;
        self
    }

    fn logged(mut self, text: &'static str) -> Self {
        self.logged = Some(text);
        self
    }
}

/// The values no log line may hold.
fn secrets(extra: &[&'static str]) -> Vec<&'static str> {
    let mut all: Vec<&str> = person::IN_CLEAR.to_vec();
    all.push(TOKEN);
    all.extend_from_slice(extra);
    all
}

/// The uids (`custom_data.order_id`) Pinterest said it processed.
fn processed_uids(requests: &[Recorded]) -> BTreeSet<String> {
    let mut uids = BTreeSet::new();
    for request in requests {
        for (event, processed) in request.body["data"]
            .as_array()
            .into_iter()
            .flatten()
            .zip(&request.processed)
        {
            if let (true, Some(uid)) = (*processed, event["custom_data"]["order_id"].as_str()) {
                uids.insert(uid.to_owned());
            }
        }
    }
    uids
}

/// The uids of the purchases of the records not listed as failed.
fn acknowledged_uids(batch: Batch, failed: &[String]) -> BTreeSet<String> {
    batch
        .records()
        .iter()
        .filter(|r| !failed.contains(r.message_id.as_ref().expect("id")))
        .flat_map(|r| {
            let body: serde_json::Value = serde_json::from_str(&r.body).expect("json");
            let events = match body {
                serde_json::Value::Array(events) => events,
                event => vec![event],
            };
            events
                .into_iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Runs one row against the fake (or the resetting server) with the static token.
async fn run(case: Case) {
    let logs = Capture::start();
    let ticker = tick(TICK);
    let fake = FakePinterest::start_local().await;
    let resets = ResetServer::start().await;
    fake.script(case.script.clone());
    fake.set_default(case.default.clone());
    if let Batch::OneBadAmongSixteen = case.batch {
        fake.reject_event_id("bad");
    }
    let base_url = if case.resets {
        resets.base_url()
    } else {
        fake.base_url()
    };
    let state = state(&base_url).await;
    let started = Instant::now();
    let invocation = invoke(
        &state,
        sqs_event(&case.batch.records(), false),
        case.time_left,
    )
    .await;
    let took = started.elapsed();
    ticker.abort();
    let requests = fake.requests();
    let attempts = if case.resets {
        resets.connections()
    } else {
        requests.len()
    };
    check(&case, &invocation, &requests, attempts, took, &logs, &[]);
}

/// Checks one row's outcome and prints it as a table row.
fn check(
    case: &Case,
    invocation: &pinterest_destination::handler::Invocation,
    requests: &[Recorded],
    attempts: usize,
    took: Duration,
    logs: &Capture,
    extra_secrets: &[&'static str],
) {
    let name = case.name;
    match case.attempts {
        Attempts::Exactly(n) => assert_eq!(attempts, n, "{name}: attempts"),
        Attempts::AtLeast(n) => assert!(attempts >= n, "{name}: {attempts} attempts < {n}"),
    }
    let gaps: Vec<Duration> = requests
        .windows(2)
        .map(|w| w[1].clock_at - w[0].clock_at)
        .collect();
    for (n, gap) in gaps.iter().enumerate() {
        if let Some(&(min, max)) = case.gaps.get(n).or(case.gaps.last()) {
            assert!(
                min <= *gap && *gap <= max,
                "{name}: wait {n} of {gap:?} outside {min:?}..={max:?}"
            );
        }
    }
    // Retries stop at the deadline minus the margin; the answer follows at once.
    assert!(
        took <= case.time_left.saturating_sub(DEADLINE_MARGIN) + SLACK,
        "{name}: answered after {took:?}, with {:?} left at the start",
        case.time_left
    );

    let answer = sqs_answer(invocation);
    let retried: Vec<String> = match (&case.answer, &answer) {
        (Answer::Partial(expected), SqsAnswer::Partial(listed)) => {
            assert_eq!(listed, expected, "{name}: batchItemFailures");
            listed.clone()
        }
        (Answer::Error, SqsAnswer::Error(reason)) => {
            assert!(reason.contains("failed transiently"), "{name}: {reason}");
            case.batch.message_ids()
        }
        (expected, got) => panic!("{name}: expected {expected:?}, got {got:?}"),
    };
    // Every purchase of an acknowledged record reached Pinterest.
    let missing: Vec<String> = acknowledged_uids(case.batch, &retried)
        .difference(&processed_uids(requests))
        .cloned()
        .collect();
    assert!(
        missing.is_empty(),
        "{name}: acknowledged but not delivered: {missing:?}"
    );

    let lines = logs.lines();
    if std::env::var_os("FAULTS_SHOW_LOGS").is_some() {
        for line in &lines {
            eprintln!("{name}: {line}");
        }
    }
    if let Some(text) = case.logged {
        assert!(
            lines.iter().any(|l| l.contains(text)),
            "{name}: no log line with {text:?}"
        );
    }
    let found = leaks(&lines, &secrets(extra_secrets));
    assert!(found.is_empty(), "{name}: secrets in the logs: {found:?}");

    let statuses: Vec<u16> = requests.iter().map(|r| r.status).collect();
    let waits: Vec<u128> = gaps.iter().map(Duration::as_millis).collect();
    let shown = match &answer {
        SqsAnswer::Partial(ids) => format!("partial {ids:?}"),
        SqsAnswer::Error(_) => "error (whole batch retried)".to_owned(),
    };
    println!(
        "| {name} | {attempts} | {statuses:?} | {waits:?} | {shown} | {} log lines |",
        lines.len()
    );
}

macro_rules! paused {
    ($($name:ident => $case:expr;)*) => {$(
        #[tokio::test(start_paused = true)]
        async fn $name() {
            run($case).await;
        }
    )*};
}

const A_B: &[&str] = &["m-a", "m-b"];
const B: &[&str] = &["m-b"];

paused! {
    rate_limited_with_retry_after => Case::new("429 Retry-After: 3, then 200")
        .script([Reply::RetryAfter(429, "3".into())])
        .attempts(Attempts::Exactly(2))
        .gaps(vec![(Duration::from_secs(3), Duration::from_secs(3) + SLACK)]);

    rate_limited_without_retry_after => Case::new("429 without Retry-After, then 200")
        .script([Reply::Status(429)])
        .attempts(Attempts::Exactly(2))
        .backoff();

    rate_limited_past_the_deadline => Case::new("429 Retry-After: 120 with 30 s left")
        .script([Reply::RetryAfter(429, "120".into())])
        .time_left(Duration::from_secs(30))
        .attempts(Attempts::Exactly(1))
        .answer(Answer::Partial(A_B))
        .logged("no time left to retry");

    rate_limited_for_ever => Case::new("429 Retry-After: 18446744073709551615 (u64::MAX s)")
        .script([Reply::RetryAfter(429, u64::MAX.to_string())])
        .attempts(Attempts::Exactly(1))
        .answer(Answer::Partial(A_B))
        .logged("no time left to retry");

    server_error_500 => Case::new("500, then 200")
        .script([Reply::Status(500)])
        .attempts(Attempts::Exactly(2))
        .backoff();

    bad_gateway_502 => Case::new("502, then 200")
        .script([Reply::Status(502)])
        .attempts(Attempts::Exactly(2))
        .backoff();

    unavailable_503 => Case::new("503, then 200")
        .script([Reply::Status(503)])
        .attempts(Attempts::Exactly(2))
        .backoff();

    gateway_timeout_504 => Case::new("504, then 200")
        .script([Reply::Status(504)])
        .attempts(Attempts::Exactly(2))
        .backoff();

    request_timeout_408 => Case::new("408, then 200")
        .script([Reply::Status(408)])
        .attempts(Attempts::Exactly(2))
        .backoff();

    server_errors_in_a_row => Case::new("500, 502, 503, 504, then 200")
        .script([500, 502, 503, 504].map(Reply::Status))
        .attempts(Attempts::Exactly(5))
        .backoff();

    not_implemented_501 => Case::new("501 (not retried)")
        .default(Reply::Status(501))
        .attempts(Attempts::Exactly(1))
        .answer(Answer::Partial(A_B))
        .logged("HTTP 501");

    forbidden_403 => Case::new("403 everywhere")
        .default(Reply::Status(403))
        .attempts(Attempts::Exactly(3))
        .answer(Answer::Partial(A_B))
        .logged("HTTP 403");

    one_bad_event_among_sixteen => Case::new("400 on one bad event among 16 (bisection)")
        .batch(Batch::OneBadAmongSixteen)
        .attempts(Attempts::Exactly(9))
        .answer(Answer::Partial(&["m-5"]))
        .logged("splitting it in halves");

    unprocessable_per_event => Case::new("422 with per-event details")
        .script([Reply::Unprocessable(vec![1])])
        .answer(Answer::Partial(B))
        .logged("Event 1: invalid user_data");

    ok_with_failed_events_and_warnings => Case::new("200 with events[2] failed, warnings on 0 and 1")
        .script([Reply::FailAndWarn(vec![2], vec![0, 1])])
        .answer(Answer::Partial(B))
        .logged("Pinterest warning");

    token_refused_for_good => Case::new("401 persisting (static token)")
        .default(Reply::Status(401))
        .attempts(Attempts::Exactly(2))
        .gaps(vec![(Duration::ZERO, SLACK)])
        .answer(Answer::Partial(A_B))
        .logged("token refused again after a refresh");

    stall_past_the_request_timeout => Case::new("200 after a 30 s stall, then 200")
        .script([Reply::Delay(Duration::from_secs(30))])
        .attempts(Attempts::Exactly(2))
        .gaps(vec![(REQUEST_TIMEOUT, REQUEST_TIMEOUT + ceiling(0) + SLACK)])
        .logged("no complete answer within 10000 ms");

    connection_reset_once => Case::new("connection reset, then 200")
        .script([Reply::Reset])
        .attempts(Attempts::Exactly(2))
        .backoff();

    not_json_once => Case::new("200 with a body that is not JSON, then 200")
        .script([Reply::NotJson])
        .attempts(Attempts::Exactly(2))
        .backoff()
        .logged("not the expected JSON");

    wrong_length_once => Case::new("200 with one result too few, then 200")
        .script([Reply::WrongLength])
        .attempts(Attempts::Exactly(2))
        .backoff()
        .logged("2 per-event results for 3 events sent");

    deadline_while_retrying => Case::new("503 until the deadline (20 s left)")
        .default(Reply::Status(503))
        .time_left(Duration::from_secs(20))
        .attempts(Attempts::AtLeast(4))
        .backoff()
        .answer(Answer::Partial(A_B))
        .logged("no time left to retry before the Lambda deadline");

    every_record_transient => Case::new("503 until the deadline, every record transient")
        .batch(Batch::AllMapped)
        .default(Reply::Status(503))
        .time_left(Duration::from_secs(8))
        .attempts(Attempts::AtLeast(3))
        .backoff()
        .answer(Answer::Error);
}

#[tokio::test(start_paused = true)]
async fn connection_reset_until_the_deadline() {
    let mut case = Case::new("every connection reset (8 s left)")
        .time_left(Duration::from_secs(8))
        .attempts(Attempts::AtLeast(3))
        .answer(Answer::Partial(A_B))
        .logged("request failed");
    case.resets = true;
    run(case).await;
}

/// What the secret holds in a Secrets Manager row.
enum Secret {
    /// Pinterest accepts the secret's token; after a first invocation the secret is rotated (Pinterest now
    /// accepts only the new token) and the row's invocation runs with the old token still cached.
    Rotated,
    /// The secret's token is one Pinterest refuses.
    Revoked,
    /// Secrets Manager refuses connections.
    Unreachable,
    /// No such secret.
    Missing,
    /// This value.
    Value(&'static str),
}

/// Secrets Manager rows, with one moto for all (real time: moto is another process).
#[tokio::test]
async fn secrets_manager_rows() {
    let moto = Moto::start().await;
    let token_lines = |name: &'static str, cause: &'static str| {
        Case::new(name)
            .time_left(Duration::from_secs(20))
            .attempts(Attempts::Exactly(0))
            .answer(Answer::Partial(A_B))
            .logged(cause)
    };
    let rows = [
        (
            Secret::Rotated,
            Case::new("401 after a secret rotation, then 200")
                .time_left(Duration::from_secs(20))
                .attempts(Attempts::Exactly(2))
                .gaps(vec![(Duration::ZERO, Duration::from_secs(2))])
                .logged("token refused; re-reading it and retrying once"),
        ),
        (
            Secret::Revoked,
            Case::new("401 persisting (secret)")
                .time_left(Duration::from_secs(20))
                .attempts(Attempts::Exactly(2))
                .gaps(vec![(Duration::ZERO, Duration::from_secs(2))])
                .answer(Answer::Partial(A_B))
                .logged("token refused again after a refresh"),
        ),
        (
            Secret::Unreachable,
            token_lines(
                "Secrets Manager unreachable",
                "the token secret could not be read",
            ),
        ),
        (
            Secret::Missing,
            token_lines("secret missing", "the token secret was not found"),
        ),
        (
            Secret::Value("{not json"),
            token_lines(
                "secret not JSON",
                "without a non-empty \\\"access_token\\\" string",
            ),
        ),
        (
            Secret::Value("{\"access_token\": \"\"}"),
            token_lines(
                "secret JSON without a token",
                "without a non-empty \\\"access_token\\\" string",
            ),
        ),
        (
            Secret::Value("   "),
            token_lines("secret empty", "the token secret is empty"),
        ),
    ];
    for (index, (secret, case)) in rows.into_iter().enumerate() {
        let logs = Capture::start();
        let fake = FakePinterest::start_local().await;
        let secret_id = format!("pinterest/row-{index}");
        let (client, _reserved_port) = match &secret {
            Secret::Unreachable => {
                let (client, socket) = unreachable_client();
                (client, Some(socket))
            }
            _ => (moto.client(), None),
        };
        match &secret {
            Secret::Rotated => {
                moto.create_secret(&secret_id, "pina_first_R7x").await;
                fake.set_token("pina_first_R7x");
            }
            Secret::Revoked => moto.create_secret(&secret_id, "pina_revoked_R7x").await,
            Secret::Value(value) => moto.create_secret(&secret_id, value).await,
            Secret::Unreachable | Secret::Missing => {}
        }
        let state = state_with_secret(&fake.base_url(), &secret_id, client).await;
        let mut skip = 0;
        if let Secret::Rotated = secret {
            // First invocation: the token is read and cached.
            let first = invoke(
                &state,
                sqs_event(&case.batch.records(), false),
                case.time_left,
            )
            .await;
            assert_eq!(sqs_answer(&first), SqsAnswer::Partial(Vec::new()));
            moto.rotate_secret(&secret_id, "pina_second_R7x").await;
            fake.set_token("pina_second_R7x");
            skip = fake.requests().len();
        }
        let started = Instant::now();
        let invocation = invoke(
            &state,
            sqs_event(&case.batch.records(), false),
            case.time_left,
        )
        .await;
        let took = started.elapsed();
        let requests = fake.requests().split_off(skip);
        check(
            &case,
            &invocation,
            &requests,
            requests.len(),
            took,
            &logs,
            &["pina_first_R7x", "pina_second_R7x", "pina_revoked_R7x"],
        );
        if matches!(case.attempts, Attempts::Exactly(0)) {
            // One clear line says why nothing was sent (one request was planned).
            assert_eq!(
                logs.containing("no access token").len(),
                1,
                "{}: {:#?}",
                case.name,
                logs.lines()
            );
        }
    }
}
