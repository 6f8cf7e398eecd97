//! Log set-up: Lambda's log controls and JSON line shape, the request id on every line, no raw events.

use lambda_runtime::tracing::subscriber::filter::{EnvFilter, FilterExt, LevelFilter, filter_fn};
use lambda_runtime::tracing::subscriber::fmt::format::{JsonFields, Writer};
use lambda_runtime::tracing::subscriber::fmt::time::{FormatTime, SystemTime};
use lambda_runtime::tracing::subscriber::fmt::{
    self, FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter,
};
use lambda_runtime::tracing::subscriber::layer::Filter;
use lambda_runtime::tracing::subscriber::prelude::*;
use lambda_runtime::tracing::subscriber::registry::LookupSpan;
use lambda_runtime::tracing::{Event, Level, Metadata, Subscriber, field};
use serde_json::Value;
use std::fmt::Write as _;

/// Where `lambda_runtime` logs, at TRACE, the whole JSON of each invocation: every e-mail, phone and name of
/// the batch in clear. Never written, whatever the level.
const RAW_EVENT_TARGET: &str = "lambda_runtime::layers::api_response";

/// Where `lambda_runtime` logs a handler's error a second time, `Debug`-formatted, after the function's own line.
const HANDLER_ERROR_TARGET: &str = "lambda_runtime::layers::panic";

/// The span `lambda_runtime` opens around each invocation, which carries its `requestId`.
const INVOCATION_SPAN: &str = "Lambda runtime invoke";

/// Logs to `writer`: the level from `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (directives too), else INFO;
/// with `AWS_LAMBDA_LOG_FORMAT=JSON` (the template sets it) one JSON object per line in the shape of Lambda's
/// own JSON logs (`timestamp`, `level`, `message`, `requestId`, then the line's fields), else text lines
/// without timestamps (CloudWatch adds them). Unlike the runtime library's default subscriber: never prints a
/// raw event, keeps the request id at WARN and ERROR, and prints a handler's error once.
pub fn init<W>(writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    subscriber(
        writer,
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
        json,
    )
    .init();
}

/// The subscriber [`init`] installs, from the settings it reads.
fn subscriber<W>(
    writer: W,
    lambda_level: Option<&str>,
    rust_log: Option<&str>,
    json: bool,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let directives = directives(lambda_level, rust_log);
    let lines = fmt::layer().with_target(false).with_writer(writer);
    let registry = lambda_runtime::tracing::subscriber::registry();
    if json {
        let lines = lines.event_format(LambdaJson).fmt_fields(JsonFields::new());
        Box::new(registry.with(lines.with_filter(filter(directives))))
    } else {
        Box::new(registry.with(lines.without_time().with_filter(filter(directives))))
    }
}

/// The directives in force: `AWS_LAMBDA_LOG_LEVEL` alone when it is set (Lambda's log controls win), else
/// `RUST_LOG`, else INFO.
fn directives(lambda_level: Option<&str>, rust_log: Option<&str>) -> EnvFilter {
    let (default, directives) = match lambda_level {
        Some(setting) => (level(Some(setting)), ""),
        None => (level(rust_log), rust_log.unwrap_or_default()),
    };
    EnvFilter::builder()
        .with_default_directive(default.into())
        .parse_lossy(directives)
}

/// What is written: what the directives enable, plus the invocation span whatever the level (so that WARN and
/// ERROR lines keep their request id), minus raw events and the duplicate of a handler's error.
fn filter<S>(directives: EnvFilter) -> impl Filter<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let invocation_span =
        filter_fn(|meta: &Metadata<'_>| meta.is_span() && meta.name() == INVOCATION_SPAN)
            .with_max_level_hint(LevelFilter::INFO);
    directives
        .or(invocation_span)
        .and(filter_fn(|meta: &Metadata<'_>| {
            !is_raw_event(meta) && !is_duplicate_handler_error(meta)
        }))
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

/// The `level` of the metrics document: INFO, or the level Lambda filters at (`AWS_LAMBDA_LOG_LEVEL`) when it
/// is above INFO. Lambda treats a JSON line without a level as INFO and drops it at WARN and above, and the
/// metrics must not go with the INFO lines.
pub fn metrics_level(lambda_level: Option<&str>) -> &'static str {
    let setting = lambda_level.map(str::trim).unwrap_or_default();
    ["WARN", "ERROR", "FATAL"]
        .into_iter()
        .find(|above_info| setting.eq_ignore_ascii_case(above_info))
        .unwrap_or("INFO")
}

fn is_raw_event(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::TRACE && meta.target().starts_with(RAW_EVENT_TARGET)
}

/// The runtime library's `error!("{error:?}")` after a handler returned an error (its panic line, which has
/// an `error` field, stays).
fn is_duplicate_handler_error(meta: &Metadata<'_>) -> bool {
    meta.is_event()
        && meta.target() == HANDLER_ERROR_TARGET
        && meta.fields().field("error").is_none()
}

/// One JSON object per event, as Lambda's managed runtimes write them: `timestamp`, `level`, `message`,
/// `requestId` (from the invocation span), then the event's own fields.
struct LambdaJson;

impl<S, N> FormatEvent<S, N> for LambdaJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut fields = Fields::default();
        event.record(&mut fields);
        let request_id = ctx.event_scope().into_iter().flatten().find_map(|span| {
            let extensions = span.extensions();
            let stored = extensions.get::<FormattedFields<N>>()?;
            let mut span_fields: serde_json::Map<String, Value> =
                serde_json::from_str(stored).ok()?;
            span_fields.remove("requestId")
        });
        let mut line = String::with_capacity(256);
        write!(
            line,
            r#"{{"timestamp":{},"level":{},"message":{}"#,
            Value::from(timestamp),
            Value::from(event.metadata().level().as_str()),
            Value::from(fields.message)
        )?;
        if let Some(id) = request_id {
            write!(line, r#","requestId":{id}"#)?;
        }
        for (name, value) in fields.others {
            write!(line, ",{}:{value}", Value::from(name))?;
        }
        writeln!(writer, "{line}}}")
    }
}

/// An event's message and its other fields, in the order they were given.
#[derive(Default)]
struct Fields {
    message: String,
    others: Vec<(&'static str, Value)>,
}

impl Fields {
    fn add(&mut self, field: &field::Field, value: Value) {
        self.others.push((field.name(), value));
    }
}

impl field::Visit for Fields {
    fn record_debug(&mut self, field: &field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.add(field, Value::from(format!("{value:?}")));
        }
    }

    fn record_str(&mut self, field: &field::Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.add(field, Value::from(value));
        }
    }

    fn record_i64(&mut self, field: &field::Field, value: i64) {
        self.add(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &field::Field, value: u64) {
        self.add(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &field::Field, value: f64) {
        self.add(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &field::Field, value: bool) {
        self.add(field, Value::from(value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io;
    use std::sync::{Arc, Mutex, PoisonError};

    /// Lines written by a subscriber under test.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            let mut buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            buffer.extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;

        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<String> {
            let buffer = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            String::from_utf8_lossy(&buffer)
                .lines()
                .map(str::to_owned)
                .collect()
        }
    }

    /// The lines `log` writes under the subscriber of these settings, with JSON lines.
    fn logged(
        lambda_level: Option<&str>,
        rust_log: Option<&str>,
        log: impl FnOnce(),
    ) -> Vec<String> {
        let buffer = Buffer::default();
        let subscriber = subscriber(buffer.clone(), lambda_level, rust_log, true);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _entered = span.enter();
            log();
        });
        buffer.lines()
    }

    #[test]
    fn json_lines_have_lambdas_shape_and_keep_the_request_id_at_warn() {
        let lines = logged(Some("WARN"), Some("trace"), || {
            tracing::info!("below the level");
            tracing::warn!(
                event_id = "e-1",
                attempt = 2,
                late = true,
                "event rejected: {}",
                "event_time: too old"
            );
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        let line: serde_json::Map<String, Value> = serde_json::from_str(&lines[0]).unwrap();
        let order = [
            "timestamp",
            "level",
            "message",
            "requestId",
            "event_id",
            "attempt",
            "late",
        ]
        .map(|key| lines[0].find(&format!("\"{key}\":")));
        assert!(order.iter().all(Option::is_some), "{}", lines[0]);
        assert!(order.is_sorted(), "{}", lines[0]);
        assert_eq!(line.len(), order.len(), "{}", lines[0]);
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "event rejected: event_time: too old");
        assert_eq!(line["requestId"], "req-1");
        assert_eq!(line["attempt"], 2);
        assert_eq!(line["late"], true);
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(
            timestamp.ends_with('Z') && timestamp.contains('T'),
            "{timestamp}"
        );
    }

    #[test]
    fn raw_events_and_the_runtimes_copy_of_a_handler_error_are_never_written() {
        let lines = logged(Some("TRACE"), None, || {
            tracing::trace!(target: RAW_EVENT_TARGET, "{{\"user\":{{\"email\":\"a@b.c\"}}}}");
            tracing::error!(target: HANDLER_ERROR_TARGET, "Diagnostic {{ error_type: \"BatchRetry\" }}");
            tracing::error!(target: HANDLER_ERROR_TARGET, error = "boom", "user handler panicked");
            tracing::error!("invocation failed: every record failed");
        });
        let messages: Vec<String> = lines
            .iter()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["message"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            messages,
            [
                "user handler panicked",
                "invocation failed: every record failed"
            ]
        );
    }

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

    #[test]
    fn lambdas_level_wins_over_rust_log() {
        assert_eq!(directives(Some("ERROR"), Some("info")).to_string(), "error");
        assert_eq!(directives(Some("warn"), None).to_string(), "warn");
        assert_eq!(directives(None, Some("debug")).to_string(), "debug");
        let rust_log = directives(None, Some("info,hyper=debug")).to_string();
        assert!(rust_log.contains("hyper=debug"), "{rust_log}");
        assert_eq!(directives(None, None).to_string(), "info");
    }

    #[test]
    fn metrics_are_info_unless_lambda_filters_above_info() {
        for (setting, expected) in [
            (None, "INFO"),
            (Some("TRACE"), "INFO"),
            (Some("debug"), "INFO"),
            (Some("INFO"), "INFO"),
            (Some("warn"), "WARN"),
            (Some(" ERROR "), "ERROR"),
            (Some("FATAL"), "FATAL"),
            (Some("loud"), "INFO"),
        ] {
            assert_eq!(metrics_level(setting), expected, "{setting:?}");
        }
    }
}
