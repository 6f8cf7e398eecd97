//! Local command line: preview the mapping of Commanders Act events (`map`), replay a Lambda event (`replay`).

use pinterest_destination::config::{Settings, TokenSetting, mapper_from_env};
use pinterest_destination::handler;
use pinterest_destination::pinterest::client::EventsEndpoint;
use pinterest_destination::trigger::{Sender, State};
use serde_json::Value;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  pinterest-cli map [FILE] [--now UNIX_SECONDS] [--explain]
      Maps Commanders Act events (one JSON event, a JSON array, or JSON lines; FILE, or stdin
      when FILE is absent or -) and prints one JSON line per event: mapped, skipped, filtered or rejected.
      --explain adds, for each hashed field, its source and the normalised value that was hashed:
      that is personal data in clear, for local debugging only.
  pinterest-cli replay EVENT_FILE [--send]
      Runs the Lambda handler in-process on a Lambda event file (SQS batch, API Gateway v1/v2).
      Without --send it is a dry run: it prints the Pinterest requests it would send (token
      redacted) and the trigger's response. With --send and PINTEREST_ACCESS_TOKEN (or
      PINTEREST_TOKEN_SECRET_ID) and PINTEREST_AD_ACCOUNT_ID, it really sends them.
Settings come from the environment (PINTEREST_MAPPING, PINTEREST_CLICK_ID_COOKIE, ...).
Exit status: 0 when the input was read (and, for replay, the handler answered), 1 when the
replayed handler returned a function error, 2 when the input or a setting could not be read.";

/// The largest `--now`: 9999-12-31T23:59:59Z.
const MAX_NOW: i64 = 253_402_300_799;

// The commands' modules live in the folder named after this file.
#[path = "pinterest-cli/map.rs"]
mod map;

/// A start-up problem: printed on stderr, exit status 2.
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("pinterest-cli: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<ExitCode, Fatal> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let command = match parser.next()? {
        Some(Value(cmd)) => cmd.string()?,
        Some(Long("help") | Short('h')) => {
            println!("{USAGE}");
            return Ok(ExitCode::SUCCESS);
        }
        Some(other) => return Err(Fatal(format!("{}\n{USAGE}", other.unexpected()))),
        None => return Err(Fatal(format!("a command is required\n{USAGE}"))),
    };
    match command.as_str() {
        "help" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        "map" => {
            let mut file = None;
            let mut now = None;
            let mut explain = false;
            while let Some(arg) = parser.next()? {
                match arg {
                    Long("now") => now = Some(parse_now(&parser.value()?)?),
                    Long("explain") => explain = true,
                    Value(path) if file.is_none() => file = Some(path),
                    Long("help") | Short('h') => {
                        println!("{USAGE}");
                        return Ok(ExitCode::SUCCESS);
                    }
                    other => return Err(other.unexpected().into()),
                }
            }
            let now = now.unwrap_or_else(pinterest_destination::trigger::unix_now);
            let mut mapper = mapper_from_env(&|name| std::env::var(name).ok())?;
            mapper.explain = explain;
            match file.filter(|path| path != "-") {
                Some(path) => {
                    let file = std::fs::File::open(&path)
                        .map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))?;
                    map::run(&mapper, io::BufReader::new(file), now)?;
                }
                None => map::run(&mapper, io::stdin().lock(), now)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        "replay" => {
            let mut file = None;
            let mut send = false;
            while let Some(arg) = parser.next()? {
                match arg {
                    Long("send") => send = true,
                    Value(path) if file.is_none() => file = Some(path),
                    Long("help") | Short('h') => {
                        println!("{USAGE}");
                        return Ok(ExitCode::SUCCESS);
                    }
                    other => return Err(other.unexpected().into()),
                }
            }
            let file = file.ok_or_else(|| Fatal(format!("replay needs an EVENT_FILE\n{USAGE}")))?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Fatal(format!("cannot read {}: {e}", file.display())))?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            let event: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| Fatal(format!("{}: not JSON ({e})", file.display())))?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(replay(event, send))
        }
        other => Err(Fatal(format!("unknown command '{other}'\n{USAGE}"))),
    }
}

/// Placeholder advertiser id for dry runs without settings.
const DRY_RUN_AD_ACCOUNT: &str = "000000000000";
/// Time budget of a replayed invocation, like a Lambda timeout.
const REPLAY_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs the handler on `event`; exit status 1 when it returns a function error.
async fn replay(event: Value, send: bool) -> Result<ExitCode, Fatal> {
    pinterest_destination::logging::init(io::stderr);
    let mut settings = Settings::from_env(|name| {
        match std::env::var(name).ok().filter(|v| !v.trim().is_empty()) {
            None if name == "PINTEREST_AD_ACCOUNT_ID" && !send => {
                Some(DRY_RUN_AD_ACCOUNT.to_string())
            }
            value => value,
        }
    })?;
    if !send {
        settings.token = TokenSetting::None;
    } else if settings.token == TokenSetting::None {
        return Err(Fatal(
            "--send needs PINTEREST_ACCESS_TOKEN or PINTEREST_TOKEN_SECRET_ID".to_string(),
        ));
    }
    let state = State::new(settings).await.map_err(Fatal)?;
    let commanders_act_event = event.get("event_name").is_some();
    let deadline = tokio::time::Instant::now() + REPLAY_BUDGET;
    let invocation = handler::handle(&state, event, deadline).await;

    let stdout = io::stdout();
    let mut out = stdout.lock();
    if let Sender::DryRun(bodies) = &state.sender {
        let endpoint = EventsEndpoint::new(
            &state.delivery.base_url,
            &state.delivery.ad_account_id,
            state.delivery.test_mode,
        );
        let bodies = bodies.lock().map(|b| b.clone()).unwrap_or_default();
        for body in bodies {
            let body: Value = serde_json::from_str(&body)?;
            let request = serde_json::json!({"request": {
                "method": "POST",
                "url": endpoint.url(),
                "headers": {"Authorization": "Bearer **REDACTED**", "Content-Type": "application/json"},
                "body": body
            }});
            writeln!(out, "{request}")?;
        }
    }
    let response = match &invocation.response {
        Ok(response) => serde_json::json!({"response": response}),
        Err(e) => serde_json::json!({"error": e.to_string()}),
    };
    writeln!(out, "{response}")?;
    let c = &invocation.counters;
    // A dry run sends nothing: what it counts as delivered is what would have been sent.
    let (run, delivered) = if send {
        ("sent", "delivered")
    } else {
        ("dry run", "to send")
    };
    eprintln!(
        "{run} {}: {} records, {} events: {} {delivered}, {} skipped, {} filtered, {} rejected, {} failed; {} requests",
        invocation.trigger,
        c.records,
        c.received,
        c.delivered,
        c.skipped,
        c.filtered,
        c.rejected,
        c.failed,
        c.requests
    );
    if invocation.response.is_err() {
        if commanders_act_event {
            eprintln!(
                "pinterest-cli: hint: this looks like a Commanders Act event; `pinterest-cli map FILE` \
                 previews its mapping. `replay` takes a Lambda event (an SQS batch or an API Gateway \
                 request; the events/ folder has examples)."
            );
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// `--now`: Unix seconds from 0 to [`MAX_NOW`].
fn parse_now(value: &OsStr) -> Result<i64, Fatal> {
    value
        .to_str()
        .and_then(|text| text.parse().ok())
        .filter(|now| (0..=MAX_NOW).contains(now))
        .ok_or_else(|| {
            Fatal(format!(
                "--now: expected Unix seconds (a whole number from 0 to {MAX_NOW}), got '{}'",
                value.to_string_lossy()
            ))
        })
}
