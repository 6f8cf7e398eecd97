//! Lambda entry: logging, settings, shared `State`, runtime loop; one summary line and one EMF document per invocation.

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use pinterest_destination::config::{Settings, TokenSetting};
use pinterest_destination::handler;
use pinterest_destination::trigger::State;
use serde_json::value::RawValue;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

static COLD: AtomicBool = AtomicBool::new(true);

/// Start-up problems are logged once, as one line (Lambda then reports `Runtime.ExitError`); returning them
/// from `main` would print a second, `Debug`-formatted copy.
#[tokio::main]
async fn main() -> ExitCode {
    pinterest_destination::logging::init(std::io::stdout);
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Error> {
    if let Some(problem) = runtime_environment_problem(|name| std::env::var(name).ok()) {
        return Err(problem.into());
    }
    let settings = Settings::from_env(|name| std::env::var(name).ok())
        .and_then(Settings::require_token)
        .map_err(|e| format!("invalid setting: {e}"))?;
    if matches!(settings.token, TokenSetting::Static(_)) {
        tracing::warn!(
            "the access token comes from PINTEREST_ACCESS_TOKEN, which is meant for local runs: whoever can read \
             the function's configuration can read it; store it in Secrets Manager and set PINTEREST_TOKEN_SECRET_ID"
        );
    }
    if settings.test_mode {
        tracing::warn!("{}", pinterest_destination::config::TEST_MODE_NOTICE);
    }
    let metrics_level = pinterest_destination::logging::metrics_level(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    );
    let state = State::new(settings).await?;
    // The state lives as long as the process; 'static lets the token be read beside the first event.
    let state: &'static State = Box::leak(Box::new(state));
    // The token secret is read while the runtime fetches and maps the first event, not before nor after.
    tokio::spawn(state.prefetch_token());
    // The payload is kept as the text the runtime received (one copy, no tree): the handler parses it once.
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<Box<RawValue>>| async move {
            let started = std::time::Instant::now();
            let deadline = deadline(&event.context);
            let invocation = handler::handle(state, event.payload.get(), deadline).await;
            let duration_ms = started.elapsed().as_millis() as u64;
            let cold_start = COLD.swap(false, Ordering::Relaxed);
            invocation
                .counters
                .log(invocation.trigger, duration_ms, cold_start);
            let timestamp_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            println!(
                "{}",
                invocation.counters.emf(
                    &state.settings.metrics_namespace,
                    invocation.trigger,
                    timestamp_ms,
                    duration_ms,
                    metrics_level
                )
            );
            invocation.response.map_err(|e| {
                // The runtime library's own, `Debug`-formatted copy of this line is filtered out (`logging`).
                tracing::error!("invocation failed: {e}");
                Diagnostic::from(e)
            })
        },
    ))
    .await
    .map_err(|e| format!("Lambda runtime loop stopped: {e}").into())
}

/// What Lambda sets and the runtime library reads at start-up (it panics, with a backtrace, on a missing one).
const RUNTIME_VARIABLES: [&str; 4] = [
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
];

/// Why the function can't start in this environment, in one line: a variable Lambda always sets is missing
/// (the binary was started by hand), or the memory size is not a number.
fn runtime_environment_problem(get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let missing = RUNTIME_VARIABLES
        .into_iter()
        .find(|name| get(name).is_none());
    if let Some(name) = missing {
        return Some(format!(
            "{name} is not set: this binary is the Lambda function, run by Lambda or `cargo lambda watch`; to run \
             the handler here, use `cargo run --bin pinterest-cli -- replay events/sqs.json`"
        ));
    }
    let memory = get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default();
    match memory.parse::<i32>() {
        Ok(_) => None,
        Err(_) => Some(format!(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE: expected the memory size in MB, got {memory:?}"
        )),
    }
}

/// Time given to an invocation whose runtime deadline is not in the future: the template's default timeout.
const UNKNOWN_DEADLINE_BUDGET: Duration = Duration::from_secs(30);

/// The Lambda deadline as a tokio instant (now + what is left).
fn deadline(context: &lambda_runtime::Context) -> tokio::time::Instant {
    let left = time_left(context.deadline(), SystemTime::now());
    tokio::time::Instant::now() + left
}

/// What is left until `deadline`. Lambda gives every invocation its whole timeout, so a deadline that is
/// already past when the invocation starts is not a real one: local emulators send such values (cargo-lambda's
/// `Lambda-Runtime-Deadline-Ms` is a fixed 600000, i.e. 1970), and trusting it would fail every event as
/// "deadline too near" without sending it. Such an invocation gets [`UNKNOWN_DEADLINE_BUDGET`].
fn time_left(deadline: SystemTime, now: SystemTime) -> Duration {
    match deadline.duration_since(now) {
        Ok(left) if !left.is_zero() => left,
        _ => {
            tracing::warn!(
                budget_secs = UNKNOWN_DEADLINE_BUDGET.as_secs(),
                "the runtime's deadline is already past (a local emulator?); using a fixed budget"
            );
            UNKNOWN_DEADLINE_BUDGET
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_future_deadline_is_kept_and_a_past_one_gets_the_fixed_budget() {
        let now = SystemTime::now();
        let left = Duration::from_millis(2_500);
        assert_eq!(time_left(now + left, now), left);
        assert_eq!(time_left(now, now), UNKNOWN_DEADLINE_BUDGET);
        // cargo-lambda's emulator: `Lambda-Runtime-Deadline-Ms: 600000`.
        let emulator = UNIX_EPOCH + Duration::from_millis(600_000);
        assert_eq!(time_left(emulator, now), UNKNOWN_DEADLINE_BUDGET);
    }

    #[test]
    fn each_variable_the_runtime_needs_is_named_when_missing_and_the_memory_size_must_be_a_number()
    {
        let lambda = |name: &str| match name {
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => Some("128".to_owned()),
            _ => Some("set".to_owned()),
        };
        assert_eq!(runtime_environment_problem(lambda), None);
        for missing in RUNTIME_VARIABLES {
            let problem =
                runtime_environment_problem(|name| lambda(name).filter(|_| name != missing))
                    .unwrap_or_default();
            assert!(
                problem.starts_with(&format!("{missing} is not set:")),
                "{problem}"
            );
            assert!(problem.contains("pinterest-cli -- replay"), "{problem}");
        }
        let problem = runtime_environment_problem(|name| match name {
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => Some("128MB".to_owned()),
            _ => lambda(name),
        })
        .unwrap_or_default();
        assert!(
            problem.contains("expected the memory size in MB, got \"128MB\""),
            "{problem}"
        );
    }
}
