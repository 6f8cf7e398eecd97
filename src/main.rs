//! Lambda entry point: logging, settings, one shared `State`, then the runtime loop.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use pinterest_destination::config::Settings;
use pinterest_destination::handler;
use pinterest_destination::trigger::State;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COLD: AtomicBool = AtomicBool::new(true);

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = match Settings::from_env(|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(e) => {
            tracing::error!("invalid setting: {e}");
            return Err(e.into());
        }
    };
    let state = State::new(settings).await.map_err(|e| {
        tracing::error!("{e}");
        Error::from(e)
    })?;
    // The state lives as long as the process; 'static lets the token be read beside the first event.
    let state: &'static State = Box::leak(Box::new(state));
    // The token secret is read while the runtime fetches and maps the first event, not before nor after.
    tokio::spawn(state.prefetch_token());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let started = std::time::Instant::now();
        let deadline = deadline(&event.context);
        let invocation = handler::handle(state, event.payload, deadline).await;
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
                duration_ms
            )
        );
        invocation.response.map_err(|e| {
            tracing::error!("invocation failed: {e}");
            Error::from(e)
        })
    }))
    .await
}

/// The Lambda deadline as a tokio instant (now + what is left).
fn deadline(context: &lambda_runtime::Context) -> tokio::time::Instant {
    let left = context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    tokio::time::Instant::now() + left
}
