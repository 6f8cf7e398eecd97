//! Local command line: preview the mapping of Commanders Act events (`map`), replay a Lambda event or rejected-queue
//! messages (`replay`), check the token and the ad account (`check`).

use pinterest_destination::config::{Settings, TEST_MODE_NOTICE, TokenSetting, mapper_from_env};
use pinterest_destination::handler;
use pinterest_destination::pinterest::client::EventsEndpoint;
use pinterest_destination::pinterest::response::{Decision, EventStatus, truncate};
use pinterest_destination::text::counted;
use pinterest_destination::token::TokenSource;
use pinterest_destination::trigger::{Sender, State};
use serde_json::Value;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::process::ExitCode;

/// Each command: its name, its usage line, and what it does (for `help COMMAND` and `COMMAND --help`).
const COMMANDS: [(&str, &str, &str); 4] = [
    (
        "map",
        "pinterest-cli map [FILE] [--now UNIX_SECONDS] [--explain]",
        "\
Maps Commanders Act events (one JSON event, a JSON array, or JSON lines; FILE, or stdin when FILE is
absent or -) and prints one JSON line per event: mapped, skipped, filtered or rejected. JSON lines are
read, mapped and written one at a time, so the input may be of any size.
  --now UNIX_SECONDS  the time events are checked against (Pinterest refuses events older than 7 days)
  --explain           adds, for each hashed field, its source and the normalised value that was hashed:
                      that is personal data in clear, for local debugging only",
    ),
    (
        "replay",
        "pinterest-cli replay EVENT_FILE [--send]",
        "\
Runs the Lambda handler in-process on a Lambda event file (SQS batch, API Gateway v1/v2), or on
messages of the rejected-events queue (one message body, an array or JSON lines of them, or the output
of `aws sqs receive-message`), each replayed as one SQS record.
Without --send it is a dry run: it prints the Pinterest requests it would send (token redacted) and the
trigger's response, where events that would be sent count as would_send. With --send and
PINTEREST_ACCESS_TOKEN (or PINTEREST_TOKEN_SECRET_ID) and PINTEREST_AD_ACCOUNT_ID, it really sends them.
Replay never writes to the rejected-events queue: still-rejected records are listed in the response's
batchItemFailures.",
    ),
    (
        "check",
        "pinterest-cli check",
        "\
Reads the token as the function does (PINTEREST_TOKEN_SECRET_ID, else PINTEREST_ACCESS_TOKEN), sends one
test event (?test=true: Pinterest does not record it) to PINTEREST_AD_ACCOUNT_ID, and says in one line
whether the token and the ad account work.",
    ),
    (
        "fake-pinterest",
        "pinterest-cli fake-pinterest [--port N] [--token TOKEN]",
        "\
Serves a local stand-in for Pinterest's events endpoint on 127.0.0.1 (port N, default 8787; 0 picks a
free one) and prints its base URL, to use as PINTEREST_API_BASE_URL. Every request is checked against
Pinterest's published request schema (400 with the errors when it fails) and answered per event.
Faults by event id: an event id starting with `fail-` makes that event `failed`; `reject-` answers the
whole request 400, `throttle-` 429 (Retry-After: 1), `unavailable-` 503. With --token only that bearer
token is accepted, otherwise any. One line per request on stderr; Ctrl-C stops it.",
    ),
];

/// What every command shares, after the list of commands.
const FOOTER: &str = "\
Settings come from the environment (PINTEREST_MAPPING, PINTEREST_CLICK_ID_COOKIE, ...).
Exit status: 0 when the input was read (and, for replay, the handler answered; for check, the
token and the account work), 1 when the replayed handler returned a function error or the
check failed, 2 when the input or a setting could not be read.";

/// The overview: every command's usage line, then [`FOOTER`].
fn usage() -> String {
    let mut text = String::from("usage:\n");
    for (_, synopsis, _) in COMMANDS {
        text.push_str(&format!("  {synopsis}\n"));
    }
    text.push_str("  pinterest-cli help [COMMAND] | COMMAND --help | --version\n");
    text.push_str(FOOTER);
    text
}

/// The help of one command, or `None` when there is no such command.
fn command_help(name: &str) -> Option<String> {
    let (_, synopsis, description) = COMMANDS.iter().find(|(command, _, _)| *command == name)?;
    Some(format!("usage: {synopsis}\n\n{description}\n\n{FOOTER}"))
}

/// Prints the help of `command` (known: the caller matched it) and succeeds.
fn print_help(command: &str) -> Result<ExitCode, Fatal> {
    println!("{}", command_help(command).unwrap_or_else(usage));
    Ok(ExitCode::SUCCESS)
}

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
            println!("{}", usage());
            return Ok(ExitCode::SUCCESS);
        }
        Some(Long("version") | Short('V')) => {
            println!("pinterest-cli {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        Some(other) => return Err(Fatal(format!("{}\n{}", other.unexpected(), usage()))),
        None => return Err(Fatal(format!("a command is required\n{}", usage()))),
    };
    match command.as_str() {
        "help" => match parser.next()? {
            None => print_help("help"),
            Some(Value(name)) => {
                let name = name.string()?;
                command_help(&name)
                    .map(|help| {
                        println!("{help}");
                        ExitCode::SUCCESS
                    })
                    .ok_or_else(|| Fatal(format!("unknown command '{name}'\n{}", usage())))
            }
            Some(other) => Err(other.unexpected().into()),
        },
        "map" => {
            let mut file = None;
            let mut now = None;
            let mut explain = false;
            while let Some(arg) = parser.next()? {
                match arg {
                    Long("now") => now = Some(parse_now(&parser.value()?)?),
                    Long("explain") => explain = true,
                    Value(path) if file.is_none() => file = Some(path),
                    Long("help") | Short('h') => return print_help("map"),
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
                    map::run(
                        &mapper,
                        io::BufReader::with_capacity(map::BUFFER, file),
                        now,
                    )?;
                }
                None => map::run(
                    &mapper,
                    io::BufReader::with_capacity(map::BUFFER, io::stdin().lock()),
                    now,
                )?,
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
                    Long("help") | Short('h') => return print_help("replay"),
                    other => return Err(other.unexpected().into()),
                }
            }
            let file = file.ok_or_else(|| {
                Fatal(format!(
                    "replay needs an EVENT_FILE\n{}",
                    command_help("replay").unwrap_or_default()
                ))
            })?;
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Fatal(format!("cannot read {}: {e}", file.display())))?;
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            let event = match serde_json::from_str::<serde_json::Value>(text) {
                Ok(value) => rejected_messages_as_batch(&value).unwrap_or(value),
                // JSON lines: one rejected-queue message per line.
                Err(e) => json_lines(text)
                    .and_then(|messages| {
                        rejected_messages_as_batch(&serde_json::Value::Array(messages))
                    })
                    .ok_or_else(|| Fatal(format!("{}: not JSON ({e})", file.display())))?,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(replay(event, send))
        }
        "check" => {
            if let Some(arg) = parser.next()? {
                if matches!(arg, Long("help") | Short('h')) {
                    return print_help("check");
                }
                return Err(arg.unexpected().into());
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(check())
        }
        "fake-pinterest" => {
            let mut port: u16 = 8787;
            let mut token = None;
            while let Some(arg) = parser.next()? {
                match arg {
                    Long("port") => {
                        let value = parser.value()?;
                        port = value.to_str().and_then(|v| v.parse().ok()).ok_or_else(|| {
                            Fatal(format!(
                                "--port: expected a port number from 0 to 65535, got '{}'",
                                value.to_string_lossy()
                            ))
                        })?;
                    }
                    Long("token") => token = Some(parser.value()?.string()?),
                    Long("help") | Short('h') => return print_help("fake-pinterest"),
                    other => return Err(other.unexpected().into()),
                }
            }
            fake_pinterest(port, token)
        }
        other => Err(Fatal(format!("unknown command '{other}'\n{}", usage()))),
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
    // A replay shows what is still rejected in its answer rather than queueing it again.
    settings.rejected_queue_url = None;
    if settings.test_mode {
        eprintln!("pinterest-cli: {TEST_MODE_NOTICE}");
    }
    let state = State::new(settings).await.map_err(Fatal)?;
    let commanders_act_event = event.get("event_name").is_some();
    let deadline = tokio::time::Instant::now() + REPLAY_BUDGET;
    let invocation = handler::handle(&state, &event.to_string(), deadline).await;

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
    // A dry run sends nothing: its events count as would_send, never as delivered.
    let (run, sent, sent_as) = if send {
        ("sent", c.events.delivered, "delivered")
    } else {
        ("dry run", c.events.would_send, "would_send")
    };
    eprintln!(
        "{run} {}: {}, {}: {sent} {sent_as}, {} skipped, {} filtered, {} rejected, {} failed; {}",
        invocation.trigger,
        counted(c.records, "record", "records"),
        counted(c.events.events(), "event", "events"),
        c.events.skipped,
        c.events.filtered,
        c.events.rejected,
        c.events.failed,
        counted(c.requests.sent, "request", "requests"),
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

/// Every line of `text` as JSON, when there are several and each is JSON.
fn json_lines(text: &str) -> Option<Vec<Value>> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() < 2 {
        return None;
    }
    lines.iter().map(|l| serde_json::from_str(l).ok()).collect()
}

/// Messages of the rejected-events queue as an SQS batch of one record each (the event as the record's body,
/// its source message id and queue), when `value` is such messages: one message body, an array of them, or
/// what `aws sqs receive-message` prints (`{"Messages": [{"MessageId", "Body", ...}]}`).
fn rejected_messages_as_batch(value: &Value) -> Option<Value> {
    let bodies: Vec<Value> = match value {
        Value::Object(object) if object.contains_key("Messages") => object
            .get("Messages")?
            .as_array()?
            .iter()
            .map(|message| serde_json::from_str(message.get("Body")?.as_str()?).ok())
            .collect::<Option<_>>()?,
        Value::Array(messages) if !messages.is_empty() => messages.clone(),
        Value::Object(_) => vec![value.clone()],
        _ => return None,
    };
    let records = bodies
        .iter()
        .enumerate()
        .map(|(index, message)| {
            let message = message.as_object()?;
            let stage = message.get("stage")?.as_str()?;
            let event = message.get("event")?;
            let body = match (stage, event) {
                ("input", Value::String(body)) => body.clone(),
                ("mapping" | "pinterest", Value::Object(_) | Value::Array(_)) => event.to_string(),
                _ => return None,
            };
            let text = |key: &str| message.get(key).and_then(Value::as_str);
            let message_id = text("source_message_id")
                .map_or_else(|| format!("rejected-{index}"), str::to_owned);
            Some(serde_json::json!({
                "messageId": message_id,
                "body": body,
                "eventSource": "aws:sqs",
                "eventSourceARN": text("source_queue_arn").unwrap_or("arn:aws:sqs:::rejected-events"),
                "attributes": {},
                "messageAttributes": {}
            }))
        })
        .collect::<Option<Vec<Value>>>()?;
    Some(serde_json::json!({ "Records": records }))
}

/// What `check` sends: one `page_visit` of a made-up address (hashed), always with `?test=true`.
fn check_event(now: i64) -> String {
    use sha2::{Digest as _, Sha256};
    let digest = Sha256::digest(b"pinterest-cli-check@example.com");
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    serde_json::json!({"data": [{
        "event_name": "page_visit",
        "action_source": "web",
        "event_time": now,
        "event_id": format!("pinterest-cli-check-{now}"),
        "event_source_url": "https://pinterest-cli.invalid/check",
        "user_data": {"em": [hex]}
    }]})
    .to_string()
}

/// Time allowed to the check's request.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `check`: one test event to the configured ad account with the configured token; one line, exit 1 unless it
/// works.
async fn check() -> Result<ExitCode, Fatal> {
    let settings = Settings::from_env(|name| std::env::var(name).ok())?;
    if settings.token == TokenSetting::None {
        return Err(Fatal(
            "check needs PINTEREST_TOKEN_SECRET_ID (the secret holding the token) or PINTEREST_ACCESS_TOKEN"
                .to_string(),
        ));
    }
    let account = settings.ad_account_id.clone();
    let state = State::new(settings).await.map_err(Fatal)?;
    let Sender::Pinterest(tokens) = &state.sender else {
        return Err(Fatal("no token source".to_string()));
    };
    let (works, line) = match tokens.token(None).await {
        Err(error) => (
            false,
            format!(
                "FAILED: {error}: check PINTEREST_TOKEN_SECRET_ID, the secret's value and your AWS credentials"
            ),
        ),
        Ok(token) => {
            let endpoint = EventsEndpoint::new(&state.delivery.base_url, &account, true);
            let body = bytes::Bytes::from(check_event(pinterest_destination::trigger::unix_now()));
            let decision = endpoint
                .send(&state.http, &token, body, 1, CHECK_TIMEOUT)
                .await;
            verdict(&account, decision)
        }
    };
    println!("{line}");
    Ok(if works {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Whether the token and the account work, and the one line that says so (and what to do if not).
fn verdict(account: &str, decision: Decision) -> (bool, String) {
    let ok = format!(
        "OK: the token and ad account {account} work: Pinterest accepted a test event (test mode:          Pinterest does not record it)"
    );
    match decision {
        Decision::PerEvent(results) => match results.first() {
            Some(result) if result.status == EventStatus::Failed => (
                true,
                format!(
                    "{ok}; it reported the test event itself as failed: {}",
                    result.error_message.as_deref().unwrap_or("no message")
                ),
            ),
            _ => (true, ok),
        },
        Decision::RefreshToken => (
            false,
            "FAILED (HTTP 401): Pinterest refused the access token: generate a new conversion access token              in Ads Manager and store it in the secret (or PINTEREST_ACCESS_TOKEN)"
                .to_string(),
        ),
        Decision::Reject { status: 403, .. } => (
            false,
            format!(
                "FAILED (HTTP 403): the token may not send events to ad account {account}: give the token's                  user a role on the ad account that can send conversions, and use a token with the                  ads:write scope"
            ),
        ),
        Decision::Reject { status: 404, .. } => (
            false,
            format!(
                "FAILED (HTTP 404): Pinterest knows no ad account {account}: check PINTEREST_AD_ACCOUNT_ID                  (the advertiser id in Ads Manager)"
            ),
        ),
        Decision::Reject { status, reason } => (
            false,
            format!(
                "FAILED (HTTP {status}): Pinterest refused the test event: {}",
                truncate(&reason)
            ),
        ),
        Decision::Retry { reason, .. } => (
            false,
            format!(
                "UNKNOWN: Pinterest could not be reached or is busy ({reason}): try again later"
            ),
        ),
    }
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

/// `fake-pinterest`: serves the fake on 127.0.0.1:`port` until killed; the first stdout line is its base URL.
#[cfg(feature = "fake-pinterest")]
fn fake_pinterest(port: u16, token: Option<String>) -> Result<ExitCode, Fatal> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| Fatal(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let address = listener.local_addr()?;
        println!("http://{address}/v5");
        eprintln!(
            "fake-pinterest: listening; run the function with PINTEREST_API_BASE_URL=http://{address}/v5 \
             (any PINTEREST_AD_ACCOUNT_ID of digits; {})",
            if token.is_some() { "the bearer token given with --token" } else { "any access token" }
        );
        io::stdout().flush()?;
        pinterest_destination::fake_pinterest::serve(listener, token).await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `fake-pinterest` in a build without the `fake-pinterest` feature.
#[cfg(not(feature = "fake-pinterest"))]
fn fake_pinterest(_port: u16, _token: Option<String>) -> Result<ExitCode, Fatal> {
    Err(Fatal(
        "this pinterest-cli was built without the `fake-pinterest` feature (cargo run --features \
         fake-pinterest --bin pinterest-cli -- fake-pinterest)"
            .to_string(),
    ))
}
