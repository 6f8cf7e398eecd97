//! Helpers shared by the benchmark binaries: realistic events, a minimal HTTP/1.1 server, a fake Pinterest
//! with a fixed latency, a minimal Lambda Runtime API, and statistics. Nothing here is used by the product.
#![allow(dead_code)] // each bench binary uses only some of the helpers

pub mod events;
pub mod fake_pinterest;
pub mod http;
pub mod runtime_api;
pub mod stats;

/// True when run by `cargo bench` (which passes `--bench`). Otherwise this is the quick smoke pass of
/// `cargo test --benches`: its tables are discarded (see [`discard_stdout`]).
pub fn full_run() -> bool {
    let full = std::env::args().any(|a| a == "--bench");
    if !full {
        discard_stdout();
    }
    full
}

/// Points stdout at `/dev/null`, so that a smoke pass runs every line of a bench, printing included, without
/// its tables landing in the middle of the test run's output; a failure still panics on stderr.
pub fn discard_stdout() {
    use std::os::fd::AsRawFd as _;
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: dup2 on two open descriptors; stdout is replaced atomically, `null` is closed after.
        unsafe { libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO) };
    }
}

/// `--name value` from the command line, parsed.
pub fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}
