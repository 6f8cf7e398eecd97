//! Tolerant reading of a Commanders Act event: dotted paths, numbers-or-strings, booleans, timestamps.
//!
//! Events are parsed into a borrowed tree ([`Value`]): strings point into the event's JSON text and objects are
//! vectors of pairs, so parsing allocates one vector per object or array instead of a map node and a `String`
//! per key and per value.

mod build;

use serde_json_borrow::Number;
pub use serde_json_borrow::Value;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::fmt;
use time::format_description::well_known::Iso8601;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// A dotted source path such as `context.device.ip` or `items.0.id`, split once at start-up.
#[derive(Debug, Clone)]
pub struct Path {
    text: String,
    segments: Vec<Segment>,
    /// Number of its parent prefix among the paths of one set (see [`number_parents`]), for [`Lookup`].
    parent: Option<usize>,
}

impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Path {}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Segment {
    key: String,
    index: Option<usize>,
}

/// Why a path could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a dotted path (empty segment)")]
pub struct BadPath(pub String);

impl Path {
    /// Parses `a.b.0.c`; an empty path or an empty segment is an error.
    pub fn parse(text: &str) -> Result<Self, BadPath> {
        let segments = text
            .split('.')
            .map(|key| {
                if key.is_empty() {
                    Err(BadPath(text.to_string()))
                } else {
                    Ok(Segment {
                        key: key.to_string(),
                        index: key.parse().ok(),
                    })
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            text: text.to_string(),
            segments,
            parent: None,
        })
    }

    /// True when the path's last key ends in `_sha256` (`user.email_sha256`): its values must be SHA-256 digests.
    pub fn names_a_digest(&self) -> bool {
        self.text.ends_with("_sha256")
    }

    /// The value at this path; `null` counts as absent.
    pub fn get<'a>(&self, root: &'a Value<'a>) -> Option<&'a Value<'a>> {
        walk(root, &self.segments).filter(|value| !value.is_null())
    }
}

/// Parses one event's JSON text, borrowing its strings from `text` (vectors built at their exact size: see
/// [`build`]).
pub fn parse(text: &str) -> Result<Value<'_>, serde_json::Error> {
    match build::tree(serde_json::de::StrRead::new(text))? {
        Some(tree) => Ok(tree),
        None => serde_json::from_str(text),
    }
}

/// Like [`parse`], from bytes (which must be UTF-8).
pub fn parse_bytes(bytes: &[u8]) -> Result<Value<'_>, serde_json::Error> {
    match build::tree(serde_json::de::SliceRead::new(bytes))? {
        Some(tree) => Ok(tree),
        None => serde_json::from_slice(bytes),
    }
}

/// The warning for a text that [`parse_repairing`] repaired.
pub const REPAIRED: &str = "lone UTF-16 surrogate escapes (half an emoji) replaced by U+FFFD";

/// Like [`parse`], also accepting lone UTF-16 surrogate escapes (`"\ud83d"`: half an emoji, as
/// JavaScript's `JSON.stringify` writes a string cut in the middle of one). The JSON grammar allows them
/// (RFC 8259 §8.2) but they are no Unicode text and serde_json refuses them: when it does, each is replaced by
/// `\ufffd` (U+FFFD, the replacement character) in a copy of `text` that `repaired` (empty when given) then
/// holds, and the copy is parsed. `repaired` stays empty when the text needed no repair.
pub fn parse_repairing<'a>(
    text: &'a str,
    repaired: &'a OnceCell<String>,
) -> Result<Value<'a>, serde_json::Error> {
    match parse(text) {
        Ok(value) => Ok(value),
        // The copy differs from `text` by ASCII digits only, so it is UTF-8 too.
        Err(error) => match replace_lone_surrogates(text.as_bytes())
            .and_then(|copy| String::from_utf8(copy).ok())
        {
            Some(copy) => parse(repaired.get_or_init(|| copy)),
            None => Err(error),
        },
    }
}

/// `text` with every lone surrogate escape replaced by `\ufffd` (the same length, so error positions stay
/// true), or `None` when there is none. A high surrogate followed by a low one is a pair and is kept.
pub fn replace_lone_surrogates(text: &[u8]) -> Option<Vec<u8>> {
    let unit = |at: usize| -> Option<u16> {
        let hex = text.get(at..at + 6)?.strip_prefix(b"\\u")?;
        u16::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    };
    let mut copy: Option<Vec<u8>> = None;
    let mut at = 0;
    while let Some(found) = text
        .get(at..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\\'))
    {
        let escape = at + found;
        at = escape + 2; // a two-character escape (`\"`, `\\`, `\n`, ...) unless it is `\uXXXX`
        let Some(code) = unit(escape) else { continue };
        at = escape + 6;
        let lone = match code {
            0xD800..=0xDBFF => match unit(escape + 6) {
                Some(0xDC00..=0xDFFF) => {
                    at = escape + 12;
                    false
                }
                _ => true,
            },
            0xDC00..=0xDFFF => true,
            _ => false,
        };
        if lone {
            copy.get_or_insert_with(|| text.to_vec())[escape + 2..escape + 6]
                .copy_from_slice(b"fffd");
        }
    }
    copy
}

/// Numbers the distinct parent prefixes of `paths` (`user` for `user.email` and `user.phone`), recording each
/// path's number in it; returns how many there are, the size of a [`Lookup`]'s memory.
pub fn number_parents<'p>(paths: impl IntoIterator<Item = &'p mut Path>) -> usize {
    let mut parents: Vec<Vec<Segment>> = Vec::new();
    for path in paths {
        let prefix = &path.segments[..path.segments.len().saturating_sub(1)];
        let number = match parents.iter().position(|known| known == prefix) {
            Some(number) => number,
            None => {
                parents.push(prefix.to_vec());
                parents.len() - 1
            }
        };
        path.parent = Some(number);
    }
    parents.len()
}

/// Resolves paths in one event, remembering what each numbered parent prefix led to (see [`number_parents`]):
/// fields share few parents (`user`, `context.device`, ...), each walked once per event instead of per field.
/// Gives exactly what [`Path::get`] gives.
pub struct Lookup<'a> {
    root: &'a Value<'a>,
    /// Per parent number: not walked yet, or what it led to.
    parents: Vec<Option<Option<&'a Value<'a>>>>,
}

impl<'a> Lookup<'a> {
    /// A lookup for paths numbered among `parents` parent prefixes.
    pub fn new(root: &'a Value<'a>, parents: usize) -> Self {
        Self {
            root,
            parents: vec![None; parents],
        }
    }

    /// The value at `path`; `null` counts as absent. `path` must be unnumbered or numbered in the same set as
    /// the lookup's size came from (the mapper's field sources): a number from another set would reuse the
    /// memory of a different parent.
    pub fn get(&mut self, path: &'a Path) -> Option<&'a Value<'a>> {
        let (last, prefix) = path.segments.split_last()?;
        let root = self.root;
        let parent = match path.parent.and_then(|n| self.parents.get_mut(n)) {
            _ if prefix.is_empty() => Some(root),
            Some(memory) => *memory.get_or_insert_with(|| walk(root, prefix)),
            None => walk(root, prefix),
        };
        walk(parent?, std::slice::from_ref(last)).filter(|value| !value.is_null())
    }
}

/// Follows `segments` from `current`; `None` where a step is missing or not an object or array. Of duplicate
/// keys the last counts, as in JavaScript's `JSON.parse`.
fn walk<'a>(mut current: &'a Value<'a>, segments: &[Segment]) -> Option<&'a Value<'a>> {
    for segment in segments {
        current = match current {
            Value::Object(map) => map
                .as_vec()
                .iter()
                .rev()
                .find_map(|(key, value)| same_key(key, &segment.key).then_some(value))?,
            Value::Array(items) => items.get(segment.index?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// `key == wanted`, testing the length and the first byte inline first: most keys of an object differ there,
/// and a call to `memcmp` per key costs more than that test.
fn same_key(key: &str, wanted: &str) -> bool {
    key.len() == wanted.len()
        && key.as_bytes().first() == wanted.as_bytes().first()
        && key == wanted
}

/// `str::trim`, without its work for the common text that starts and ends with a visible ASCII character:
/// `trim` decodes a character at each end and looks it up in the Unicode white-space table, on every value of
/// every field.
pub fn trim(text: &str) -> &str {
    let visible = |byte: Option<&u8>| byte.is_some_and(u8::is_ascii_graphic);
    if visible(text.as_bytes().first()) && visible(text.as_bytes().last()) {
        text
    } else {
        text.trim()
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What a value of the wrong shape is reported as (never the value itself: it may be personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreadable {
    /// The JSON type cannot stand for this kind of value (e.g. an object where text is expected).
    WrongType(&'static str),
    /// The type is right but the content is not (e.g. `"maybe"` for a boolean).
    Invalid(&'static str),
}

impl fmt::Display for Unreadable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongType(expected) => write!(f, "expected {expected}"),
            Self::Invalid(reason) => f.write_str(reason),
        }
    }
}

/// What a value is, for an error message that must not quote it: `a number`, `an object`, ...
pub fn kind(value: &Value<'_>) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::Str(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string of white space only: counts as absent for every field (a field with no value is omitted).
pub fn is_blank(value: &Value<'_>) -> bool {
    matches!(value, Value::Str(s) if trim(s).is_empty())
}

/// Text from a string (trimmed) or a number; `Ok(None)` for a blank string.
pub fn text(value: &Value<'_>) -> Result<Option<String>, Unreadable> {
    text_ref(value).map(|text| text.map(Cow::into_owned))
}

/// Like [`text`], borrowing a string from the event instead of copying it.
pub fn text_ref<'a>(value: &'a Value<'_>) -> Result<Option<Cow<'a, str>>, Unreadable> {
    match value {
        Value::Str(s) => {
            let trimmed = trim(s);
            Ok((!trimmed.is_empty()).then_some(Cow::Borrowed(trimmed)))
        }
        Value::Number(n) => number_as_text(n).map(|text| Some(Cow::Owned(text))),
        _ => Err(Unreadable::WrongType("a string or a number")),
    }
}

/// A boolean, or an equivalent string or number: `true/false`, `1/0`, `yes/no`, `on/off` (any case).
pub fn boolean(value: &Value<'_>) -> Result<bool, Unreadable> {
    let word = match value {
        Value::Bool(b) => return Ok(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => return Ok(true),
            Some(0.0) => return Ok(false),
            _ => {
                return Err(Unreadable::Invalid(
                    "a number other than 1 or 0 is not a boolean",
                ));
            }
        },
        Value::Str(s) => trim(s).to_ascii_lowercase(),
        _ => return Err(Unreadable::WrongType("a boolean or an equivalent string")),
    };
    match word.as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Unreadable::Invalid(
            "not a boolean (expected true/false, 1/0, yes/no or on/off)",
        )),
    }
}

/// A whole number from a JSON integer, a float without fraction, or a string of either (`"2"`, `"2.0"`).
pub fn integer(value: &Value<'_>) -> Result<i64, Unreadable> {
    let whole = |x: f64| (x.fract() == 0.0 && x.abs() < FLOAT_WITHOUT_FRACTION).then_some(x as i64);
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().and_then(whole))
            .ok_or(Unreadable::Invalid("not a whole number in range")),
        Value::Str(s) => {
            let t = trim(s);
            t.parse()
                .ok()
                .or_else(|| t.parse().ok().and_then(whole))
                .ok_or(Unreadable::Invalid("not a whole number"))
        }
        _ => Err(Unreadable::WrongType(
            "a whole number or a string of digits",
        )),
    }
}

/// A decimal amount as text, exactly as given (`19.9` stays `19.9`); strings must look like `-12.34`. A number
/// written with an exponent (`1e21`, `1.5e-7`) is written out in plain digits, as a decimal must be.
pub fn decimal(value: &Value<'_>) -> Result<String, Unreadable> {
    match value {
        Value::Number(n) => {
            let text = number_text(n);
            if n.is_f64() && significant_digits(&text) > EXACT_FLOAT_DIGITS {
                return Err(Unreadable::Invalid(
                    "a number with more digits than a JSON number holds exactly (send it as a string)",
                ));
            }
            Ok(if text.contains(['e', 'E']) {
                // Rust's float formatting never uses an exponent: the shortest digits that read back the same.
                n.as_f64().unwrap_or_default().to_string()
            } else {
                text
            })
        }
        Value::Str(s) => {
            let t = trim(s);
            let digits = t.strip_prefix('-').unwrap_or(t);
            let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
            let all_digits =
                |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
            if all_digits(whole) && all_digits(fraction) {
                Ok(t.to_string())
            } else {
                Err(Unreadable::Invalid("not a decimal number such as 19.90"))
            }
        }
        _ => Err(Unreadable::WrongType("a number or a decimal string")),
    }
}

/// Significant digits that every `f64` keeps: a number written with more may already have lost some when it was
/// parsed (`123456789012345678901234567890` reads as `1.2345678901234568e29`), so it is not sent as if exact.
const EXACT_FLOAT_DIGITS: usize = 15;

/// The significant digits of a float's shortest text (`1.2345678901234568e29` has 17, `1e21` and `0.0012` 1 and
/// 2): the digits of its mantissa without leading or trailing zeros.
fn significant_digits(shortest: &str) -> usize {
    let mantissa = shortest.split(['e', 'E']).next().unwrap_or_default();
    // Positions of the first and last non-zero digit among the digits (counted in place, without a copy).
    let mut nonzero: Option<(usize, usize)> = None;
    for (at, digit) in mantissa.bytes().filter(u8::is_ascii_digit).enumerate() {
        if digit != b'0' {
            nonzero = Some((nonzero.map_or(at, |(first, _)| first), at));
        }
    }
    nonzero.map_or(0, |(first, last)| last - first + 1)
}

/// Magnitude (2^52) from which an `f64` has no fraction bits: a fraction written in the text is already lost
/// (`4503599627370496.5` reads as `4503599627370496`), and from 2^53 whole numbers too.
const FLOAT_WITHOUT_FRACTION: f64 = 4_503_599_627_370_496.0;

/// A JSON number read as text (an id, a phone number, a ZIP code): integers as written, a whole float without
/// its `.0` (`33612345678.0` → `33612345678`), other floats in their shortest form. A number too large for a
/// float to hold exactly is refused: its digits are already lost (`123456789012345678901` reads as
/// `1.2345678901234568e20`), and two ids would become one.
fn number_as_text(n: &Number) -> Result<String, Unreadable> {
    if n.is_f64() {
        let float = n.as_f64().unwrap_or_default();
        if float.fract() == 0.0 {
            return if float.abs() < FLOAT_WITHOUT_FRACTION {
                Ok((float as i64).to_string())
            } else {
                Err(Unreadable::Invalid(
                    "a number too large to read exactly (send it as a string)",
                ))
            };
        }
    }
    Ok(number_text(n))
}

/// A JSON number as text in its shortest exact form, as serde_json writes it (`8.00` → `8.0`, `1e300` → `1e300`).
fn number_text(n: &Number) -> String {
    if let Some(whole) = n.as_u64() {
        whole.to_string()
    } else if let Some(whole) = n.as_i64() {
        whole.to_string()
    } else {
        let float = n.as_f64().unwrap_or_default();
        serde_json::Number::from_f64(float).map_or_else(|| float.to_string(), |n| n.to_string())
    }
}

/// Epoch values at or above this are milliseconds; below, seconds.
const MILLIS_THRESHOLD: i64 = 100_000_000_000;

/// Unix seconds from epoch milliseconds or seconds (number or digit string) or an ISO-8601 date-time.
///
/// Milliseconds are floored. An ISO string without offset is read as UTC.
pub fn timestamp(value: &Value<'_>) -> Result<i64, Unreadable> {
    let epoch = match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|x| x.is_finite() && x.abs() < 9.0e18)
                    .map(|x| x.floor() as i64)
            })
            .ok_or(Unreadable::Invalid("a number out of range for a timestamp"))?,
        Value::Str(s) => {
            let t = trim(s);
            match t.parse::<i64>() {
                Ok(n) => n,
                Err(_) => match t.parse::<f64>() {
                    Ok(x) if x.is_finite() && x.abs() < 9.0e18 => x.floor() as i64,
                    _ => return iso8601(t),
                },
            }
        }
        _ => {
            return Err(Unreadable::WrongType(
                "epoch milliseconds or seconds, or an ISO-8601 date-time",
            ));
        }
    };
    // `unsigned_abs`: `abs` overflows (a panic in debug builds) on i64::MIN.
    Ok(if epoch.unsigned_abs() >= MILLIS_THRESHOLD.unsigned_abs() {
        epoch.div_euclid(1000)
    } else {
        epoch
    })
}

fn iso8601(text: &str) -> Result<i64, Unreadable> {
    let parse = |text: &str| {
        OffsetDateTime::parse(text, &Iso8601::DEFAULT)
            .or_else(|_| {
                PrimitiveDateTime::parse(text, &Iso8601::DEFAULT)
                    .map(|t| t.assume_offset(UtcOffset::UTC))
            })
            .map(OffsetDateTime::unix_timestamp)
            .ok()
    };
    parse(text)
        .or_else(|| parse(&iso_spelling(text)?))
        .ok_or(Unreadable::Invalid(
            "not epoch seconds/milliseconds nor an ISO-8601 date-time",
        ))
}

/// An RFC 3339 date-time as ISO-8601 spells it: RFC 3339 also allows a space or a lower-case `t` between date
/// and time (`2023-11-14 22:13:20Z`, as SQL and many loggers write it) and a lower-case `z`.
fn iso_spelling(text: &str) -> Option<String> {
    let (date, time) = text.split_at_checked(10)?;
    let time = time.strip_prefix([' ', 't', 'T'])?;
    let time = time
        .strip_suffix('z')
        .map_or(time.to_owned(), |t| format!("{t}Z"));
    Some(format!("{date}T{time}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use serde_json_borrow::OwnedValue;

    /// A borrowed tree of `json`, as the triggers parse events.
    fn v(json: serde_json::Value) -> OwnedValue {
        OwnedValue::from_string(json.to_string()).unwrap()
    }

    #[test]
    fn paths_walk_objects_and_arrays_and_treat_null_as_absent() {
        let event = OwnedValue::from_str(
            r#"{"a": {"b": [{"c": 1}, {"c": null}]}, "0": "zero", "d": 1, "d": 2}"#,
        )
        .unwrap();
        let get = |p: &str| {
            Path::parse(p)
                .unwrap()
                .get(event.get_value())
                .map(serde_json::Value::from)
        };
        assert_eq!(get("a.b.0.c"), Some(json!(1)));
        assert_eq!(
            get("d"),
            Some(json!(2)),
            "the last of duplicate keys counts"
        );
        // Escaped keys and strings are decoded (the tree owns those few strings).
        let escaped = OwnedValue::from_str(r#"{"e\u0078": "a\"b"}"#).unwrap();
        let ex = Path::parse("ex").unwrap();
        assert_eq!(
            text(ex.get(escaped.get_value()).unwrap()),
            Ok(Some("a\"b".into()))
        );
        assert_eq!(get("a.b.1.c"), None);
        assert_eq!(get("a.b.7.c"), None);
        assert_eq!(get("a.b.x"), None);
        assert_eq!(get("0"), Some(json!("zero")));
        assert_eq!(get("a.b.0.c.d"), None);
        assert!(Path::parse("a..b").is_err());
        assert!(Path::parse("").is_err());
    }

    #[test]
    fn trim_keys_and_digits_as_the_plain_ways_do() {
        for text in [
            "",
            " ",
            "a",
            " a ",
            "ab",
            "\u{b}a",
            "a\u{b}",
            "\u{85}a",
            "a\u{a0}",
            "é",
            " é",
            "é\t",
            "\u{3000}x",
            "x\u{2003}",
            "a b",
            "\u{1f}a",
            "a\u{7f}",
            "\u{feff}a",
        ] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
        }
        for (shortest, digits) in [
            ("1.2345678901234568e29", 17),
            ("1e21", 1),
            ("0.0012", 2),
            ("100.0", 1),
            ("-12.340", 4),
            ("0.0", 0),
            ("1.5E-7", 2),
        ] {
            assert_eq!(significant_digits(shortest), digits, "{shortest}");
        }
        assert!(
            same_key("ip", "ip")
                && !same_key("ip", "id")
                && !same_key("id", "idx")
                && same_key("", "")
        );
    }

    #[test]
    fn lookup_with_numbered_parents_gives_what_paths_give() {
        let event = OwnedValue::from_str(
            r#"{"id": 1, "user": {"email": "a", "phone": null}, "context": {"device": {"ip": "x"}, "app": 3}, "items": [{"id": "i"}]}"#,
        )
        .unwrap();
        let texts = [
            "user.email",
            "context.device.ip",
            "user.phone",
            "id",
            "context.app.name",
            "user.city",
            "context.device.ip",
            "items.0.id",
            "missing.a.b",
            "context.device.ip.more",
        ];
        let mut paths: Vec<Path> = texts.iter().map(|t| Path::parse(t).unwrap()).collect();
        let parents = number_parents(paths.iter_mut());
        assert_eq!(
            parents, 7,
            "'', user, context.device, context.app, items.0, missing.a, context.device.ip"
        );
        let mut lookup = Lookup::new(event.get_value(), parents);
        for path in &paths {
            let expected = path.get(event.get_value()).map(serde_json::Value::from);
            assert_eq!(
                lookup.get(path).map(serde_json::Value::from),
                expected,
                "{path}"
            );
        }
        // Unnumbered paths (or a lookup with no memory) are walked in full.
        let mut bare = Lookup::new(event.get_value(), 0);
        let email = Path::parse("user.email").unwrap();
        assert_eq!(
            bare.get(&email).map(serde_json::Value::from),
            Some(json!("a"))
        );
    }

    #[test]
    fn lone_surrogate_escapes_become_replacement_characters() {
        let repair = |text: &str| {
            replace_lone_surrogates(text.as_bytes()).map(|t| String::from_utf8(t).unwrap())
        };
        assert_eq!(repair(r#"["\ud800"]"#).as_deref(), Some(r#"["\ufffd"]"#));
        assert_eq!(repair(r#"["\uDC00x"]"#).as_deref(), Some(r#"["\ufffdx"]"#));
        // A backslash last (broken JSON, refused later anyway) ends the scan, keeping what was repaired.
        assert_eq!(repair(r#"["\ud800"]\"#).as_deref(), Some(r#"["\ufffd"]\"#));
        assert_eq!(
            repair(r#"["\ud83d\ud83d\ude00", "\ude00"]"#).as_deref(),
            Some(r#"["\ufffd\ud83d\ude00", "\ufffd"]"#)
        );
        // A pair, an escaped backslash before `ud800` (text, not an escape), other escapes: nothing to repair.
        for fine in [
            r#"["\ud83d\ude00"]"#,
            r#"["\\ud800"]"#,
            r#"["\"\n\u00e9"]"#,
            r#"["\ud8"]"#,
            "[]",
        ] {
            assert_eq!(repair(fine), None, "{fine}");
        }

        let text = r#"{"name": "Caf\u00e9 \ud83d", "ok": "\ud83d\ude00"}"#;
        let repaired = OnceCell::new();
        let value = parse_repairing(text, &repaired).unwrap();
        assert_eq!(value.get("name").as_str(), Some("Café \u{fffd}"));
        assert_eq!(value.get("ok").as_str(), Some("\u{1f600}"));
        assert!(repaired.get().is_some());
        let untouched = OnceCell::new();
        assert!(parse_repairing(r#"{"a": "\u00e9"}"#, &untouched).is_ok());
        assert!(untouched.get().is_none());
        // Other faults stay errors.
        assert!(parse_repairing(r#"{"a": "\ud800" oops}"#, &OnceCell::new()).is_err());
        assert!(parse_repairing("{oops", &OnceCell::new()).is_err());
    }

    #[test]
    fn text_accepts_strings_and_numbers() {
        assert_eq!(text(v(json!("  x ")).get_value()), Ok(Some("x".into())));
        assert_eq!(text(v(json!("   ")).get_value()), Ok(None));
        assert_eq!(text(v(json!(12345)).get_value()), Ok(Some("12345".into())));
        assert_eq!(text(v(json!(1.5)).get_value()), Ok(Some("1.5".into())));
        assert!(text(v(json!({"a": 1})).get_value()).is_err());
        // Whole floats read as the integer they are; ids, phones, ZIP codes must not gain a digit.
        for (json, expected) in [
            ("33612345678.0", "33612345678"),
            ("75001.00", "75001"),
            ("-3.0", "-3"),
            ("1e3", "1000"),
            ("18446744073709551615", "18446744073709551615"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("4503599627370495.0", "4503599627370495"),
        ] {
            let value = OwnedValue::from_string(json.to_owned()).unwrap();
            assert_eq!(text(value.get_value()), Ok(Some(expected.into())), "{json}");
        }
        // Past u64 (or a float of 2^52 and more) digits are lost: refused, not rounded.
        for json in [
            "123456789012345678901",
            "-9223372036854775809",
            "4503599627370496.0",
            "4503599627370496.5",
            "9007199254740993.0",
            "1e300",
        ] {
            let value = OwnedValue::from_string(json.to_owned()).unwrap();
            assert_eq!(
                text(value.get_value()),
                Err(Unreadable::Invalid(
                    "a number too large to read exactly (send it as a string)"
                )),
                "{json}"
            );
        }
        assert!(text(v(json!(true)).get_value()).is_err());
    }

    #[test]
    fn booleans_accept_equivalent_strings_and_numbers() {
        for yes in [
            json!(true),
            json!("TRUE"),
            json!(" yes "),
            json!("On"),
            json!("1"),
            json!(1),
        ] {
            assert_eq!(boolean(v(yes.clone()).get_value()), Ok(true), "{yes}");
        }
        for no in [
            json!(false),
            json!("false"),
            json!("NO"),
            json!("off"),
            json!("0"),
            json!(0),
        ] {
            assert_eq!(boolean(v(no.clone()).get_value()), Ok(false), "{no}");
        }
        assert!(boolean(v(json!("maybe")).get_value()).is_err());
        assert!(boolean(v(json!(2)).get_value()).is_err());
        assert!(boolean(v(json!([true])).get_value()).is_err());
    }

    #[test]
    fn integers_accept_digit_strings_and_whole_floats() {
        assert_eq!(integer(v(json!(3)).get_value()), Ok(3));
        assert_eq!(integer(v(json!("3")).get_value()), Ok(3));
        assert_eq!(integer(v(json!(2.0)).get_value()), Ok(2));
        assert_eq!(integer(v(json!(" 2.0 ")).get_value()), Ok(2));
        assert!(integer(v(json!(2.5)).get_value()).is_err());
        assert!(integer(v(json!("2.5")).get_value()).is_err());
        assert!(integer(v(json!("1e300")).get_value()).is_err());
        assert!(integer(v(json!("NaN")).get_value()).is_err());
        assert!(integer(v(json!("two")).get_value()).is_err());
        // From 2^52 a float has no fraction bits: `.5` is already lost, so it can't count as whole.
        assert!(integer(v(json!("4503599627370496.5")).get_value()).is_err());
        assert_eq!(
            integer(v(json!("4503599627370495.0")).get_value()),
            Ok(4_503_599_627_370_495)
        );
        assert!(integer(v(json!(1e300)).get_value()).is_err());
    }

    #[test]
    fn decimals_are_kept_as_given() {
        assert_eq!(decimal(v(json!(19.9)).get_value()), Ok("19.9".into()));
        assert_eq!(decimal(v(json!(22.53)).get_value()), Ok("22.53".into()));
        assert_eq!(decimal(v(json!(0)).get_value()), Ok("0".into()));
        assert_eq!(decimal(v(json!("19.90")).get_value()), Ok("19.90".into()));
        assert_eq!(decimal(v(json!(" -5 ")).get_value()), Ok("-5".into()));
        // Exponents written out: a decimal string has digits and a point only.
        assert_eq!(
            decimal(v(json!(1e21)).get_value()),
            Ok("1000000000000000000000".into())
        );
        assert_eq!(
            decimal(v(json!(1.5e-7)).get_value()),
            Ok("0.00000015".into())
        );
        // A number with more digits than a float keeps is refused, not sent with other digits.
        for lossy in [
            "123456789012345678901234567890",
            "0.12345678901234567",
            "1234567890.1234567",
        ] {
            let parsed = OwnedValue::from_str(lossy).unwrap();
            let err = decimal(parsed.get_value()).unwrap_err();
            assert!(err.to_string().contains("send it as a string"), "{lossy}");
        }
        assert_eq!(
            decimal(OwnedValue::from_str("123456789012345").unwrap().get_value()),
            Ok("123456789012345".into())
        );
        assert_eq!(
            decimal(
                OwnedValue::from_str("1234567890.12345")
                    .unwrap()
                    .get_value()
            ),
            Ok("1234567890.12345".into())
        );
        assert_eq!(
            decimal(v(json!("123456789012345678901234567890.5")).get_value()),
            Ok("123456789012345678901234567890.5".into())
        );
        for bad in [
            json!("19,90"),
            json!("abc"),
            json!("1."),
            json!(".5"),
            json!("--1"),
            json!([1]),
        ] {
            assert!(decimal(v(bad.clone()).get_value()).is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_in_all_three_forms() {
        assert_eq!(
            timestamp(v(json!(1673571636026_i64)).get_value()),
            Ok(1673571636)
        );
        assert_eq!(
            timestamp(v(json!("1639044446636")).get_value()),
            Ok(1639044446)
        );
        assert_eq!(timestamp(v(json!(1673571636)).get_value()), Ok(1673571636));
        assert_eq!(
            timestamp(v(json!("1673571636")).get_value()),
            Ok(1673571636)
        );
        assert_eq!(
            timestamp(v(json!(1673571636.9)).get_value()),
            Ok(1673571636)
        );
        // A string of the same number reads the same as the number.
        assert_eq!(
            timestamp(v(json!("1673571636026.5")).get_value()),
            Ok(1673571636)
        );
        assert!(timestamp(v(json!("inf")).get_value()).is_err());
        // 2025-04-18T05:53:39Z
        assert_eq!(
            timestamp(v(json!("2025-04-18T07:53:39.974+02:00")).get_value()),
            Ok(1744955619)
        );
        assert_eq!(
            timestamp(v(json!("2025-04-18T05:53:39Z")).get_value()),
            Ok(1744955619)
        );
        assert_eq!(
            timestamp(v(json!("2025-04-18T05:53:39")).get_value()),
            Ok(1744955619)
        );
        for rfc3339 in [
            "2025-04-18 05:53:39Z",
            "2025-04-18t05:53:39z",
            "2025-04-18 07:53:39+02:00",
            "2025-04-18 05:53:39",
        ] {
            assert_eq!(
                timestamp(v(json!(rfc3339)).get_value()),
                Ok(1744955619),
                "{rfc3339}"
            );
        }
        assert!(timestamp(v(json!("2025-04-18  05:53:39Z")).get_value()).is_err());
        assert!(timestamp(v(json!("yesterday")).get_value()).is_err());
        assert!(timestamp(v(json!({"t": 1})).get_value()).is_err());
        assert!(timestamp(v(json!(1e300)).get_value()).is_err());
        // i64::MIN has no absolute value in i64: still read as (very old) milliseconds, without overflowing.
        assert_eq!(
            timestamp(v(json!(i64::MIN)).get_value()),
            Ok(i64::MIN / 1000 - 1)
        );
        assert_eq!(
            timestamp(v(json!(i64::MIN.to_string())).get_value()),
            Ok(i64::MIN / 1000 - 1)
        );
    }
}
