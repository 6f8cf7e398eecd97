//! The function binary under cargo-lambda's Lambda emulator (`cargo lambda watch`): the real Lambda Runtime
//! API on one side, the Invoke API (`POST /2015-03-31/functions/<name>/invocations`) on the other.
//!
//! Two ways to launch it (`PINTEREST_E2E_LAUNCH`):
//! - `binary` (default): `cargo lambda watch --only-lambda-apis` serves the Runtime and Invoke APIs, and the
//!   test starts the binary cargo already built for it (`CARGO_BIN_EXE_pinterest-destination`) with
//!   `AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:<port>/.rt/pinterest-destination`, exactly as Lambda starts a
//!   `provided.al2023` bootstrap. No second build, no nested cargo, and the function's stdout and stderr are
//!   its own. cargo-lambda still reads the crate's metadata, so it knows the function by name.
//! - `watch`: plain `cargo lambda watch --ignore-changes --bin pinterest-destination --env-file <file>`, which
//!   builds the function itself (`cargo run`) and starts it. That build uses the normal (not the test)
//!   feature set of the dependencies, so after `cargo test` it compiles the crate again (about 9 s), and on a
//!   fresh target directory 22 dependencies too (the AWS SDK, hyper, reqwest, lambda_runtime...: about 90 s
//!   on 2 cores). The function's output then comes mixed into cargo-lambda's.
//!
//! Every process is the leader of its own process group, and the whole group is killed on drop, so neither
//! `cargo run` nor the function outlives a test, whether it passes or panics.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The function's name: its binary, and the name the Invoke API knows it by.
pub const FUNCTION: &str = "pinterest-destination";

/// What every process gets, so that nothing reaches for real AWS or the instance-metadata service.
pub const AWS_ENV: [(&str, &str); 6] = [
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    Binary,
    Watch,
}

impl Launch {
    /// From `PINTEREST_E2E_LAUNCH` (`binary`, the default, or `watch`).
    pub fn from_env() -> Self {
        match std::env::var("PINTEREST_E2E_LAUNCH").as_deref() {
            Err(_) | Ok("" | "binary") => Self::Binary,
            Ok("watch") => Self::Watch,
            Ok(other) => panic!("PINTEREST_E2E_LAUNCH={other:?}: expected \"binary\" or \"watch\""),
        }
    }

    /// Time allowed until the function answers its first invocation (`watch` may have to compile it).
    fn start_budget(self) -> Duration {
        match self {
            Self::Binary => Duration::from_secs(30),
            Self::Watch => Duration::from_secs(900),
        }
    }
}

/// A process and the lines it printed (stdout and stderr, in arrival order); its process group is killed on drop.
pub struct Process {
    name: &'static str,
    child: Child,
    output: Arc<Mutex<Vec<String>>>,
}

impl Process {
    pub fn spawn(name: &'static str, command: &mut Command) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "could not start {name} ({}): {e}",
                command.get_program().to_string_lossy()
            )
        });
        let output = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        collect_lines(stdout, output.clone());
        collect_lines(stderr, output.clone());
        Self {
            name,
            child,
            output,
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.output.lock().expect("output lock").clone()
    }

    /// Panics with the process's output when it has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} exited ({status}); its output:\n{}",
                self.name,
                tail(&self.lines(), 60)
            );
        }
    }

    /// Kills the process group (the process and whatever it started), then reaps the process.
    fn kill(&mut self) {
        let group = format!("-{}", self.child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !killed {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn collect_lines(stream: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&line).trim_end().to_owned();
                    into.lock().expect("output lock").push(text);
                }
            }
        }
    });
}

/// The last `count` lines, for a failure message.
pub fn tail(lines: &[String], count: usize) -> String {
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// One answer of the Invoke API.
#[derive(Debug, Clone)]
pub struct Invoked {
    /// 200 for a function result, 500 for a function error (`{"errorType", "errorMessage"}`).
    pub status: u16,
    pub body: Value,
    pub elapsed: Duration,
}

/// cargo-lambda's emulator with the function running under it.
pub struct Emulator {
    launch: Launch,
    invoke_url: String,
    emulator: Process,
    function: Option<Process>,
    env_file: Option<PathBuf>,
    http: reqwest::Client,
    /// How long the start took, up to the first answered invocation.
    pub started_in: Duration,
}

impl Emulator {
    /// Starts the emulator and the function with `env` (on top of [`AWS_ENV`] and the Lambda variables), and
    /// waits until the function has answered a first invocation (an empty SQS batch, which sends nothing).
    /// Panics (the test fails, it is not skipped) when cargo-lambda is not installed.
    pub async fn start(env: &[(&str, String)]) -> Self {
        let launch = Launch::from_env();
        let started = Instant::now();
        let cargo_lambda = cargo_lambda_binary();
        let crate_root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let port_text = port.to_string();
        let mut command = Command::new(&cargo_lambda);
        command
            .current_dir(crate_root)
            .envs(AWS_ENV)
            .args(["lambda", "watch"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port", &port_text]);
        let mut env_file = None;
        match launch {
            Launch::Binary => {
                command.arg("--only-lambda-apis");
            }
            Launch::Watch => {
                let file = std::env::temp_dir()
                    .join(format!("pinterest-e2e-{}-{port}.env", std::process::id()));
                let text: String = AWS_ENV
                    .iter()
                    .map(|(k, v)| (*k, (*v).to_owned()))
                    .chain(env.iter().map(|(k, v)| (*k, v.clone())))
                    .map(|(k, v)| format!("{k}={v}\n"))
                    .collect();
                std::fs::write(&file, text).expect("write the env file");
                command
                    .args(["--ignore-changes", "--bin", FUNCTION, "--env-file"])
                    .arg(&file);
                env_file = Some(file);
            }
        }
        let mut emulator = Process::spawn("cargo lambda watch", &mut command);
        wait_for_port(&address, &mut emulator, Duration::from_secs(30));

        let function = (launch == Launch::Binary).then(|| {
            let mut command = Command::new(env!("CARGO_BIN_EXE_pinterest-destination"));
            command
                .env_clear()
                .envs(AWS_ENV)
                .env(
                    "AWS_LAMBDA_RUNTIME_API",
                    format!("http://{address}/.rt/{FUNCTION}"),
                )
                .env("AWS_LAMBDA_FUNCTION_NAME", FUNCTION)
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
                .env(
                    "AWS_LAMBDA_LOG_GROUP_NAME",
                    format!("/aws/lambda/{FUNCTION}"),
                )
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "e2e")
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
            Process::spawn(FUNCTION, &mut command)
        });

        let mut this = Self {
            launch,
            invoke_url: format!("http://{address}/2015-03-31/functions/{FUNCTION}/invocations"),
            emulator,
            function,
            env_file,
            http: reqwest::Client::new(),
            started_in: Duration::ZERO,
        };
        this.wait_until_ready().await;
        this.started_in = started.elapsed();
        this
    }

    /// Sends the first invocation (an empty SQS batch) and waits for its answer: it stays queued in the
    /// emulator until the function polls for it, so this covers the function's start (and its build with
    /// `watch`). Only one invocation is sent, so the logs hold exactly one line of each kind for it.
    async fn wait_until_ready(&mut self) {
        let budget = self.launch.start_budget();
        let (status, body) = self.post(&json!({"Records": []}), budget).await;
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"batchItemFailures":[]}"#),
            "the first invocation (an empty SQS batch) got an unexpected answer; output:\n{}",
            tail(&self.logs(), 60)
        );
    }

    fn assert_running(&mut self) {
        self.emulator.assert_running();
        if let Some(function) = &mut self.function {
            function.assert_running();
        }
    }

    /// POSTs `event` to the Invoke API; panics when no answer comes within `timeout`, or as soon as the
    /// emulator or the function exits.
    async fn post(&mut self, event: &Value, timeout: Duration) -> (u16, String) {
        let http = self.http.clone();
        let url = self.invoke_url.clone();
        let body = event.to_string();
        let exchange = async move {
            let response = http
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .timeout(timeout)
                .send()
                .await?;
            let status = response.status().as_u16();
            Ok::<_, reqwest::Error>((status, response.text().await?))
        };
        tokio::pin!(exchange);
        loop {
            tokio::select! {
                answer = &mut exchange => {
                    return answer.unwrap_or_else(|e| {
                        panic!(
                            "no answer from the Invoke API within {timeout:?} ({:?} launch): {e}; output:\n{}",
                            self.launch,
                            tail(&self.logs(), 60)
                        )
                    });
                }
                () = tokio::time::sleep(Duration::from_millis(100)) => self.assert_running(),
            }
        }
    }

    /// Invokes the function through the Invoke API and returns the emulator's answer.
    pub async fn invoke(&mut self, event: &Value) -> Invoked {
        let started = Instant::now();
        let (status, text) = self.post(event, Duration::from_secs(120)).await;
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the answer is not JSON ({e}): {text}"));
        Invoked {
            status,
            body,
            elapsed: started.elapsed(),
        }
    }

    /// Everything the function printed so far (with `watch`, mixed with cargo-lambda's own lines).
    pub fn logs(&self) -> Vec<String> {
        match &self.function {
            Some(function) => function.lines(),
            None => self.emulator.lines(),
        }
    }

    /// Waits until `ready(logs)` holds (the function's output is read by other threads), at most `timeout`;
    /// returns the logs.
    pub async fn wait_for_logs(
        &self,
        ready: impl Fn(&[String]) -> bool,
        timeout: Duration,
    ) -> Vec<String> {
        let started = Instant::now();
        loop {
            let logs = self.logs();
            if ready(&logs) {
                return logs;
            }
            assert!(
                started.elapsed() < timeout,
                "the expected log lines did not appear within {timeout:?}; output:\n{}",
                tail(&logs, 60)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn launch(&self) -> Launch {
        self.launch
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(file) = &self.env_file {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

/// Waits until something listens on `address`; panics with `process`'s output when it exits first or time runs out.
pub fn wait_for_port(address: &str, process: &mut Process, timeout: Duration) {
    let started = Instant::now();
    loop {
        process.assert_running();
        if TcpStream::connect(address).is_ok() {
            return;
        }
        assert!(
            started.elapsed() < timeout,
            "{} did not listen on {address} within {timeout:?}; output:\n{}",
            process.name,
            tail(&process.lines(), 60)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `$CARGO_MANIFEST_DIR/.venv/bin/cargo-lambda`, else `cargo-lambda` on `PATH`.
pub fn cargo_lambda_binary() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/cargo-lambda");
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("cargo-lambda"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    std::iter::once(venv)
        .chain(on_path)
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "cargo-lambda not found in .venv/bin or on PATH. Run scripts/test.sh (scripts/tools.sh installs \
                 it), or: python3 -m venv .venv && .venv/bin/pip install cargo-lambda==1.9.2"
            )
        })
}
