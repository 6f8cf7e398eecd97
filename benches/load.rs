//! Load: does the function hold Pinterest's rate limit under sustained load without parking good events in the
//! dead-letter queue? K processes of the release binary, each under its own minimal Lambda Runtime API
//! (`support::runtime_api`), are fed by pollers that play Lambda's SQS event source against moto's SQS
//! (`.venv/bin/moto_server`): receive up to the batch size within the batching window, invoke, delete what the
//! answer acknowledged (everything but `batchItemFailures`; nothing after a function error), and let the rest come
//! back after the visibility timeout; the queue's RedrivePolicy moves a message received `maxReceiveCount` times
//! to a dead-letter queue. A producer sends at a fixed rate; the fake Pinterest (`support::fake_pinterest`)
//! answers after a latency and enforces a calls-per-minute limit on the ad account (429 with `Retry-After`).
//!
//! Scaling (printed with the table): time runs `TIME_SCALE` times faster (a simulated minute is 10 s), so every
//! duration the harness controls is divided by it: the limit's window, the batching window, the function timeout
//! (the invocation deadline), the visibility timeout, Pinterest's latency. The function's budget is a rate (even
//! spacing, no window), so `PINTEREST_CALLS_PER_MINUTE` is multiplied by it exactly. Pinterest's limit is
//! `LIMIT_SCALE` times lower (250 calls a simulated minute for 5 000: moto's SQS, one Python process, cannot serve
//! the pollers and a producer at twice a higher limit), and so is each instance's budget (rounded down, so that
//! the instances together stay under the limit, as the template's floor does); and a
//! call carries one record where it would carry a batch (`B` events for a batch size `B` up to 1000, one request
//! per invocation either way), so the harness moves `TIME_SCALE / (LIMIT_SCALE × B)` of the real events per
//! second through moto. Calls and receives are played as they are; events per second and calls per minute are
//! printed scaled back to real units. Not scaled: the function's own constants (1.5 s deadline margin, 0.2–5 s
//! back-off, 10 s request time-out), which are thus relatively six times longer than in production, a harsher
//! setting for retries.
//!
//! `scripts/load.sh` builds the release binary and runs `cargo test --bench load -- --bench --binary PATH
//! --sustained 20` (about fourteen minutes): every setup at 0.5x, 1x and 2x for `--minutes N` simulated minutes
//! (default 2; 0 skips them), then `defaults` and `no-budget` at 2x for the `--sustained` minutes, long enough
//! for a message to be received `maxReceiveCount` times; `--only NAME` runs one setup. The poller hands one
//! record per invocation, so the batching window and the requests in flight do not change the call rate here
//! (under a backlog, real batches are full too); the `window-1-inflight-1` row checks that. Under
//! `cargo test --benches` only the plans are checked (no process, no output).

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use support::fake_pinterest::FakePinterest;
use support::runtime_api::RuntimeApi;
use support::stats::percentile;

/// Pinterest's limit on one ad account, calls per minute.
const ACCOUNT_LIMIT: f64 = 5000.0;
/// A simulated minute lasts `60 / TIME_SCALE` real seconds.
const TIME_SCALE: f64 = 6.0;
/// The harness's limit is the account's divided by this.
const LIMIT_SCALE: f64 = 20.0;
/// The template's function timeout, visibility timeout (6 × timeout + 30 s) and `maxReceiveCount`.
const FUNCTION_TIMEOUT_S: f64 = 30.0;
const VISIBILITY_TIMEOUT_S: f64 = 210.0;
const MAX_RECEIVE_COUNT: u32 = 5;
/// Pinterest's answer time (simulated seconds).
const LATENCY_S: f64 = 0.15;
/// Records per call in the harness (see the scaling above).
const RECORDS_PER_CALL: usize = 1;

/// One setting of the template.
#[derive(Debug, Clone, Copy)]
struct Setup {
    name: &'static str,
    batch_size: usize,
    window_s: f64,
    max_concurrency: usize,
    in_flight: usize,
    /// `PINTEREST_CALLS_PER_MINUTE` = limit / maximum concurrency; else the default (the account's whole limit).
    budget: bool,
}

const SETUPS: [Setup; 5] = [
    Setup {
        name: "defaults",
        batch_size: 100,
        window_s: 5.0,
        max_concurrency: 20,
        in_flight: 4,
        budget: true,
    },
    Setup {
        name: "batch-1000",
        batch_size: 1000,
        window_s: 5.0,
        max_concurrency: 20,
        in_flight: 4,
        budget: true,
    },
    Setup {
        name: "concurrency-40",
        batch_size: 100,
        window_s: 5.0,
        max_concurrency: 40,
        in_flight: 4,
        budget: true,
    },
    Setup {
        name: "window-1-inflight-1",
        batch_size: 100,
        window_s: 1.0,
        max_concurrency: 20,
        in_flight: 1,
        budget: true,
    },
    Setup {
        name: "no-budget",
        batch_size: 100,
        window_s: 5.0,
        max_concurrency: 20,
        in_flight: 4,
        budget: false,
    },
];

/// Offered loads, as multiples of the limit's capacity at the setup's batch size.
const LOADS: [f64; 3] = [0.5, 1.0, 2.0];

/// What one run plays, in real seconds and harness units.
#[derive(Debug)]
struct Plan {
    /// Pinterest's limit in the harness: calls per window.
    limit_calls: usize,
    limit_window: Duration,
    /// `PINTEREST_CALLS_PER_MINUTE` given to each instance (per real minute).
    calls_per_minute: u32,
    /// Messages per second the producer sends.
    offered_per_s: f64,
    window: Duration,
    function_timeout: Duration,
    visibility_timeout_s: u64,
    latency: Duration,
    /// Real events one harness message stands for.
    events_per_message: f64,
}

impl Plan {
    fn new(setup: &Setup, load: f64) -> Self {
        let minute = 60.0 / TIME_SCALE;
        let limit_calls = (ACCOUNT_LIMIT / LIMIT_SCALE).round() as usize;
        let per_instance = if setup.budget {
            (ACCOUNT_LIMIT / setup.max_concurrency as f64).floor()
        } else {
            ACCOUNT_LIMIT
        };
        let calls_per_minute = (per_instance / LIMIT_SCALE * TIME_SCALE).floor().max(1.0) as u32;
        let capacity_calls_per_s = limit_calls as f64 / minute;
        Self {
            limit_calls,
            limit_window: Duration::from_secs_f64(minute),
            calls_per_minute,
            offered_per_s: load * capacity_calls_per_s * RECORDS_PER_CALL as f64,
            window: Duration::from_secs_f64(setup.window_s / TIME_SCALE),
            function_timeout: Duration::from_secs_f64(FUNCTION_TIMEOUT_S / TIME_SCALE),
            visibility_timeout_s: (VISIBILITY_TIMEOUT_S / TIME_SCALE).ceil() as u64,
            latency: Duration::from_secs_f64(LATENCY_S / TIME_SCALE),
            events_per_message: setup.batch_size.min(1000) as f64 / RECORDS_PER_CALL as f64,
        }
    }
}

/// moto's SQS over its JSON protocol, one connection per call (moto's server closes them).
#[derive(Clone)]
struct Sqs {
    address: String,
}

impl Sqs {
    fn call(&self, action: &str, body: &Value) -> Value {
        self.try_call(action, body)
            .unwrap_or_else(|problem| panic!("{problem}"))
    }

    /// One call; `Err` when moto answers other than 200 (it answers 500 now and then under this load, which
    /// Lambda's poller would retry).
    fn try_call(&self, action: &str, body: &Value) -> Result<Value, String> {
        let payload = body.to_string();
        let mut stream = TcpStream::connect(&self.address).expect("connect to moto");
        // A stuck moto ends the run with a panic instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("read time-out");
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-amz-json-1.0\r\n\
             X-Amz-Target: AmazonSQS.{action}\r\nAuthorization: AWS4-HMAC-SHA256 \
             Credential=test/20261207/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n",
            self.address,
            payload.len()
        );
        stream.write_all(head.as_bytes()).expect("write to moto");
        stream.write_all(payload.as_bytes()).expect("write to moto");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("read from moto");
        let split = answer
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("an HTTP answer from moto");
        let status = String::from_utf8_lossy(&answer[..split]);
        let body = &answer[split + 4..];
        if !(status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200")) {
            return Err(format!(
                "moto {action}: {status} {}",
                String::from_utf8_lossy(body)
            ));
        }
        Ok(serde_json::from_slice(body).unwrap_or(Value::Null))
    }

    fn create_queue(&self, name: &str, attributes: Value) -> String {
        let answer = self.call(
            "CreateQueue",
            &json!({"QueueName": name, "Attributes": attributes}),
        );
        answer["QueueUrl"].as_str().expect("QueueUrl").to_owned()
    }

    fn attribute(&self, queue: &str, name: &str) -> String {
        let answer = self.call(
            "GetQueueAttributes",
            &json!({"QueueUrl": queue, "AttributeNames": [name]}),
        );
        answer["Attributes"][name]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn count(&self, queue: &str, name: &str) -> u64 {
        self.attribute(queue, name).parse().unwrap_or(0)
    }
}

/// What the pollers saw.
#[derive(Default)]
struct Tally {
    /// Per deleted message: its receive count, its end-to-end delay (simulated seconds), and when it was deleted.
    delivered: Vec<(u32, f64, Instant)>,
    /// Records handed to the function, and those of them reported in `batchItemFailures` or returned by a
    /// function error.
    records_received: u64,
    records_failed: u64,
    invocations: u64,
    function_errors: u64,
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One instance: the release binary under its Runtime API.
struct Instance {
    child: Child,
    api: RuntimeApi,
}

impl Instance {
    fn spawn(binary: &PathBuf, plan: &Plan, setup: &Setup, pinterest: &str) -> Self {
        let api = RuntimeApi::with_timeout(plan.function_timeout);
        let child = Command::new(binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "pinterest-destination")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
            .env("AWS_REGION", "us-east-1")
            .env("TZ", ":UTC")
            .env("PINTEREST_AD_ACCOUNT_ID", "549755885175")
            .env("PINTEREST_ACCESS_TOKEN", "pina_load_token")
            .env("PINTEREST_API_BASE_URL", pinterest)
            .env("PINTEREST_MAX_EVENT_AGE_SECS", "315360000")
            .env("PINTEREST_MAX_CONCURRENCY", setup.in_flight.to_string())
            .env(
                "PINTEREST_CALLS_PER_MINUTE",
                plan.calls_per_minute.to_string(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the release binary");
        Self { child, api }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SQS event Lambda would build from these received messages.
fn sqs_event(messages: &[Value], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

/// What the pollers of one run share.
struct Source<'a> {
    sqs: &'a Sqs,
    queue: &'a str,
    queue_arn: &'a str,
    setup: &'a Setup,
    plan: &'a Plan,
    stop: &'a AtomicBool,
    tally: &'a Mutex<Tally>,
}

/// Lambda's poller for one instance: batch, invoke, delete what was acknowledged, until `stop`.
fn poll(instance: &Instance, source: &Source<'_>) {
    let Source {
        sqs,
        queue,
        queue_arn,
        setup,
        plan,
        stop,
        tally,
    } = *source;
    let batch = setup.batch_size.min(RECORDS_PER_CALL);
    let mut invocation = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let mut messages: Vec<Value> = Vec::new();
        let mut first = None;
        while messages.len() < batch && !stop.load(Ordering::Relaxed) {
            if first.is_some_and(|at: Instant| at.elapsed() >= plan.window) {
                break;
            }
            // A failed receive received nothing: try again, as Lambda's poller does.
            let answer = sqs.try_call(
                "ReceiveMessage",
                &json!({
                    "QueueUrl": queue,
                    "MaxNumberOfMessages": (batch - messages.len()).min(10),
                    "WaitTimeSeconds": u32::from(messages.is_empty()),
                    "AttributeNames": ["All"],
                }),
            );
            let Ok(answer) = answer else {
                std::thread::sleep(Duration::from_millis(50));
                continue;
            };
            let received = answer["Messages"].as_array().cloned().unwrap_or_default();
            if !received.is_empty() && first.is_none() {
                first = Some(Instant::now());
            }
            messages.extend(received);
        }
        if messages.is_empty() {
            continue;
        }
        invocation += 1;
        let id = format!("load-{invocation}");
        instance.api.invoke(
            &id,
            serde_json::to_vec(&sqs_event(&messages, queue_arn)).expect("event JSON"),
        );
        let answer = instance
            .api
            .wait_answer(&id, plan.function_timeout * 3)
            .map(|(_, _, ok, body)| (ok, body));
        let failed: Vec<String> = match &answer {
            Some((true, body)) => serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v["batchItemFailures"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                .collect(),
            _ => messages
                .iter()
                .filter_map(|m| m["MessageId"].as_str().map(str::to_owned))
                .collect(),
        };
        let acknowledged: Vec<&Value> = messages
            .iter()
            .filter(|m| !failed.iter().any(|f| m["MessageId"] == f.as_str()))
            .collect();
        for chunk in acknowledged.chunks(10) {
            let entries: Vec<Value> = chunk
                .iter()
                .enumerate()
                .map(|(i, m)| json!({"Id": i.to_string(), "ReceiptHandle": m["ReceiptHandle"]}))
                .collect();
            sqs.call(
                "DeleteMessageBatch",
                &json!({"QueueUrl": queue, "Entries": entries}),
            );
        }
        let now_ms = unix_ms();
        let now = Instant::now();
        let mut tally = tally.lock().expect("tally");
        tally.invocations += 1;
        tally.function_errors += u64::from(!matches!(answer, Some((true, _))));
        tally.records_received += messages.len() as u64;
        tally.records_failed += failed.len() as u64;
        for m in acknowledged {
            let attribute = |name: &str| -> u64 {
                m["Attributes"][name]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            let delay_s = now_ms.saturating_sub(attribute("SentTimestamp")) as f64 / 1e3;
            tally.delivered.push((
                attribute("ApproximateReceiveCount") as u32,
                delay_s * TIME_SCALE,
                now,
            ));
        }
    }
}

/// Sends `per_s` messages a second until `stop`, in batches of ten every 100 ms or so.
fn produce(sqs: &Sqs, queue: &str, per_s: f64, stop: &AtomicBool, sent: &AtomicU64) {
    let start = Instant::now();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let due = (start.elapsed().as_secs_f64() * per_s) as u64;
        // Behind schedule (moto is slow), it still stops on time rather than catching up after the run.
        while n < due && !stop.load(Ordering::Relaxed) {
            let count = (due - n).min(10);
            let entries: Vec<Value> = (0..count)
                .map(|i| {
                    json!({
                        "Id": i.to_string(),
                        "MessageBody": support::events::realistic_text((n + i) as usize),
                    })
                })
                .collect();
            sqs.call(
                "SendMessageBatch",
                &json!({"QueueUrl": queue, "Entries": entries}),
            );
            n += count;
            sent.store(n, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One row of the table.
struct Row {
    setup: Setup,
    load: f64,
    plan_budget: u32,
    /// What the producer managed to send (it shares moto with the pollers).
    offered_per_s: f64,
    events_per_s: f64,
    calls_per_minute: f64,
    throttled: usize,
    receives: (f64, f64),
    records_failed: u64,
    records_received: u64,
    dead_letters: u64,
    delay: (f64, f64),
    backlog: u64,
}

fn run(binary: &PathBuf, sqs: &Sqs, setup: &Setup, load: f64, minutes: f64, index: usize) -> Row {
    let plan = Plan::new(setup, load);
    let fake =
        FakePinterest::start_limited(plan.latency, Some((plan.limit_calls, plan.limit_window)));
    let dlq = sqs.create_queue(&format!("load-{index}-dlq"), json!({}));
    let dlq_arn = sqs.attribute(&dlq, "QueueArn");
    let queue = sqs.create_queue(
        &format!("load-{index}"),
        json!({
            "VisibilityTimeout": plan.visibility_timeout_s.to_string(),
            "RedrivePolicy": json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT.to_string()}).to_string(),
        }),
    );
    let queue_arn = sqs.attribute(&queue, "QueueArn");
    let mut instances: Vec<Instance> = (0..setup.max_concurrency)
        .map(|_| Instance::spawn(binary, &plan, setup, &fake.base_url))
        .collect();
    for instance in &instances {
        instance
            .api
            .wait_next(Duration::from_secs(30))
            .expect("the function starts");
    }
    let _ = fake.take();
    let stop_polling = AtomicBool::new(false);
    let stop_producing = AtomicBool::new(false);
    let sent = AtomicU64::new(0);
    let tally = Mutex::new(Tally::default());
    let load_time = Duration::from_secs_f64(minutes * 60.0 / TIME_SCALE);
    let drain_time = Duration::from_secs_f64(30.0 / TIME_SCALE);
    let started = Instant::now();
    let source = Source {
        sqs,
        queue: &queue,
        queue_arn: &queue_arn,
        setup,
        plan: &plan,
        stop: &stop_polling,
        tally: &tally,
    };
    std::thread::scope(|scope| {
        // `&mut`: an instance's Runtime API reports on a channel that one thread at a time may read.
        for instance in &mut instances {
            let source = &source;
            scope.spawn(move || poll(instance, source));
        }
        scope.spawn(|| produce(sqs, &queue, plan.offered_per_s, &stop_producing, &sent));
        std::thread::sleep(load_time);
        stop_producing.store(true, Ordering::Relaxed);
        std::thread::sleep(drain_time);
        stop_polling.store(true, Ordering::Relaxed);
    });
    let end_of_load = started + load_time;
    let (seen, _) = fake.take();
    drop(instances);
    let tally = tally.into_inner().expect("tally");
    let in_load: Vec<&(u32, f64, Instant)> = tally
        .delivered
        .iter()
        .filter(|(_, _, at)| *at <= end_of_load)
        .collect();
    let real_s = load_time.as_secs_f64();
    let calls_in_load = seen.iter().filter(|s| s.arrived <= end_of_load).count();
    let receives: Vec<f64> = tally.delivered.iter().map(|d| f64::from(d.0)).collect();
    let delays: Vec<f64> = tally.delivered.iter().map(|d| d.1).collect();
    Row {
        setup: *setup,
        load,
        plan_budget: plan.calls_per_minute,
        offered_per_s: sent.load(Ordering::Relaxed) as f64 / real_s / TIME_SCALE
            * LIMIT_SCALE
            * plan.events_per_message,
        events_per_s: in_load.len() as f64 / real_s / TIME_SCALE
            * LIMIT_SCALE
            * plan.events_per_message,
        calls_per_minute: calls_in_load as f64 / minutes * LIMIT_SCALE,
        throttled: seen
            .iter()
            .filter(|s| s.status == 429 && s.arrived <= end_of_load)
            .count(),
        receives: (percentile(&receives, 50.0), percentile(&receives, 99.0)),
        records_failed: tally.records_failed,
        records_received: tally.records_received,
        dead_letters: sqs.count(&dlq, "ApproximateNumberOfMessages"),
        delay: (percentile(&delays, 50.0), percentile(&delays, 99.0)),
        backlog: sqs.count(&queue, "ApproximateNumberOfMessages")
            + sqs.count(&queue, "ApproximateNumberOfMessagesNotVisible"),
    }
}

/// `moto_server` on a free port, killed on drop.
struct Moto(Child, String);

impl Moto {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start .venv/bin/moto_server");
        let address = format!("127.0.0.1:{port}");
        let until = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < until, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self(child, address)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    if !support::full_run() {
        // Smoke: the plans are consistent (a budget of at least one call, the instances' budgets together
        // within the limit, loads in proportion).
        for setup in &SETUPS {
            let plans: Vec<Plan> = LOADS.iter().map(|&l| Plan::new(setup, l)).collect();
            assert!(plans.iter().all(|p| p.calls_per_minute >= 1));
            if setup.budget {
                let per_simulated_minute = f64::from(plans[0].calls_per_minute) / TIME_SCALE
                    * setup.max_concurrency as f64;
                assert!(
                    per_simulated_minute <= plans[0].limit_calls as f64,
                    "{setup:?}"
                );
            }
            assert!((plans[2].offered_per_s - 4.0 * plans[0].offered_per_s).abs() < 1e-9);
        }
        return;
    }
    let binary = support::arg::<PathBuf>("--binary").unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/pinterest-destination")
    });
    let minutes: f64 = support::arg("--minutes").unwrap_or(2.0);
    let sustained: f64 = support::arg("--sustained").unwrap_or(0.0);
    let only: Option<String> = support::arg("--only");
    let moto = Moto::start();
    let sqs = Sqs {
        address: moto.1.clone(),
    };
    println!(
        "# Load: 1 simulated minute = {:.0} s; Pinterest limit {} calls per simulated minute (the account's {} / \
         {}); one record per call standing for a batch; figures in real units",
        60.0 / TIME_SCALE,
        ACCOUNT_LIMIT / LIMIT_SCALE,
        ACCOUNT_LIMIT,
        LIMIT_SCALE
    );
    println!();
    println!(
        "| setup (batch, window s, max concurrency, in flight) | calls/min budget per instance | offered load | simulated minutes | events/s offered | events/s delivered | calls/min | 429s/min | receives per message p50/p99 | receives failed | dead-letter queue (messages) | end-to-end delay p50/p99 (s) | backlog at end (events) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let chosen = |s: &&Setup| only.as_deref().is_none_or(|o| o == s.name);
    let mut runs: Vec<(&Setup, f64, f64)> = Vec::new();
    for setup in SETUPS.iter().filter(|_| minutes > 0.0).filter(chosen) {
        runs.extend(LOADS.iter().map(|&load| (setup, load, minutes)));
    }
    // Long enough for a message to be received `MAX_RECEIVE_COUNT` times (one visibility timeout apart):
    // the dead-letter queue, with the budget and without.
    if sustained > 0.0 {
        for setup in SETUPS
            .iter()
            .filter(chosen)
            .filter(|s| matches!(s.name, "defaults" | "no-budget"))
        {
            runs.push((setup, 2.0, sustained));
        }
    }
    for (index, (setup, load, minutes)) in runs.into_iter().enumerate() {
        let row = run(&binary, &sqs, setup, load, minutes, index);
        print_row(&row, minutes);
    }
}

fn print_row(row: &Row, minutes: f64) {
    let s = row.setup;
    println!(
        "| {} ({}, {}, {}, {}) | {} | {}× | {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.0} / {:.0} | {} of {} | {} | {:.1} / {:.1} | {:.0} |",
        s.name,
        s.batch_size,
        s.window_s,
        s.max_concurrency,
        s.in_flight,
        if s.budget {
            format!(
                "{}",
                (f64::from(row.plan_budget) / TIME_SCALE * LIMIT_SCALE).round()
            )
        } else {
            "5000 (default)".to_owned()
        },
        row.load,
        minutes,
        row.offered_per_s,
        row.events_per_s,
        row.calls_per_minute,
        row.throttled as f64 / minutes * LIMIT_SCALE,
        row.receives.0,
        row.receives.1,
        row.records_failed,
        row.records_received,
        row.dead_letters,
        row.delay.0,
        row.delay.1,
        row.backlog as f64 * LIMIT_SCALE * (s.batch_size.min(1000) / RECORDS_PER_CALL) as f64,
    );
}
