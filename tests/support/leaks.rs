//! What must never leak, and the lines every invocation must log.
//!
//! - Request bodies: every hashed `user_data` field is an array of 64 lower-case hex digests, and no personal
//!   data of the fixtures (`events/*.json`) appears in clear anywhere else in the body.
//! - Log lines (the function's stdout and stderr): no token, no clear personal data, no IP address of the
//!   input events (`client_ip_address` is sent to Pinterest as it is, but never logged), nothing shaped like
//!   an e-mail address or a public IPv4 address; and one summary line plus one EMF document per invocation.
//!
//! Also what the Lambda event fixtures (`events/*.json`) hold, which these checks and the tests rely on.

use serde_json::Value;

/// The `user_data` fields Pinterest wants hashed: the product's own list (`em`, `ph`, ... `hashed_maids`).
pub static HASHED_FIELDS: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
    pinterest_destination::mapping::fields::hashed_user_data_fields().collect()
});

/// Clear-text personal data of the fixtures, matched case-insensitively as substrings: e-mails (as given and
/// normalised), the phone number in its forms, names, birth date, cities, state, customer ids, advertising id.
pub const FIXTURE_PII: &[&str] = &[
    "toto.dupont@domain.fr",
    "jane.doe@example.com",
    "toto@domain.fr",
    "new.customer@example.com",
    "+33 6 12 34 56 78",
    "33612345678",
    "0612345678",
    "Dupont",
    "Toto",
    "Jane",
    "1990-02-01",
    "19900201",
    "Paris",
    "Menlo Park",
    "menlopark",
    "California",
    "CUST-98765",
    "CUST-99001",
    "38400000-8cf0-11bd-b23e-10b96e40000d",
];

/// Short personal values of the fixtures, matched as whole string values only (as substrings they could
/// occur by chance in a timestamp or a product id): zip codes, a customer id, a gender.
pub const FIXTURE_PII_VALUES: &[&str] = &["75011", "94025", "94025-1234", "12345", "male"];

/// The devices' IP addresses in the fixtures (sent raw to Pinterest, never logged), and the API caller's.
pub const FIXTURE_IPS: &[&str] = &[
    "203.0.113.45",
    "203.0.113.77",
    "198.51.100.23",
    "198.51.100.80",
    "198.51.100.150",
    "192.0.2.10",
];

/// The API key of `events/apigw-rest.json`.
pub const FIXTURE_API_KEY: &str = "q8X2vR7mZp4NcT1yLw6Ke9BhUa3Sd5Fg0JoPiYxE";

pub fn is_sha256_hex(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks one request body `{"data": [...]}`: hashed fields are arrays of digests, and no clear personal data
/// of the fixtures is anywhere else. Returns the problems (empty when clean).
pub fn body_problems(body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(events) = body["data"].as_array() else {
        return vec![format!("no data array in {body}")];
    };
    for (index, event) in events.iter().enumerate() {
        let user_data = &event["user_data"];
        for field in HASHED_FIELDS.iter() {
            let Some(value) = user_data.get(field) else {
                continue;
            };
            let digests = value.as_array().map(Vec::as_slice).unwrap_or_default();
            if digests.is_empty()
                || !digests
                    .iter()
                    .all(|d| d.as_str().is_some_and(is_sha256_hex))
            {
                problems.push(format!(
                    "event {index}: user_data.{field} is not an array of 64-hex digests: {value}"
                ));
            }
        }
        let mut strings = Vec::new();
        clear_strings(event, "", &mut strings);
        for (path, text) in strings {
            if let Some(needle) = pii_in(&text) {
                problems.push(format!(
                    "event {index}: {path} holds clear personal data ({needle})"
                ));
            }
            if FIXTURE_PII_VALUES
                .iter()
                .any(|v| v.eq_ignore_ascii_case(text.trim()))
            {
                problems.push(format!(
                    "event {index}: {path} holds a clear personal value ({text})"
                ));
            }
        }
    }
    problems
}

/// Every string of `value` with its path, except the digests of hashed fields.
fn clear_strings(value: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(text) => out.push((path.to_owned(), text.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                clear_strings(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let hashed = path == ".user_data" && HASHED_FIELDS.contains(&key.as_str());
                if !hashed {
                    clear_strings(item, &format!("{path}.{key}"), out);
                }
            }
        }
        _ => {}
    }
}

/// The first fixture PII text found in `text`, case-insensitively.
fn pii_in(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    FIXTURE_PII
        .iter()
        .copied()
        .find(|needle| lower.contains(&needle.to_lowercase()))
}

/// Checks log lines: no secret (tokens and the like), no fixture PII, no input IP, nothing that looks like an
/// e-mail address or a non-loopback IPv4 address. Returns the offending lines with the reason.
pub fn log_problems(lines: &[String], secrets: &[&str]) -> Vec<String> {
    let mut problems = Vec::new();
    for line in lines {
        let mut why = Vec::new();
        for secret in secrets.iter().chain([&FIXTURE_API_KEY]) {
            if !secret.is_empty() && line.contains(secret) {
                why.push(format!("secret {secret:?}"));
            }
        }
        if let Some(needle) = pii_in(line) {
            why.push(format!("personal data {needle:?}"));
        }
        for ip in FIXTURE_IPS {
            if line.contains(ip) {
                why.push(format!("input IP {ip}"));
            }
        }
        for email in email_like(line) {
            why.push(format!("e-mail-like {email:?}"));
        }
        for ip in ipv4_like(line) {
            if ip != "127.0.0.1" && ip != "0.0.0.0" {
                why.push(format!("IPv4-like {ip}"));
            }
        }
        if !why.is_empty() {
            problems.push(format!("{}: {line}", why.join(", ")));
        }
    }
    problems
}

fn is_email_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "._%+-".contains(c)
}

/// Substrings shaped like `local@domain.tld`.
pub fn email_like(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut found = Vec::new();
    for (at, _) in chars.iter().enumerate().filter(|(_, c)| **c == '@') {
        let start = (0..at)
            .rev()
            .take_while(|&i| is_email_char(chars[i]))
            .last();
        let end = (at + 1..chars.len())
            .take_while(|&i| is_email_char(chars[i]))
            .last();
        if let (Some(start), Some(end)) = (start, end) {
            let domain: String = chars[at + 1..=end].iter().collect();
            let domain = domain.trim_end_matches('.');
            let tld_ok = domain
                .rsplit_once('.')
                .is_some_and(|(host, tld)| !host.is_empty() && tld.len() >= 2);
            if tld_ok {
                found.push(chars[start..=end].iter().collect());
            }
        }
    }
    found
}

/// Dotted quads of numbers 0..=255 not part of a longer dotted run.
pub fn ipv4_like(line: &str) -> Vec<String> {
    let mut found = Vec::new();
    for run in line.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
        let parts: Vec<&str> = run.trim_matches('.').split('.').collect();
        if parts.len() == 4
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u16>().is_ok_and(|n| n <= 255))
        {
            found.push(parts.join("."));
        }
    }
    found
}

/// The log lines that are JSON objects.
pub fn json_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line.trim()).ok())
        .filter(Value::is_object)
        .collect()
}

/// Every "invocation summary" line (`AWS_LAMBDA_LOG_FORMAT=JSON`: its fields are at the top level).
pub fn summaries(lines: &[String]) -> Vec<Value> {
    json_lines(lines)
        .into_iter()
        .filter(|l| l["message"] == "invocation summary")
        .collect()
}

/// Every CloudWatch Embedded Metric Format document (a line holding `_aws`).
pub fn emf_documents(lines: &[String]) -> Vec<Value> {
    json_lines(lines)
        .into_iter()
        .filter(|l| l.get("_aws").is_some())
        .collect()
}

/// `events/<name>` as JSON.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `events/sqs.json`: five records of a standard queue.
pub mod sqs {
    /// A purchase with full user data: delivered.
    pub const PURCHASE: &str = "4ba71ab7-ac05-44a5-acc6-be1805fdf179";
    /// An array of a page view and an add-to-cart: both delivered.
    pub const ARRAY: &str = "9bd7f38b-3dda-46b5-adb6-ce2f0d8eb596";
    // fde2dfc7-0998-4e97-9935-9b3699408f87, `newsletter_optin`, has no mapping: skipped, so acknowledged.
    /// A purchase without an event id: rejected.
    pub const REJECTED: &str = "ad944f0c-eb27-4e42-b3aa-eae08db4a13e";
    /// `not json {`: unreadable.
    pub const UNREADABLE: &str = "93e8e040-ce56-4fcf-8f33-c204519fdaf4";
    /// The event ids sent, in order (the purchase, then the array's two events).
    pub const SENT: [&str; 3] = [
        "9b2f3c1e-5d4a-4f7b-8e6c-1a2b3c4d5e6f",
        "3f1d8a52-0c7e-4b6a-9d21-7e5f4c3b2a10",
        "c47e9a10-2b3d-4e5f-a6b7-c8d9e0f1a2b3",
    ];
}

/// `events/sqs-fifo.json`: four records of a FIFO queue, groups `customer-A` and `customer-B`.
pub mod fifo {
    /// Group A, first: a purchase without an event id, rejected.
    pub const A1_REJECTED: &str = "1dabe1ee-6377-4c09-ba64-bf6e6dce9d53";
    /// Group B, first: a good page view.
    pub const B1: &str = "9c98f838-4db7-4034-b2a8-959644567886";
    /// Group A, second: a good add-to-cart, failed by the FIFO rule.
    pub const A2: &str = "c48858b4-29c2-4111-99d4-333bea4ed8bb";
    /// Group B, second: a good search.
    pub const B2: &str = "86a50420-37da-4585-bba7-8735e760d70a";
    /// The event ids sent, in order (B1, A2, B2).
    pub const SENT: [&str; 3] = [
        "3f1d8a52-0c7e-4b6a-9d21-7e5f4c3b2a10",
        "8f6e05dd-6df0-476c-9c56-5d277fac7cea",
        "202611290000000001",
    ];
}

/// The event ids of `events/apigw-rest.json` (a sign-up and a search) and `events/apigw-http.json` (an app
/// add-to-cart, base64-encoded).
pub const REST_EVENT_IDS: [&str; 2] =
    ["e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", "202611290000000001"];
pub const HTTP_EVENT_ID: &str = "8f6e05dd-6df0-476c-9c56-5d277fac7cea";
