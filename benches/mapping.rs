//! Mapping throughput on one core, side by side with its floor.
//!
//! "Ours" is what the function does per event once it has the event's text: parse it (into the borrowed tree of
//! `event::parse`), map the event (paths, normalisation, SHA-256 + hex of each personal-data field), and
//! serialise the Pinterest event. The floor, timed in the same rounds on the same bytes, is what no
//! implementation can skip: parsing the same bytes with serde_json (into a `serde_json::Value`), SHA-256 of the
//! same normalised strings, and serialising an output of the same size (the same Pinterest event, already built).
//! A stricter floor replaces the parse by serde_json's validation alone (`IgnoredAny`: every byte read, nothing
//! built), which no parse that builds anything can beat.
//!
//! `cargo bench --bench mapping` prints the tables; `cargo test --benches` runs one short round as a smoke test.

mod support;

use std::hint::black_box;
use std::time::Instant;

use pinterest_destination::event;
use pinterest_destination::mapping::fields::FIELDS;
use pinterest_destination::mapping::{Mapper, Outcome};
use pinterest_destination::normalize::{self, HashedField};
use pinterest_destination::pinterest::model::ConversionEvent;
use serde::de::IgnoredAny;
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::stats::{median, thousands, thread_cpu_ns};

/// One input: its JSON text, the strings the mapping hashes, and the event it maps to (which borrows from the
/// text, so the text and its tree live as long as the bench).
struct Case {
    name: String,
    text: &'static str,
    now: i64,
    hashed: Vec<String>,
    output: ConversionEvent<'static>,
}

impl Case {
    fn new(mapper: &'static Mapper, name: String, text: String, now: i64) -> Self {
        let text: &'static str = Box::leak(text.into_boxed_str());
        let event: &'static event::Value<'static> =
            Box::leak(Box::new(event::parse(text).expect("bench event is JSON")));
        let mapping = mapper.map(event, now);
        let Outcome::Mapped(output) = mapping.outcome else {
            panic!("{name}: expected a mapped event, got {:?}", mapping.outcome);
        };
        assert!(
            mapping.warnings.is_empty(),
            "{name}: {:?}",
            mapping.warnings
        );
        let hashed = hashed_strings(mapper, event);
        Self {
            name,
            text,
            now,
            hashed,
            output: *output,
        }
    }
}

/// The normalised values the mapping hashes for `event` (already-hashed values pass through unhashed).
fn hashed_strings(mapper: &Mapper, event: &event::Value<'_>) -> Vec<String> {
    let raw = |field| {
        mapper
            .sources
            .of(field)
            .iter()
            .find_map(|p| p.get(event).and_then(|v| event::text(v).ok()?))
    };
    let country = FIELDS
        .iter()
        .find(|row| row.field.hashed() == Some(HashedField::Country))
        .and_then(|row| raw(row.field))
        .and_then(|c| normalize::normalize(HashedField::Country, &c, None).ok());
    FIELDS
        .iter()
        .filter_map(|row| {
            let rule = row.field.hashed()?;
            let value = raw(row.field)?;
            if normalize::is_sha256_hex(value.trim()) {
                return None;
            }
            normalize::normalize(rule, &value, country.as_deref()).ok()
        })
        .collect()
}

/// What the function does per event (`trigger::sqs`, then `trigger::process`): text → borrowed tree → mapped
/// event → JSON.
fn ours(mapper: &Mapper, text: &str, now: i64) -> usize {
    let event = event::parse(text).unwrap_or_default();
    match mapper.map(&event, now).outcome {
        Outcome::Mapped(mapped) => serde_json::to_string(&mapped).map_or(0, |s| s.len()),
        _ => 0,
    }
}

fn parse(text: &str) -> usize {
    serde_json::from_str::<Value>(text).map_or(0, |v| v.as_object().map_or(0, |o| o.len()))
}

fn validate(text: &str) -> usize {
    serde_json::from_str::<IgnoredAny>(text).map_or(0, |_| 1)
}

fn sha(strings: &[String]) -> usize {
    strings
        .iter()
        .map(|s| usize::from(Sha256::digest(s.as_bytes())[0]))
        .sum()
}

fn serialise(output: &ConversionEvent) -> usize {
    serde_json::to_string(output).map_or(0, |s| s.len())
}

/// Nanoseconds of this thread's CPU time per call of `f`, over `n` calls (wall time where CPU time is not
/// available).
fn per_call(n: usize, mut f: impl FnMut() -> usize) -> f64 {
    let cpu = thread_cpu_ns();
    let started = Instant::now();
    let mut sink = 0usize;
    for _ in 0..n {
        sink = sink.wrapping_add(f());
    }
    black_box(sink);
    let wall = started.elapsed().as_nanos() as f64;
    let ns = match (cpu, thread_cpu_ns()) {
        (Some(before), Some(after)) => (after - before) as f64,
        _ => wall,
    };
    ns / n as f64
}

/// Medians over rounds, in ns per event.
#[derive(Default)]
struct Figures {
    ours: Vec<f64>,
    parse: Vec<f64>,
    validate: Vec<f64>,
    map: Vec<f64>,
    serialise: Vec<f64>,
    sha: Vec<f64>,
    floor: Vec<f64>,
    ratio: Vec<f64>,
    strict_ratio: Vec<f64>,
}

/// Runs `rounds` rounds; each times every part back to back on the same input, so the ratio of a round is
/// measured under the same machine load.
fn measure(mapper: &Mapper, case: &Case, rounds: usize, n: usize) -> Figures {
    let event = event::parse(case.text).unwrap_or_default();
    let mut f = Figures::default();
    for _ in 0..rounds {
        let o = per_call(n, || ours(mapper, black_box(case.text), case.now));
        let p = per_call(n, || parse(black_box(case.text)));
        let v = per_call(n, || validate(black_box(case.text)));
        let s = per_call(n, || sha(black_box(&case.hashed)));
        let w = per_call(n, || serialise(black_box(&case.output)));
        let m = per_call(n, || {
            match mapper.map(black_box(&event), case.now).outcome {
                Outcome::Mapped(e) => e.event_time as usize,
                _ => 0,
            }
        });
        let floor = p + s + w;
        f.ours.push(o);
        f.parse.push(p);
        f.validate.push(v);
        f.strict_ratio.push(o / (v + s + w));
        f.sha.push(s);
        f.serialise.push(w);
        f.map.push(m);
        f.floor.push(floor);
        f.ratio.push(o / floor);
    }
    f
}

fn main() {
    let full = support::full_run();
    let rounds = support::arg("--rounds").unwrap_or(if full { 11 } else { 1 });
    let target_ms: f64 = support::arg("--round-ms").unwrap_or(if full { 150.0 } else { 2.0 });
    let mapper: &'static Mapper = Box::leak(Box::default());
    if let Some(n) = support::arg::<usize>("--profile") {
        // For `valgrind --tool=callgrind`: only our path, on the realistic event, `n` times.
        let text = support::events::realistic_text(7);
        let sum: usize = (0..n)
            .map(|_| ours(mapper, black_box(&text), support::events::NOW))
            .sum();
        println!("{sum}");
        return;
    }

    let realistic = Case::new(
        mapper,
        "realistic purchase (11 hashed fields, 3 items)".into(),
        support::events::realistic_text(7),
        support::events::NOW,
    );
    let mut cases = vec![realistic];
    for (name, text, now) in support::events::fixtures() {
        cases.push(Case::new(mapper, name, text, now));
    }

    println!("# Mapping throughput, one thread ({rounds} rounds, medians of CPU time per event)");
    println!();
    #[cfg(target_arch = "x86_64")]
    println!(
        "CPU SHA extensions: {} (sha2 picks them at run time through cpufeatures)",
        std::arch::is_x86_feature_detected!("sha") && std::arch::is_x86_feature_detected!("sse4.1")
    );
    #[cfg(target_arch = "aarch64")]
    println!(
        "CPU SHA2 extensions: {} (sha2 picks them at run time through cpufeatures)",
        std::arch::is_aarch64_feature_detected!("sha2")
    );
    println!();
    println!(
        "| event | bytes in → out | hashed | ours ns/event | ours events/s | floor ns (parse + sha + serialise) | ours / floor | strict floor ns (validate + sha + serialise) | ours / strict floor | map only ns |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let (mut ours_total, mut floor_total, mut strict_total) = (0.0, 0.0, 0.0);
    for case in &cases {
        // Size the rounds so that each part runs about `target_ms`.
        let probe = per_call(50, || ours(mapper, case.text, case.now)).max(1.0);
        let n = ((target_ms * 1e6 / probe) as usize).max(10);
        let f = measure(mapper, case, rounds, n);
        let (o, fl) = (median(&f.ours), median(&f.floor));
        let (v, s, w) = (median(&f.validate), median(&f.sha), median(&f.serialise));
        let realistic = case.name.starts_with("realistic");
        if !realistic {
            ours_total += o;
            floor_total += fl;
            strict_total += v + s + w;
        }
        let b = if realistic { "**" } else { "" };
        println!(
            "| {b}{}{b} | {} → {} | {} | {b}{:.0}{b} | {b}{}{b} | {:.0} ({:.0} + {:.0} + {:.0}) | {b}{:.2}{b} | {:.0} ({:.0} + {:.0} + {:.0}) | {b}{:.2}{b} | {:.0} |",
            case.name,
            case.text.len(),
            serialise(&case.output),
            case.hashed.len(),
            o,
            thousands(1e9 / o),
            fl,
            median(&f.parse),
            s,
            w,
            median(&f.ratio),
            v + s + w,
            v,
            s,
            w,
            median(&f.strict_ratio),
            median(&f.map),
        );
    }
    let fixtures = cases.len() - 1;
    println!(
        "| all {fixtures} fixtures, one each | | | {:.0} per event | {} | {:.0} per event | {:.2} | {:.0} per event | {:.2} | |",
        ours_total / fixtures as f64,
        thousands(1e9 * fixtures as f64 / ours_total),
        floor_total / fixtures as f64,
        ours_total / floor_total,
        strict_total / fixtures as f64,
        ours_total / strict_total,
    );
}
