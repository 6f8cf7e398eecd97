//! Local command line: preview the mapping of Commanders Act events (`map`).

use pinterest_destination::config::mapper_from_env;
use pinterest_destination::mapping::{Mapper, Outcome};
use pinterest_destination::pinterest::model::ConversionEvent;
use serde::Serialize;
use serde_json::Value;
use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
usage:
  pinterest-cli map [FILE] [--now UNIX_SECONDS]
      Maps Commanders Act events (one JSON event, a JSON array, or JSON lines; FILE or stdin)
      and prints one JSON line per event: mapped, skipped or rejected.
Settings come from the environment (PINTEREST_MAPPING, PINTEREST_CLICK_ID_COOKIE, ...).
Exit status: 0 when the input was read, 2 when it (or a setting) could not be.";

/// A start-up problem: printed on stderr, exit status 2.
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fatal(message)) => {
            eprintln!("pinterest-cli: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Fatal> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let command = match parser.next()? {
        Some(Value(cmd)) => cmd.string()?,
        Some(Long("help") | Short('h')) => {
            println!("{USAGE}");
            return Ok(());
        }
        _ => return Err(Fatal(format!("a command is required\n{USAGE}"))),
    };
    match command.as_str() {
        "map" => {
            let mut file = None;
            let mut now = None;
            while let Some(arg) = parser.next()? {
                match arg {
                    Long("now") => now = Some(parser.value()?.parse::<i64>()?),
                    Value(path) if file.is_none() => file = Some(path),
                    Long("help") | Short('h') => {
                        println!("{USAGE}");
                        return Ok(());
                    }
                    other => return Err(other.unexpected().into()),
                }
            }
            let now = now.unwrap_or_else(system_now);
            let mapper = mapper_from_env(&|name| std::env::var(name).ok())?;
            let input = match &file {
                Some(path) => std::fs::read(path)
                    .map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))?,
                None => {
                    let mut bytes = Vec::new();
                    io::stdin()
                        .read_to_end(&mut bytes)
                        .map_err(|e| Fatal(format!("cannot read standard input: {e}")))?;
                    bytes
                }
            };
            map_command(&mapper, &input, now)
        }
        other => Err(Fatal(format!("unknown command '{other}'\n{USAGE}"))),
    }
}

fn system_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// One JSON event, a JSON array of events, or JSON lines (a line that is not JSON is an error for its index).
fn split_input(input: &[u8]) -> Vec<Result<Value, String>> {
    match serde_json::from_slice::<Value>(input) {
        Ok(Value::Array(events)) => events.into_iter().map(Ok).collect(),
        Ok(event) => vec![Ok(event)],
        Err(_) => input
            .split(|&b| b == b'\n')
            .filter(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
            .map(|line| serde_json::from_slice(line).map_err(|e| format!("input: not JSON ({e})")))
            .collect(),
    }
}

/// One output line.
#[derive(Serialize)]
struct Line<'a> {
    index: usize,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a ConversionEvent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
}

fn map_command(mapper: &Mapper, input: &[u8], now: i64) -> Result<(), Fatal> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for (index, parsed) in split_input(input).into_iter().enumerate() {
        let mut line = Line {
            index,
            status: "rejected",
            event: None,
            reason: None,
            error: None,
            warnings: &[],
        };
        let mapping;
        match &parsed {
            Err(error) => line.error = Some(error),
            Ok(event) => {
                mapping = mapper.map(event, now);
                line.warnings = &mapping.warnings;
                match &mapping.outcome {
                    Outcome::Mapped(event) => {
                        line.status = "mapped";
                        line.event = Some(event);
                    }
                    Outcome::Skipped(reason) => {
                        line.status = "skipped";
                        line.reason = Some(reason);
                    }
                    Outcome::Rejected(error) => line.error = Some(error),
                }
            }
        }
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
