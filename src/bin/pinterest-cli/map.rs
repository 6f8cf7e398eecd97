//! `pinterest-cli map`: maps Commanders Act events and prints one JSON line each; JSON lines are streamed.

use super::Fatal;
use pinterest_destination::event;
use pinterest_destination::fate::Fate;
use pinterest_destination::mapping::{Explained, Mapper, Outcome};
use pinterest_destination::pinterest::model::ConversionEvent;
use serde::Serialize;
use std::cell::OnceCell;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};

/// The UTF-8 byte order mark some Windows editors write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes read or written at a time: about 40 lines of a 1.6 KB event per system call, where 8 KiB took five.
pub const BUFFER: usize = 64 * 1024;

/// Lines between two progress reports on a terminal.
const PROGRESS_EVERY: usize = 100_000;

/// One output line: `index`, `status` and `event` written first by [`Output::write`], the rest by serde.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(skip)]
    index: usize,
    /// A fate's name: a plain identifier.
    #[serde(skip)]
    status: &'static str,
    /// Written as the request body writes it ([`ConversionEvent::to_json`]), as the function sends it.
    #[serde(skip)]
    event: Option<&'a ConversionEvent<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "<[Explained]>::is_empty")]
    explained: &'a [Explained],
}

/// Where the lines go, with the count for the progress report.
struct Output<W: Write> {
    out: W,
    written: usize,
    progress: bool,
    repaired_said: bool,
    /// The members of a line that serde writes, before they are copied after the others.
    rest: Vec<u8>,
}

impl<W: Write> Output<W> {
    /// Maps one parsed event (or reports why its text is not one) as line `index`.
    fn event(
        &mut self,
        mapper: &Mapper,
        index: usize,
        parsed: Result<&event::Value<'_>, &str>,
        now: i64,
    ) -> Result<(), Fatal> {
        let mut line = Line {
            index,
            status: "rejected",
            event: None,
            reason: None,
            error: None,
            warnings: &[],
            explained: &[],
        };
        let mapping;
        match parsed {
            Err(error) => line.error = Some(error),
            Ok(event) => {
                mapping = mapper.map(event, now);
                line.warnings = &mapping.warnings;
                line.explained = &mapping.explained;
                match &mapping.outcome {
                    Outcome::Mapped(event) => {
                        line.status = "mapped";
                        line.event = Some(event);
                    }
                    Outcome::NotSent(fate) => {
                        line.status = fate.name();
                        // A rejection's reason is the input's error; the other fates' a plain reason.
                        match fate {
                            Fate::Rejected(error) => line.error = Some(error),
                            _ => line.reason = fate.reason(),
                        }
                    }
                }
            }
        }
        self.write(&line)?;
        self.written += 1;
        if self.progress && self.written.is_multiple_of(PROGRESS_EVERY) {
            eprint!("\rpinterest-cli: {} events mapped", self.written);
        }
        Ok(())
    }

    /// `{"index":…,"status":…,"event":…,` then the members serde writes, and a newline.
    fn write(&mut self, line: &Line<'_>) -> Result<(), Fatal> {
        self.rest.clear();
        serde_json::to_writer(&mut self.rest, line)?;
        self.out.write_all(b"{\"index\":")?;
        self.out
            .write_all(itoa::Buffer::new().format(line.index).as_bytes())?;
        self.out.write_all(b",\"status\":\"")?;
        self.out.write_all(line.status.as_bytes())?;
        self.out.write_all(b"\"")?;
        if let Some(event) = line.event {
            self.out.write_all(b",\"event\":")?;
            self.out.write_all(event.to_json().as_bytes())?;
        }
        match self.rest.strip_prefix(b"{") {
            Some(members) if members != b"}" => {
                self.out.write_all(b",")?;
                self.out.write_all(members)?;
            }
            _ => self.out.write_all(b"}")?,
        }
        self.out.write_all(b"\n")?;
        Ok(())
    }

    fn repaired(&mut self) {
        if !self.repaired_said {
            eprintln!("pinterest-cli: input: {}", event::REPAIRED);
            self.repaired_said = true;
        }
    }
}

/// Maps `input` (one JSON event, a JSON array of events, or JSON lines): JSON lines are read, mapped and written
/// one at a time, so memory stays flat whatever their number; an array or a single event is read whole.
pub fn run(mapper: &Mapper, mut input: impl BufRead, now: i64) -> Result<(), Fatal> {
    let stdout = io::stdout();
    let mut out = Output {
        out: BufWriter::with_capacity(BUFFER, stdout.lock()),
        written: 0,
        progress: io::stderr().is_terminal(),
        repaired_said: false,
        rest: Vec::new(),
    };
    let empty = || {
        Fatal(
            "input: empty (expected a JSON event, a JSON array of events or JSON lines)"
                .to_string(),
        )
    };
    let mut first = Vec::new();
    if !next_line(&mut input, &mut first)? {
        return Err(empty());
    }
    if let Some(rest) = first.strip_prefix(BOM) {
        first = rest.to_vec();
        if first.trim_ascii().is_empty() && !next_line(&mut input, &mut first)? {
            return Err(empty());
        }
    }
    // JSON lines: the first line is a whole event on its own, and another line follows.
    let mut line = Vec::new();
    if one_event(&first).is_some() && next_line(&mut input, &mut line)? {
        stream_line(mapper, &mut out, 0, &first, now)?;
        stream_line(mapper, &mut out, 1, &line, now)?;
        let mut index = 2;
        while let Some(streamed) = with_next_line(&mut input, &mut line, |text| {
            stream_line(mapper, &mut out, index, text, now)
        })? {
            streamed?;
            index += 1;
        }
    } else {
        let mut whole = first;
        input.read_to_end(&mut whole)?;
        map_whole(mapper, &mut out, &whole, now)?;
    }
    if out.progress && out.written >= PROGRESS_EVERY {
        eprintln!("\rpinterest-cli: {} events mapped", out.written);
    }
    out.out.flush()?;
    Ok(())
}

/// `Some` when the first line is, on its own, one JSON object (the sign of JSON lines); `None` when it is
/// anything else (the start of a multi-line document, an array).
fn one_event(line: &[u8]) -> Option<()> {
    let text = std::str::from_utf8(line).ok()?;
    let repaired = OnceCell::new();
    event::parse_repairing(text.trim(), &repaired)
        .ok()
        .filter(event::Value::is_object)
        .map(drop)
}

/// Reads the next line that is not blank into `line` (one buffer for all lines); false at the end of the input.
fn next_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> Result<bool, Fatal> {
    loop {
        line.clear();
        if input.read_until(b'\n', line)? == 0 {
            return Ok(false);
        }
        if !line.trim_ascii().is_empty() {
            return Ok(true);
        }
    }
}

/// Calls `f` on the next line that is not blank: in place in `input`'s buffer when the whole line is there (no
/// copy), else copied into `spill`. `None` at the end of the input.
fn with_next_line<T>(
    input: &mut impl BufRead,
    spill: &mut Vec<u8>,
    f: impl FnOnce(&[u8]) -> T,
) -> Result<Option<T>, Fatal> {
    loop {
        let buffered = input.fill_buf()?;
        if buffered.is_empty() {
            return Ok(None);
        }
        if let Some(end) = memchr::memchr(b'\n', buffered) {
            let line = buffered.get(..=end).unwrap_or_default();
            if line.trim_ascii().is_empty() {
                input.consume(end + 1);
                continue;
            }
            let done = f(line);
            input.consume(end + 1);
            return Ok(Some(done));
        }
        // The line runs past the end of the buffer.
        return Ok(next_line(input, spill)?.then(|| f(spill)));
    }
}

fn stream_line<W: Write>(
    mapper: &Mapper,
    out: &mut Output<W>,
    index: usize,
    line: &[u8],
    now: i64,
) -> Result<(), Fatal> {
    let repaired = OnceCell::new();
    let parsed = std::str::from_utf8(line)
        .map_err(|e| format!("input: not UTF-8 ({e})"))
        .and_then(|text| {
            event::parse_repairing(text.trim(), &repaired)
                .map_err(|e| format!("input: not JSON ({e})"))
        });
    if repaired.get().is_some() {
        out.repaired();
    }
    match &parsed {
        Ok(event) => out.event(mapper, index, Ok(event), now),
        Err(error) => out.event(mapper, index, Err(error), now),
    }
}

/// One JSON event or a JSON array of events read whole; a text that is neither is read as JSON lines, and is an
/// error when not one of its lines is JSON.
fn map_whole<W: Write>(
    mapper: &Mapper,
    out: &mut Output<W>,
    input: &[u8],
    now: i64,
) -> Result<(), Fatal> {
    let repaired = event::replace_lone_surrogates(input);
    if repaired.is_some() {
        out.repaired();
    }
    let input = repaired.as_deref().unwrap_or(input);
    match event::parse_bytes(input) {
        Ok(event::Value::Array(events)) if events.is_empty() => {
            eprintln!("pinterest-cli: input: an empty array, nothing to map");
            Ok(())
        }
        Ok(event::Value::Array(events)) => {
            for (index, event) in events.iter().enumerate() {
                out.event(mapper, index, Ok(event), now)?;
            }
            Ok(())
        }
        Ok(event) if is_lambda_event(&event) => Err(lambda_event()),
        Ok(event) => out.event(mapper, 0, Ok(&event), now),
        Err(whole) => {
            let lines: Vec<&[u8]> = input
                .split(|&b| b == b'\n')
                .filter(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
                .collect();
            let parsed: Vec<_> = lines
                .iter()
                .map(|line| event::parse_bytes(line).map_err(|e| format!("input: not JSON ({e})")))
                .collect();
            if parsed.iter().all(Result::is_err) {
                return Err(Fatal(format!("input: not JSON ({whole})")));
            }
            for (index, parsed) in parsed.iter().enumerate() {
                match parsed {
                    Ok(event) => out.event(mapper, index, Ok(event), now)?,
                    Err(error) => out.event(mapper, index, Err(error), now)?,
                }
            }
            Ok(())
        }
    }
}

fn lambda_event() -> Fatal {
    Fatal(
        "input: a Lambda event (SQS batch or API Gateway request), not a Commanders Act \
         event; to run the handler on it, use `pinterest-cli replay FILE`"
            .to_string(),
    )
}

/// An SQS batch (a `Records` array) or an API Gateway request, as the files in `events/`.
fn is_lambda_event(event: &event::Value) -> bool {
    event.as_object().is_some_and(|object| {
        matches!(object.get("Records"), Some(event::Value::Array(_)))
            || ["requestContext", "httpMethod", "routeKey"]
                .iter()
                .any(|key| object.contains_key(key))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line `with_next_line` gives, read through a buffer of `capacity` bytes.
    fn lines(input: &[u8], capacity: usize) -> Vec<String> {
        let mut input = io::BufReader::with_capacity(capacity, input);
        let mut spill = Vec::new();
        let mut lines = Vec::new();
        while let Some(line) = with_next_line(&mut input, &mut spill, |line| {
            String::from_utf8_lossy(line).into_owned()
        })
        .unwrap_or_else(|Fatal(error)| panic!("{error}"))
        {
            lines.push(line);
        }
        lines
    }

    #[test]
    fn lines_are_whole_in_the_buffer_or_across_its_end() {
        let input = b"{\"a\":1}\n\n  \n{\"bb\":22}\r\n{\"a-much-longer-line\":333}\n{\"last\":4}";
        let expected = [
            "{\"a\":1}\n",
            "{\"bb\":22}\r\n",
            "{\"a-much-longer-line\":333}\n",
            "{\"last\":4}",
        ];
        // Buffers shorter than a line, as long as some, and longer than the whole input.
        for capacity in [1, 5, 9, 16, 1024] {
            assert_eq!(
                lines(input, capacity),
                expected,
                "buffer of {capacity} bytes"
            );
        }
    }

    #[test]
    fn blank_input_has_no_lines() {
        for capacity in [1, 4, 1024] {
            assert!(lines(b"\n \n\t\n", capacity).is_empty());
            assert!(lines(b"", capacity).is_empty());
        }
    }
}
