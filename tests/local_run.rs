//! The README's "Run the function locally" lines, run as written: `pinterest-cli fake-pinterest`, the function
//! under `cargo lambda watch` (which builds it with cargo, as a user's run does), and `cargo lambda invoke` of the
//! sample SQS batch. Only the ports change (free ones, so that runs in parallel do not collide).

use crate::support::emulator::{
    AWS_ENV, Process, cargo_lambda_binary, free_port, tail, wait_for_port,
};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The commands of the README's "Run the function locally" block, comments dropped.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let section = readme
        .split("## Run the function locally")
        .nth(1)
        .expect("README has a \"Run the function locally\" section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section has a sh code block");
    block
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// `command` in a shell, from the crate's root, with what keeps it away from real AWS.
fn shell(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell
        .args(["-c", command])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(AWS_ENV);
    shell
}

#[test]
fn the_readme_runs_the_function_locally_against_the_fake_pinterest() {
    // The README's lines find cargo-lambda in .venv/bin; a machine with it elsewhere on PATH runs them too.
    let _ = cargo_lambda_binary();
    let commands = readme_commands();
    let [fake, watch, invoke] = commands.as_slice() else {
        panic!("expected three commands in the README block, got {commands:#?}");
    };
    assert!(fake.contains("fake-pinterest --port 8787"), "{fake}");
    assert!(watch.ends_with("cargo lambda watch"), "{watch}");
    assert!(
        invoke.contains("cargo lambda invoke pinterest-destination"),
        "{invoke}"
    );

    let pinterest_port = free_port().to_string();
    let invoke_port = free_port().to_string();
    let mut pinterest = Process::spawn(
        "fake-pinterest",
        &mut shell(&fake.replace("8787", &pinterest_port)),
    );
    wait_for_port(
        &format!("127.0.0.1:{pinterest_port}"),
        &mut pinterest,
        Duration::from_secs(300),
    );
    let watch = format!(
        "{} --invoke-port {invoke_port}",
        watch.replace("8787", &pinterest_port)
    );
    let mut function = Process::spawn("cargo lambda watch", &mut shell(&watch));
    wait_for_port(
        &format!("127.0.0.1:{invoke_port}"),
        &mut function,
        Duration::from_secs(60),
    );

    // The first invocation waits for cargo to build the function.
    let started = Instant::now();
    let output = shell(&format!("{invoke} --invoke-port {invoke_port}"))
        .output()
        .expect("run cargo lambda invoke");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "cargo lambda invoke failed after {:?}: {stdout}\n{}\nfunction:\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&output.stderr),
        tail(&function.lines(), 40)
    );
    let response: Value =
        serde_json::from_str(stdout.trim()).expect("the invocation's answer is JSON");
    let failures = response["batchItemFailures"]
        .as_array()
        .expect("an SQS partial-batch response");
    assert_eq!(
        failures.len(),
        2,
        "the sample's two unreadable records fail: {response}"
    );

    let requests: Vec<String> = pinterest
        .lines()
        .into_iter()
        .filter(|line| line.contains("POST /v5/ad_accounts/549755885175/events"))
        .collect();
    assert_eq!(
        requests.len(),
        1,
        "one request to the fake: {:#?}",
        pinterest.lines()
    );
    assert!(
        requests[0].contains("→ 200 (3 events processed)"),
        "{}",
        requests[0]
    );
    let summary = function
        .lines()
        .into_iter()
        .find(|line| line.contains("invocation summary"))
        .expect("the function's summary line");
    assert!(
        summary.contains("delivered=3") && summary.contains("requests=1"),
        "{summary}"
    );
    pinterest.assert_running();
}
