//! Log set-up: Lambda's log controls, without the runtime library's line that prints every raw event.

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, LevelFilter, filter_fn};
use lambda_runtime::tracing::subscriber::fmt::{self, MakeWriter};
use lambda_runtime::tracing::subscriber::prelude::*;
use lambda_runtime::tracing::{Level, Metadata};

/// Where `lambda_runtime` logs, at TRACE, the whole JSON of each invocation: every e-mail, phone and name of
/// the batch in clear. Never written, whatever the level.
const RAW_EVENT_TARGET: &str = "lambda_runtime::layers::api_response";

/// Logs to `writer` as `lambda_runtime`'s default subscriber does: the level from `AWS_LAMBDA_LOG_LEVEL`, else
/// `RUST_LOG` (directives too), else INFO; JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON`, as the template
/// sets it; no timestamps (CloudWatch adds them). Unlike it, never prints a raw event.
pub fn init<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|level| level.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let no_raw_events = filter_fn(|meta| !is_raw_event(meta));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let lines = fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let registry = lambda_runtime::tracing::subscriber::registry()
        .with(filter)
        .with(no_raw_events);
    if json {
        registry.with(lines.json()).init();
    } else {
        registry.with(lines).init();
    }
}

fn is_raw_event(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::TRACE && meta.target().starts_with(RAW_EVENT_TARGET)
}
