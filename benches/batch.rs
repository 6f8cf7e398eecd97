//! Batch latency: large SQS events through the real handler, in process, against a fake Pinterest that answers
//! each request after 50 ms.
//!
//! The handler runs exactly as in Lambda (`handler::handle` on the invocation's text, with a `State` from
//! `Settings::from_env`) on a multi-threaded tokio runtime; the fake runs on its own thread. Reported per scenario
//! (medians over the runs after one warm-up run that also opens the connections): the handler's wall time (its
//! one parse of the text included), the slowest single request as the fake saw it (arrival to answer), their
//! difference (the target is at most 20 ms), events per POST and the most requests in flight at once; plus the
//! time the Lambda runtime client takes to read the event's bytes into the text it hands over (a `RawValue`).
//!
//! `cargo bench --bench batch` prints the table; `cargo test --benches` runs one small batch as a smoke test.

mod support;

use std::time::{Duration, Instant};

use pinterest_destination::config::Settings;
use pinterest_destination::handler;
use pinterest_destination::trigger::State;
use serde_json::value::RawValue;
use support::events::{realistic_body, records_within, sqs_event};
use support::fake_pinterest::FakePinterest;
use support::stats::{max, median, min};

const LATENCY: Duration = Duration::from_millis(50);
const AD_ACCOUNT: &str = "549755885175";

fn settings(base_url: &str, extra: &[(&str, &str)]) -> Settings {
    let mut vars: Vec<(String, String)> = vec![
        ("PINTEREST_AD_ACCOUNT_ID".into(), AD_ACCOUNT.into()),
        ("PINTEREST_ACCESS_TOKEN".into(), "pina_bench_token".into()),
        ("PINTEREST_API_BASE_URL".into(), base_url.into()),
        // The events are stamped a minute before the benchmark's fixed "now"; accept them whatever today is.
        ("PINTEREST_MAX_EVENT_AGE_SECS".into(), "315360000".into()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::from_env(move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
        .expect("bench settings")
}

struct Run {
    wall_ms: f64,
    slowest_ms: f64,
    requests: usize,
    events_per_post: f64,
    min_events_per_post: usize,
    in_flight: usize,
    first_request_ms: f64,
    last_request_ms: f64,
}

async fn run_once(state: &State, fake: &FakePinterest, payload: &str, expected: usize) -> Run {
    fake.take();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let started = Instant::now();
    let invocation = handler::handle(state, payload, deadline).await;
    let wall = started.elapsed();
    let (seen, in_flight) = fake.take();
    let response = invocation.response.expect("the batch succeeds");
    assert_eq!(
        response["batchItemFailures"].as_array().map(Vec::len),
        Some(0),
        "no record fails"
    );
    assert_eq!(
        invocation.counters.events.delivered as usize, expected,
        "all delivered"
    );
    let events: usize = seen.iter().map(|s| s.events).sum();
    assert_eq!(events, expected, "the fake saw every event once");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Run {
        wall_ms: ms(wall),
        slowest_ms: seen.iter().map(|s| ms(s.duration)).fold(0.0, f64::max),
        requests: seen.len(),
        events_per_post: events as f64 / seen.len().max(1) as f64,
        min_events_per_post: seen.iter().map(|s| s.events).min().unwrap_or(0),
        in_flight,
        first_request_ms: seen
            .iter()
            .map(|s| ms(s.arrived.saturating_duration_since(started)))
            .fold(f64::INFINITY, f64::min),
        last_request_ms: seen
            .iter()
            .map(|s| ms(s.arrived.saturating_duration_since(started)))
            .fold(0.0, f64::max),
    }
}

fn main() {
    let full = support::full_run();
    let runs: usize = support::arg("--runs").unwrap_or(if full { 7 } else { 1 });
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let fake = FakePinterest::start(LATENCY);

    let six_mb = if full {
        records_within(6 * 1024 * 1024)
    } else {
        50
    };
    let ten_k = if full { 10_000 } else { 200 };
    let scenarios = [
        (format!("{ten_k} records"), ten_k),
        (
            if full {
                format!("6 MiB payload ({six_mb} records)")
            } else {
                format!("{six_mb} records")
            },
            six_mb,
        ),
    ];
    let configs: [(&str, &[(&str, &str)]); 2] = [
        ("defaults: 4 in flight", &[]),
        ("16 in flight", &[("PINTEREST_MAX_CONCURRENCY", "16")]),
    ];

    println!(
        "# Batch latency through handler::handle, fake Pinterest answering after {} ms",
        LATENCY.as_millis()
    );
    println!();
    println!(
        "{runs} runs after one warm-up; medians (min–max of wall time). One realistic event (~1.6 KB) per record."
    );
    println!();
    println!(
        "| batch | settings | payload | runtime read ms | wall ms | slowest request ms | wall − slowest ms | requests | events/POST (min) | in flight | 1st / last request sent at ms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, records) in &scenarios {
        let event = sqs_event(*records, realistic_body);
        let bytes = serde_json::to_vec(&event).expect("encode");
        // What the runtime client does with the invocation's bytes before our code runs: it reads them into a
        // RawValue (a validated copy of the text; no tree).
        let parse_ms: Vec<f64> = (0..runs.max(3))
            .map(|_| {
                let started = Instant::now();
                let raw: Box<RawValue> = serde_json::from_slice(&bytes).expect("parse");
                let elapsed = started.elapsed();
                drop(std::hint::black_box(raw));
                elapsed.as_secs_f64() * 1e3
            })
            .collect();
        let payload: Box<RawValue> = serde_json::from_slice(&bytes).expect("parse");
        for (label, extra) in &configs {
            let state = runtime
                .block_on(State::new(settings(&fake.base_url, extra)))
                .expect("state");
            let mut results = Vec::new();
            for i in 0..=runs {
                let run = runtime.block_on(run_once(&state, &fake, payload.get(), *records));
                if i > 0 {
                    results.push(run);
                }
            }
            let col = |f: &dyn Fn(&Run) -> f64| median(&results.iter().map(f).collect::<Vec<_>>());
            let walls: Vec<f64> = results.iter().map(|r| r.wall_ms).collect();
            println!(
                "| {name} | {label} | {:.1} MB | {:.1} | {:.1} ({:.1}–{:.1}) | {:.1} | {:.1} | {:.0} | {:.0} ({}) | {:.0} | {:.1} / {:.1} |",
                bytes.len() as f64 / 1e6,
                median(&parse_ms),
                median(&walls),
                min(&walls),
                max(&walls),
                col(&|r| r.slowest_ms),
                col(&|r| r.wall_ms - r.slowest_ms),
                col(&|r| r.requests as f64),
                col(&|r| r.events_per_post),
                results
                    .iter()
                    .map(|r| r.min_events_per_post)
                    .min()
                    .unwrap_or(0),
                col(&|r| r.in_flight as f64),
                col(&|r| r.first_request_ms),
                col(&|r| r.last_request_ms),
            );
        }
    }
}
