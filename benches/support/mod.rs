//! Helpers shared by the benchmark binaries: realistic events, a minimal HTTP/1.1 server, a fake Pinterest
//! with a fixed latency, a minimal Lambda Runtime API, and statistics. Nothing here is used by the product.
#![allow(dead_code)] // each bench binary uses only some of the helpers

pub mod events;
pub mod fake_pinterest;
pub mod http;
pub mod runtime_api;
pub mod stats;

/// True when run by `cargo bench` (which passes `--bench`); `cargo test --benches` runs a quick smoke pass.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `--name value` from the command line, parsed.
pub fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}
