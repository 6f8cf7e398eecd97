//! Cold start, first invocation and memory of the release binary, run as Lambda runs it: a process started with
//! Lambda's environment against a local Runtime API (`support::runtime_api`), its token secret in moto
//! (`.venv/bin/moto_server`) and a fake Pinterest.
//!
//! - Cold start: from just before the process is spawned to its first `GET .../invocation/next`, p50 and p95
//!   over the runs; side by side, in the same rounds, the floor: this bench binary re-executed as a client that
//!   sends that `GET` first thing in `main` (same kind of binary, same loader, no work), and the function with a
//!   static token (no AWS SDK configuration at start-up).
//! - First invocation: from handing out a one-record SQS event to its response, in a fresh process: reads the
//!   secret from moto and opens the first connection to Pinterest; beside it the second, warm, invocation.
//! - Memory: the process's peak resident set (`VmHWM`, what `/usr/bin/time -v` reports as maximum resident
//!   set size) after init, and after a big SQS batch against a fake Pinterest that answers after 50 ms.
//!
//! `cargo bench --bench runtime -- --binary PATH` runs the given binary (scripts/bench.sh passes the stripped
//! release build); without `--binary` it runs the bench profile's build of the same code.
//! `cargo test --benches` runs one cold start as a smoke test (no moto needed).

mod support;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use support::events::{realistic_body, records_within, sqs_event};
use support::fake_pinterest::FakePinterest;
use support::runtime_api::RuntimeApi;
use support::stats::{median, percentile};

const FLOOR_CLIENT: &str = "PINTEREST_BENCH_FLOOR_CLIENT";
const SECRET: &str = "pinterest/bench-token";
const TOKEN: &str = "pina_bench_token";

/// The floor's whole program: connect to the Runtime API, ask for the next event, wait.
fn floor_client() -> ! {
    let address = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
    if let Ok(mut stream) = std::net::TcpStream::connect(address) {
        let _ = stream.write_all(
            b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: runtime\r\n\r\n",
        );
        let _ = stream.read(&mut [0u8; 1024]);
    }
    std::process::exit(0)
}

/// How the function gets its token.
#[derive(Clone, Copy, PartialEq)]
enum Token {
    /// `PINTEREST_TOKEN_SECRET_ID` (production): the AWS SDK is configured at start-up.
    Secret,
    /// `PINTEREST_ACCESS_TOKEN`: no AWS SDK at all.
    Static,
}

struct Env {
    moto: Option<String>,
    pinterest: String,
    home: PathBuf,
}

fn lambda_env(command: &mut Command, runtime_api: &str, env: &Env, token: Token) {
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "pinterest-destination")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            "/aws/lambda/pinterest-destination",
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/29/[$LATEST]bench")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_SESSION_TOKEN", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("HOME", &env.home)
        .env("TZ", ":UTC")
        .env("PINTEREST_AD_ACCOUNT_ID", "549755885175")
        .env("PINTEREST_API_BASE_URL", &env.pinterest)
        // The bench events are stamped a minute before a fixed "now"; accept them whatever today is.
        .env("PINTEREST_MAX_EVENT_AGE_SECS", "315360000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(moto) = &env.moto {
        command.env("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto);
    }
    match token {
        Token::Secret => command.env("PINTEREST_TOKEN_SECRET_ID", SECRET),
        Token::Static => command.env("PINTEREST_ACCESS_TOKEN", TOKEN),
    };
}

struct Function {
    child: Child,
    api: RuntimeApi,
    spawned: Instant,
}

impl Function {
    fn spawn(binary: &PathBuf, env: &Env, token: Token, floor: bool) -> Self {
        let api = RuntimeApi::start();
        let mut command = Command::new(binary);
        lambda_env(&mut command, &api.address, env, token);
        if floor {
            command.env(FLOOR_CLIENT, "1");
        }
        let spawned = Instant::now();
        let child = command.spawn().expect("spawn the binary");
        Self {
            child,
            api,
            spawned,
        }
    }

    /// Milliseconds from spawn to the first `GET .../next`.
    fn init_ms(&self) -> f64 {
        let next = self
            .api
            .wait_next(Duration::from_secs(30))
            .expect("the function asks for an event");
        (next - self.spawned).as_secs_f64() * 1e3
    }

    /// Milliseconds from handing out `event` to its response.
    fn invoke_ms(&self, id: &str, event: &[u8]) -> f64 {
        self.api.invoke(id, event.to_vec());
        let (out, back, ok, body) = self
            .api
            .wait_answer(id, Duration::from_secs(300))
            .expect("an answer");
        assert!(ok, "invocation failed: {}", String::from_utf8_lossy(&body));
        let body: serde_json::Value = serde_json::from_slice(&body).expect("JSON response");
        assert_eq!(body["batchItemFailures"], serde_json::json!([]), "{body}");
        (back - out).as_secs_f64() * 1e3
    }

    /// `VmHWM` (peak resident set) in MB.
    fn peak_rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Moto {
    child: Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto and stores the token secret; `None` when moto is not installed.
fn start_moto(runtime: &tokio::runtime::Runtime) -> Option<Moto> {
    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/moto_server");
    if !binary.is_file() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .ok()?
        .port();
    let child = Command::new(binary)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let moto = Moto {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "bench"))
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(config);
    let started = Instant::now();
    let created = runtime.block_on(async {
        loop {
            let attempt = client
                .create_secret()
                .name(SECRET)
                .secret_string(format!(r#"{{"access_token":"{TOKEN}"}}"#))
                .send()
                .await;
            if attempt.is_ok() || started.elapsed() > Duration::from_secs(20) {
                return attempt.is_ok();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    created.then_some(moto)
}

fn main() {
    if std::env::var_os(FLOOR_CLIENT).is_some() {
        floor_client();
    }
    let full = support::full_run();
    let runs: usize = support::arg("--runs").unwrap_or(if full { 30 } else { 1 });
    let binary: PathBuf = support::arg::<String>("--binary")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_pinterest-destination")));
    let me = std::env::current_exe().expect("own path");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let moto = if full { start_moto(&runtime) } else { None };
    let fast_pinterest = FakePinterest::start(Duration::ZERO);
    let slow_pinterest = FakePinterest::start(Duration::from_millis(50));
    let home = std::env::temp_dir().join(format!("pinterest-bench-home-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&home);
    let env = Env {
        moto: moto.as_ref().map(|m| m.endpoint.clone()),
        pinterest: fast_pinterest.base_url.clone(),
        home: home.clone(),
    };
    let production = if moto.is_some() {
        Token::Secret
    } else {
        Token::Static
    };

    // Cold start, interleaved: floor, function with a static token, function as deployed.
    let (mut floor, mut bare, mut deployed) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        floor.push(Function::spawn(&me, &env, Token::Static, true).init_ms());
        bare.push(Function::spawn(&binary, &env, Token::Static, false).init_ms());
        deployed.push(Function::spawn(&binary, &env, production, false).init_ms());
    }

    // First and second invocation of fresh processes.
    let one = serde_json::to_vec(&sqs_event(1, realistic_body)).expect("event");
    let (mut first, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..runs.clamp(1, 10) {
        let function = Function::spawn(&binary, &env, production, false);
        function.init_ms();
        first.push(function.invoke_ms("first", &one));
        warm.push(function.invoke_ms("second", &one));
    }

    let size_mb = std::fs::metadata(&binary).map_or(f64::NAN, |m| m.len() as f64 / 1e6);
    println!(
        "# Start-up and memory of {} ({size_mb:.1} MB)",
        binary.display()
    );
    println!();
    println!(
        "Token from {}; fake Pinterest on 127.0.0.1. {runs} cold starts per column, interleaved.",
        if production == Token::Secret {
            "Secrets Manager (moto)"
        } else {
            "a static token (moto not started: smoke run, or not installed)"
        }
    );
    println!();
    println!("| measure | ours | floor | ours / floor |");
    println!("|---|---|---|---|");
    let row = |what: &str, ours: f64, floor: f64| {
        println!(
            "| {what} | {ours:.2} ms | {floor:.2} ms | {:.2} |",
            ours / floor
        )
    };
    row(
        "exec → first `GET /next`, p50 (floor: a binary that only sends that GET)",
        median(&deployed),
        median(&floor),
    );
    row(
        "exec → first `GET /next`, p95",
        percentile(&deployed, 95.0),
        percentile(&floor, 95.0),
    );
    row(
        "same with a static token (no AWS SDK set-up), p50",
        median(&bare),
        median(&floor),
    );
    row(
        "first invocation, 1 record (secret read + first connection), p50 (floor: the warm second invocation)",
        median(&first),
        median(&warm),
    );

    // Peak memory on big batches: 10 000 records, and the most records that fit in Lambda's 6 MB payload.
    let env = Env {
        pinterest: slow_pinterest.base_url.clone(),
        ..env
    };
    let batches = if full {
        vec![10_000, records_within(6 * 1024 * 1024)]
    } else {
        vec![20]
    };
    for records in batches {
        let event = serde_json::to_vec(&sqs_event(records, realistic_body)).expect("event");
        let mut idle = Vec::new();
        let mut peak = Vec::new();
        let mut wall = Vec::new();
        for _ in 0..if full { 3 } else { 1 } {
            let function = Function::spawn(&binary, &env, production, false);
            function.init_ms();
            idle.push(function.peak_rss_mb());
            wall.push(function.invoke_ms("batch", &event));
            peak.push(function.peak_rss_mb());
        }
        println!(
            "| peak RSS, {records} records ({:.1} MB event), invocation {:.0} ms (floor: peak RSS after init) | {:.1} MB | {:.1} MB | {:.2} |",
            event.len() as f64 / 1e6,
            median(&wall),
            median(&peak),
            median(&idle),
            median(&peak) / median(&idle)
        );
    }
    let _ = std::fs::remove_dir_all(home);
}
