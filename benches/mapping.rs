//! Mapping throughput on one core, side by side with its floor; and `pinterest-cli map` streaming JSON lines.
//!
//! "Ours" is what the function does per event once it has the event's text: parse it (into the borrowed tree of
//! `event::parse`), map the event (paths, normalisation, SHA-256 + hex of each personal-data field), and
//! serialise the Pinterest event. The floor, timed in the same rounds on the same bytes, is the fastest known way
//! to do what no implementation can skip: serde_json reading every byte of the text without building anything
//! (`IgnoredAny`), SHA-256 of the same normalised strings, and writing the same Pinterest event, already
//! built, with the function's own JSON writer (`ConversionEvent::to_json`, faster than serde_json).
//!
//! With `--cli PATH` (scripts/bench.sh passes the release `pinterest-cli`), it then streams `--cli-lines`
//! realistic events (1 000 000 by default) through `PATH map` as JSON lines, from a pipe and from a file, and
//! reports its rate against the in-process rates, measured just before, of the realistic event and of the same
//! 1 000 events, and its peak RSS.
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
        Outcome::Mapped(mapped) => mapped.to_json().len(),
        _ => 0,
    }
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
    output.to_json().len()
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
    validate: Vec<f64>,
    parse: Vec<f64>,
    map: Vec<f64>,
    serialise: Vec<f64>,
    sha: Vec<f64>,
    floor: Vec<f64>,
    ratio: Vec<f64>,
}

/// Runs `rounds` rounds; each times every part back to back on the same input, so the ratio of a round is
/// measured under the same machine load.
fn measure(mapper: &Mapper, case: &Case, rounds: usize, n: usize) -> Figures {
    let event = event::parse(case.text).unwrap_or_default();
    let mut f = Figures::default();
    for _ in 0..rounds {
        let o = per_call(n, || ours(mapper, black_box(case.text), case.now));
        let v = per_call(n, || validate(black_box(case.text)));
        let s = per_call(n, || sha(black_box(&case.hashed)));
        let w = per_call(n, || serialise(black_box(&case.output)));
        let p = per_call(n, || {
            event::parse(black_box(case.text)).map_or(0, |e| e.is_object().into())
        });
        let m = per_call(n, || {
            match mapper.map(black_box(&event), case.now).outcome {
                Outcome::Mapped(e) => e.event_time as usize,
                _ => 0,
            }
        });
        let floor = v + s + w;
        f.ours.push(o);
        f.validate.push(v);
        f.sha.push(s);
        f.serialise.push(w);
        f.parse.push(p);
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
        "| event | bytes in → out | hashed | ours ns/event | ours events/s | floor ns (validate + sha + serialise) | ours / floor | parse only ns | map only ns |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let (mut ours_total, mut floor_total) = (0.0, 0.0);
    let mut realistic_ns = f64::NAN;
    for case in &cases {
        // Size the rounds so that each part runs about `target_ms`.
        let probe = per_call(50, || ours(mapper, case.text, case.now)).max(1.0);
        let n = ((target_ms * 1e6 / probe) as usize).max(10);
        let f = measure(mapper, case, rounds, n);
        let o = median(&f.ours);
        let (v, s, w) = (median(&f.validate), median(&f.sha), median(&f.serialise));
        let realistic = case.name.starts_with("realistic");
        if realistic {
            realistic_ns = o;
        } else {
            ours_total += o;
            floor_total += median(&f.floor);
        }
        let b = if realistic { "**" } else { "" };
        println!(
            "| {b}{}{b} | {} → {} | {} | {b}{:.0}{b} | {b}{}{b} | {:.0} ({:.0} + {:.0} + {:.0}) | {b}{:.2}{b} | {:.0} | {:.0} |",
            case.name,
            case.text.len(),
            serialise(&case.output),
            case.hashed.len(),
            o,
            thousands(1e9 / o),
            median(&f.floor),
            v,
            s,
            w,
            median(&f.ratio),
            median(&f.parse),
            median(&f.map),
        );
    }
    let fixtures = cases.len() - 1;
    println!(
        "| all {fixtures} fixtures, one each | | | {:.0} per event | {} | {:.0} per event | {:.2} | | |",
        ours_total / fixtures as f64,
        thousands(1e9 * fixtures as f64 / ours_total),
        floor_total / fixtures as f64,
        ours_total / floor_total,
    );
    println!();
    println!(
        "The floor column is the median of per-round sums; ours / floor is the median of per-round ratios."
    );
    // The smoke pass streams a few lines through the test build of the CLI.
    let cli = support::arg::<String>("--cli")
        .or_else(|| (!full).then(|| env!("CARGO_BIN_EXE_pinterest-cli").to_owned()));
    if let Some(cli) = cli {
        let lines = support::arg("--cli-lines").unwrap_or(if full { 1_000_000 } else { 200 });
        cli_stream(mapper, std::path::Path::new(&cli), lines, realistic_ns);
    }
}

/// Streams `lines` realistic events (1 000 distinct ones, cycled) as JSON lines through `cli map` and prints its
/// rate beside the in-process rates of the realistic event above (`in_process_ns` per event) and of the same
/// 1 000 events cycled, and its peak RSS: once from a pipe (the bench writing the lines as the CLI reads them),
/// once from a file (`pinterest-cli map < lines.jsonl`, the file written first, so read from the page cache).
fn cli_stream(mapper: &Mapper, cli: &std::path::Path, lines: usize, in_process_ns: f64) {
    use std::io::Write as _;
    use std::process::Stdio;
    let events: Vec<String> = (0..1000).map(support::events::realistic_text).collect();
    let write_lines = |out: &mut dyn std::io::Write| {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        for i in 0..lines {
            let event = &events[i % events.len()];
            out.write_all(event.as_bytes()).expect("write a line");
            out.write_all(b"\n").expect("write a line");
        }
        out.flush().expect("write the lines");
    };
    let bytes: usize = (0..lines).map(|i| events[i % events.len()].len() + 1).sum();
    // The CLI's events mapped in process: what the CLI adds is then only its reading and writing.
    let mut next = 0;
    let same_events_ns = median(
        &(0..3)
            .map(|_| {
                per_call(20 * events.len(), || {
                    next = (next + 1) % events.len();
                    ours(mapper, &events[next], support::events::NOW)
                })
            })
            .collect::<Vec<_>>(),
    );

    let mut child = cli_map(cli)
        .stdin(Stdio::piped())
        .spawn()
        .expect("start pinterest-cli");
    let started = Instant::now();
    let mut stdin = child.stdin.take().expect("piped stdin");
    write_lines(&mut stdin);
    drop(stdin);
    let piped = (
        wait_with_rusage(&mut child),
        started.elapsed().as_secs_f64(),
    );

    let path = std::env::temp_dir().join(format!("pinterest-bench-{}.jsonl", std::process::id()));
    let mut file = std::fs::File::create(&path).expect("create the lines' file");
    write_lines(&mut file);
    drop(file);
    let input = std::fs::File::open(&path).expect("open the lines' file");
    let mut child = cli_map(cli)
        .stdin(input)
        .spawn()
        .expect("start pinterest-cli");
    let started = Instant::now();
    let from_file = (
        wait_with_rusage(&mut child),
        started.elapsed().as_secs_f64(),
    );
    let _ = std::fs::remove_file(&path);

    println!();
    println!(
        "# `pinterest-cli map` streaming JSON lines ({})",
        cli.display()
    );
    println!();
    println!(
        "| input | lines | bytes | wall s | CPU s (user + system) | events/s (CPU) | in-process events/s: realistic above / same 1 000 events | CLI / in-process: realistic / same events | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (input, (usage, seconds)) in [("pipe", piped), ("file", from_file)] {
        assert!(usage.ok, "pinterest-cli map failed");
        // CPU time, like the in-process figure: the wall time also holds whatever else the machine ran.
        let rate = lines as f64 / usage.cpu_seconds;
        println!(
            "| {input} | {} | {:.0} MB | {seconds:.1} | {:.2} ({:.2} + {:.2}) | {} | {} / {} | {:.2} / {:.2} | {:.1} MB |",
            thousands(lines as f64),
            bytes as f64 / 1e6,
            usage.cpu_seconds,
            usage.cpu_seconds - usage.system_seconds,
            usage.system_seconds,
            thousands(rate),
            thousands(1e9 / in_process_ns),
            thousands(1e9 / same_events_ns),
            rate * in_process_ns / 1e9,
            rate * same_events_ns / 1e9,
            usage.max_rss_kb as f64 / 1024.0,
        );
    }
}

/// `cli map` with the benchmark's fixed `now`, its output and log discarded.
fn cli_map(cli: &std::path::Path) -> std::process::Command {
    use std::process::Stdio;
    let mut command = std::process::Command::new(cli);
    command
        .args(["map", "--now", &support::events::NOW.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// What a finished child used.
struct Usage {
    ok: bool,
    /// User and system CPU time.
    cpu_seconds: f64,
    /// The system part of it: the kernel copying the input out of the pipe or the page cache, mostly.
    system_seconds: f64,
    /// Peak resident set (`ru_maxrss`), KiB.
    max_rss_kb: i64,
}

/// Waits for `child` and reads its resource usage (`wait4`).
fn wait_with_rusage(child: &mut std::process::Child) -> Usage {
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    // SAFETY: `pid` is our child, not yet waited for; both pointers are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        ok: waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        cpu_seconds: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        system_seconds: seconds(usage.ru_stime),
        max_rss_kb: usage.ru_maxrss,
    }
}
