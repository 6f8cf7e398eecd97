//! Captures the log lines a test causes, formatted as the function formats them in Lambda (JSON lines, as
//! the template's `LoggingConfig: LogFormat: JSON` makes `init_default_subscriber` do), at every level.
//!
//! One global subscriber per test binary writes each line into the buffer of the [`Capture`] open on the thread
//! that emitted it (a `#[tokio::test]` runs its runtime, and so the code under test, on its own thread). Lines
//! from threads without a capture (wiremock's server, blocking pools) go to a shared overflow buffer that
//! [`overflow`] returns, so that nothing escapes the checks.

use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use lambda_runtime::tracing::subscriber::filter::EnvFilter;
use lambda_runtime::tracing::subscriber::fmt::MakeWriter;

type Buffer = Arc<Mutex<Vec<u8>>>;

thread_local! {
    static CURRENT: RefCell<Option<Buffer>> = const { RefCell::new(None) };
}

fn overflow_buffer() -> &'static Buffer {
    static OVERFLOW: OnceLock<Buffer> = OnceLock::new();
    OVERFLOW.get_or_init(Buffer::default)
}

#[derive(Clone)]
struct Routed(Buffer);

impl Write for Routed {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Router;

impl<'a> MakeWriter<'a> for Router {
    type Writer = Routed;

    fn make_writer(&'a self) -> Routed {
        let buffer = CURRENT
            .with(|current| current.borrow().clone())
            .unwrap_or_else(|| overflow_buffer().clone());
        Routed(buffer)
    }
}

/// Installs the global subscriber once: JSON lines, every level of every crate.
fn install() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = lambda_runtime::tracing::subscriber::fmt()
            .json()
            .without_time()
            .with_env_filter(EnvFilter::new("trace"))
            .with_writer(Router)
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
    });
}

/// The log lines emitted on this thread while it is alive.
pub struct Capture {
    buffer: Buffer,
}

impl Capture {
    /// Starts capturing on the current thread (call it inside the test's async body).
    pub fn start() -> Self {
        install();
        let buffer = Buffer::default();
        CURRENT.with(|current| *current.borrow_mut() = Some(buffer.clone()));
        Self { buffer }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    pub fn lines(&self) -> Vec<String> {
        self.text().lines().map(str::to_owned).collect()
    }

    /// Lines whose text contains `needle`.
    pub fn containing(&self, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|line| line.contains(needle))
            .collect()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

/// Lines emitted on threads without a capture.
pub fn overflow() -> Vec<String> {
    String::from_utf8_lossy(&overflow_buffer().lock().unwrap_or_else(|e| e.into_inner()))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The lines among `lines` that contain any of `secrets` (case-insensitively), with the secret found.
pub fn leaks<'a>(lines: &'a [String], secrets: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut found = Vec::new();
    for line in lines {
        let lower = line.to_lowercase();
        for secret in secrets {
            if lower.contains(&secret.to_lowercase()) {
                found.push((*secret, line.as_str()));
            }
        }
    }
    found
}
