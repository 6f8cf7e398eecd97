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
    let level = level(
        std::env::var("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|_| std::env::var("RUST_LOG"))
            .ok()
            .as_deref(),
    );
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

/// The level a setting names; Lambda's `FATAL`, which `tracing` has not, is its most severe level, ERROR.
/// Anything else, or nothing, is INFO (a `RUST_LOG` of directives is read by the `EnvFilter`).
fn level(setting: Option<&str>) -> LevelFilter {
    match setting.map(str::trim) {
        Some(fatal) if fatal.eq_ignore_ascii_case("fatal") => LevelFilter::ERROR,
        Some(name) => name.parse().unwrap_or(LevelFilter::INFO),
        None => LevelFilter::INFO,
    }
}

fn is_raw_event(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::TRACE && meta.target().starts_with(RAW_EVENT_TARGET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_levels_map_to_tracing_levels() {
        for (setting, expected) in [
            (Some("TRACE"), LevelFilter::TRACE),
            (Some("DEBUG"), LevelFilter::DEBUG),
            (Some("INFO"), LevelFilter::INFO),
            (Some("WARN"), LevelFilter::WARN),
            (Some("ERROR"), LevelFilter::ERROR),
            (Some("FATAL"), LevelFilter::ERROR),
            (Some("fatal"), LevelFilter::ERROR),
            (Some("info,hyper=debug"), LevelFilter::INFO),
            (None, LevelFilter::INFO),
        ] {
            assert_eq!(level(setting), expected, "{setting:?}");
        }
    }
}
