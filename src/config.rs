//! Settings from the environment and the smart-mapping document, checked once at start-up.

use crate::event;
use crate::mapping::Mapper;
use crate::mapping::consent::ConsentGate;
use crate::mapping::document;
use crate::mapping::names::{EventNames, EventTable};
use std::time::Duration;

/// A setting that is missing or malformed; the message names the variable (or mapping key) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub reason: String,
}

fn invalid(name: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        name: name.into(),
        reason: reason.into(),
    }
}

/// Where the access token comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSetting {
    /// Name or ARN of a Secrets Manager secret (`PINTEREST_TOKEN_SECRET_ID`).
    SecretId(String),
    /// The token itself, for local runs (`PINTEREST_ACCESS_TOKEN`).
    Static(String),
    /// Neither: the CLI's dry run.
    None,
}

impl std::fmt::Debug for TokenSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SecretId(id) => write!(f, "SecretId({id})"),
            Self::Static(_) => f.write_str("Static(**REDACTED**)"),
            Self::None => f.write_str("None"),
        }
    }
}

/// Every setting of the function.
#[derive(Debug, Clone)]
pub struct Settings {
    pub ad_account_id: String,
    pub token: TokenSetting,
    pub test_mode: bool,
    pub api_base_url: String,
    pub token_ttl: Duration,
    pub max_concurrency: usize,
    /// Calls to Pinterest one instance may make in any minute (`PINTEREST_CALLS_PER_MINUTE`).
    pub calls_per_minute: u32,
    /// Largest API Gateway request body accepted (`PINTEREST_MAX_BODY_BYTES`).
    pub max_api_body_bytes: usize,
    pub metrics_namespace: String,
    /// The queue that receives the rejected events of SQS batches (`PINTEREST_REJECTED_QUEUE_URL`), if any.
    pub rejected_queue_url: Option<String>,
    pub mapper: Mapper,
}

/// What the function and the CLI say when `PINTEREST_TEST_MODE` is on.
pub const TEST_MODE_NOTICE: &str = "PINTEREST_TEST_MODE is on: every request carries ?test=true, so Pinterest \
     checks the events but does not record them";

/// Default Pinterest API base URL.
pub const DEFAULT_API_BASE_URL: &str = "https://api.pinterest.com/v5";
/// Default CloudWatch namespace of the metrics.
pub const DEFAULT_METRICS_NAMESPACE: &str = "PinterestDestination";
/// Lambda's limit on a synchronous invocation's event (6 MB): no API Gateway body can be larger, so neither
/// can `PINTEREST_MAX_BODY_BYTES`.
const LAMBDA_PAYLOAD_LIMIT: usize = 6_291_456;

/// Reads a variable, treating a blank value as unset.
fn var(env: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    env: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(raw) = var(env, name) else {
        return Ok(default);
    };
    match raw.parse::<T>() {
        Ok(n) if n >= min && n <= max => Ok(n),
        _ => Err(invalid(
            name,
            format!("expected a whole number from {min} to {max}"),
        )),
    }
}

impl Settings {
    /// In Lambda a token source is required: without one (the CLI's dry run) events would be mapped and
    /// counted as delivered without being sent, and SQS would delete them.
    pub fn require_token(self) -> Result<Self, ConfigError> {
        if self.token == TokenSetting::None {
            return Err(invalid(
                "PINTEREST_TOKEN_SECRET_ID",
                "required in Lambda (name or ARN of the Secrets Manager secret holding the access token); \
                 without it no event could be sent",
            ));
        }
        Ok(self)
    }

    /// All settings; the advertiser id is required, the token source is optional here (the CLI's dry run) and
    /// required in Lambda ([`Settings::require_token`]).
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let ad_account_id = var(&env, "PINTEREST_AD_ACCOUNT_ID").ok_or_else(|| {
            invalid(
                "PINTEREST_AD_ACCOUNT_ID",
                "required (the Pinterest advertiser id)",
            )
        })?;
        if ad_account_id.len() > 18 || !ad_account_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "PINTEREST_AD_ACCOUNT_ID",
                "expected digits only, at most 18",
            ));
        }
        let token = match (
            var(&env, "PINTEREST_TOKEN_SECRET_ID"),
            var(&env, "PINTEREST_ACCESS_TOKEN"),
        ) {
            (Some(id), _) => TokenSetting::SecretId(id),
            (None, Some(token)) if crate::token::is_bearer_token(&token) => {
                TokenSetting::Static(token)
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "PINTEREST_ACCESS_TOKEN",
                    "not a bearer token (only visible ASCII characters, no spaces)",
                ));
            }
            (None, None) => TokenSetting::None,
        };
        let test_mode = match var(&env, "PINTEREST_TEST_MODE") {
            None => false,
            Some(raw) => event::boolean(&event::Value::from(raw))
                .map_err(|why| invalid("PINTEREST_TEST_MODE", why.to_string()))?,
        };
        Ok(Self {
            ad_account_id,
            token,
            test_mode,
            api_base_url: api_base_url(var(&env, "PINTEREST_API_BASE_URL"))?,
            token_ttl: Duration::from_secs(number(
                &env,
                "PINTEREST_TOKEN_TTL_SECS",
                300,
                0,
                86_400,
            )?),
            max_concurrency: number(&env, "PINTEREST_MAX_CONCURRENCY", 4, 1, 64)?,
            calls_per_minute: number(&env, "PINTEREST_CALLS_PER_MINUTE", 5000, 1, 1_000_000)?,
            max_api_body_bytes: number(
                &env,
                "PINTEREST_MAX_BODY_BYTES",
                1_048_576,
                1_024,
                LAMBDA_PAYLOAD_LIMIT,
            )?,
            metrics_namespace: metrics_namespace(var(&env, "PINTEREST_METRICS_NAMESPACE"))?,
            rejected_queue_url: var(&env, "PINTEREST_REJECTED_QUEUE_URL")
                .map(rejected_queue_url)
                .transpose()?,
            mapper: mapper_from_env(&env)?,
        })
    }
}

/// `https` only, except a loopback `http` URL (local fakes in tests); no credentials, query or fragment; no
/// trailing slash.
fn api_base_url(raw: Option<String>) -> Result<String, ConfigError> {
    const NAME: &str = "PINTEREST_API_BASE_URL";
    let Some(raw) = raw else {
        return Ok(DEFAULT_API_BASE_URL.to_string());
    };
    // The events path and `?test=true` are appended to the text: a query or fragment would swallow them.
    checked_url(NAME, &raw)?;
    Ok(raw.trim_end_matches('/').to_string())
}

/// A URL that is `https`, or `http` on a loopback address (local fakes in tests), without credentials, query
/// or fragment.
fn checked_url(name: &str, raw: &str) -> Result<url::Url, ConfigError> {
    let url = url::Url::parse(raw).map_err(|e| invalid(name, format!("not a URL ({e})")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => {
            return Err(invalid(
                name,
                "must be https (plain http is accepted for loopback addresses only)",
            ));
        }
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(name, "must not have a query or fragment"));
    }
    // Credentials would be sent to every proxy on the way and shown by the CLI's dry run; never quoted here.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            name,
            "must not contain a user name or password (credentials before an '@')",
        ));
    }
    Ok(url)
}

/// An SQS queue URL, `https://sqs.<region>.amazonaws.com/<12-digit account>/<queue name>` (any host passes the
/// URL rules of [`checked_url`]); a FIFO queue is refused, as rejected events carry no message group.
fn rejected_queue_url(raw: String) -> Result<String, ConfigError> {
    const NAME: &str = "PINTEREST_REJECTED_QUEUE_URL";
    let url = checked_url(NAME, &raw)?;
    let segments: Vec<&str> = url
        .path()
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/')
        .collect();
    let [account, queue] = segments.as_slice() else {
        return Err(invalid(
            NAME,
            "expected an SQS queue URL: https://sqs.<region>.amazonaws.com/<account id>/<queue name>",
        ));
    };
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            NAME,
            "expected an SQS queue URL whose path starts with the 12-digit account id",
        ));
    }
    if queue.ends_with(".fifo") {
        return Err(invalid(
            NAME,
            "a FIFO queue is not supported: use a standard queue for rejected events",
        ));
    }
    if queue.is_empty()
        || queue.len() > 80
        || !queue
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            NAME,
            "expected an SQS queue name of 1 to 80 letters, digits, - and _ after the account id",
        ));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

/// CloudWatch's rule: 1 to 255 of `0-9 A-Z a-z . - _ / # :` and space, not starting with `:`, and not in the
/// `AWS/` namespaces, which are reserved for AWS services (metrics put there are dropped).
fn metrics_namespace(raw: Option<String>) -> Result<String, ConfigError> {
    const NAME: &str = "PINTEREST_METRICS_NAMESPACE";
    let Some(namespace) = raw else {
        return Ok(DEFAULT_METRICS_NAMESPACE.to_string());
    };
    if namespace.len() > 255
        || !namespace
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_/#: ".contains(&b))
    {
        return Err(invalid(
            NAME,
            "expected 1 to 255 characters among letters, digits, space and . - _ / # : (CloudWatch's rule)",
        ));
    }
    if namespace.starts_with(':') {
        return Err(invalid(NAME, "must not start with ':' (CloudWatch's rule)"));
    }
    if namespace.starts_with("AWS/") {
        return Err(invalid(
            NAME,
            "must not start with AWS/ (reserved for AWS services: CloudWatch would drop the metrics)",
        ));
    }
    Ok(namespace)
}

/// A cookie name is an RFC 7230 token (RFC 6265): visible ASCII except the separators.
fn is_token(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b))
}

/// The mapping settings alone (what the CLI's `map` needs: no advertiser id, no token).
pub fn mapper_from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Mapper, ConfigError> {
    let mut mapper = Mapper::default();
    if let Some(table) = var(env, "PINTEREST_EVENT_TABLE") {
        let table = EventTable::parse(&table).ok_or_else(|| {
            invalid(
                "PINTEREST_EVENT_TABLE",
                "expected classic (the default) or current",
            )
        })?;
        mapper.names = EventNames::new(table);
    }
    if let Some(categories) = var(env, "PINTEREST_CONSENT_CATEGORIES") {
        mapper.consent = ConsentGate::parse(&categories)
            .map_err(|why| invalid("PINTEREST_CONSENT_CATEGORIES", why))?;
    }
    if let Some(cookie) = var(env, "PINTEREST_CLICK_ID_COOKIE") {
        if !is_token(&cookie) {
            return Err(invalid(
                "PINTEREST_CLICK_ID_COOKIE",
                "not a cookie name: only visible ASCII token characters (letters, digits and ! # $ % & ' * + - . ^ _ ` | ~); \
                 no space, control or non-ASCII character, none of ( ) < > @ , ; : \\ \" / [ ] ? = { }",
            ));
        }
        mapper.click_id_cookie = cookie;
    }
    mapper.max_event_age_secs = number(
        env,
        "PINTEREST_MAX_EVENT_AGE_SECS",
        mapper.max_event_age_secs,
        60,
        315_360_000,
    )?;
    let document = match (
        var(env, "PINTEREST_MAPPING"),
        var(env, "PINTEREST_MAPPING_FILE"),
    ) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "PINTEREST_MAPPING",
                "set either PINTEREST_MAPPING or PINTEREST_MAPPING_FILE, not both",
            ));
        }
        (Some(inline), None) => Some(("PINTEREST_MAPPING", inline)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid("PINTEREST_MAPPING_FILE", format!("cannot read {path}: {e}"))
            })?;
            Some(("PINTEREST_MAPPING_FILE", text))
        }
        (None, None) => None,
    };
    if let Some((name, text)) = document {
        document::apply(&mut mapper, &text)
            .map_err(|e| invalid(format!("{name}: {}", e.key), e.reason))?;
    }
    Ok(mapper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_apply_when_only_the_advertiser_id_is_set() {
        let s = Settings::from_env(env(&[("PINTEREST_AD_ACCOUNT_ID", "549755885175")])).unwrap();
        assert_eq!(s.ad_account_id, "549755885175");
        assert_eq!(s.token, TokenSetting::None);
        assert!(!s.test_mode);
        assert_eq!(s.api_base_url, DEFAULT_API_BASE_URL);
        assert_eq!(s.token_ttl, Duration::from_secs(300));
        assert_eq!(s.max_concurrency, 4);
        assert_eq!(s.calls_per_minute, 5000);
        assert_eq!(s.max_api_body_bytes, 1_048_576);
        assert_eq!(s.mapper.click_id_cookie, "_epik");
        assert_eq!(s.mapper.max_event_age_secs, 604_800);
    }

    #[test]
    fn a_static_token_must_be_a_bearer_token() {
        let err = Settings::from_env(env(&[
            ("PINTEREST_AD_ACCOUNT_ID", "1"),
            ("PINTEREST_ACCESS_TOKEN", "pina a\tb"),
        ]))
        .unwrap_err();
        assert_eq!(err.name, "PINTEREST_ACCESS_TOKEN");
        assert!(!err.reason.contains("pina"), "{err}");
    }

    #[test]
    fn lambda_needs_a_token_source() {
        let id = ("PINTEREST_AD_ACCOUNT_ID", "1");
        let err = Settings::from_env(env(&[id]))
            .and_then(Settings::require_token)
            .unwrap_err();
        assert_eq!(err.name, "PINTEREST_TOKEN_SECRET_ID");
        assert!(err.reason.contains("no event could be sent"), "{err}");
        for token in [
            ("PINTEREST_TOKEN_SECRET_ID", "pinterest/token"),
            ("PINTEREST_ACCESS_TOKEN", "pina_x"),
        ] {
            assert!(
                Settings::from_env(env(&[id, token]))
                    .and_then(Settings::require_token)
                    .is_ok(),
                "{token:?}"
            );
        }
    }

    #[test]
    fn advertiser_id_must_be_up_to_18_digits() {
        for bad in ["", "12a", "1234567890123456789", "-1"] {
            let err = Settings::from_env(env(&[("PINTEREST_AD_ACCOUNT_ID", bad)])).unwrap_err();
            assert_eq!(err.name, "PINTEREST_AD_ACCOUNT_ID", "{bad}");
        }
        assert!(
            Settings::from_env(env(&[("PINTEREST_AD_ACCOUNT_ID", "123456789012345678")])).is_ok()
        );
    }

    #[test]
    fn secret_id_wins_over_a_local_token_and_the_token_never_prints() {
        let s = Settings::from_env(env(&[
            ("PINTEREST_AD_ACCOUNT_ID", "1"),
            ("PINTEREST_TOKEN_SECRET_ID", "pinterest/creds"),
            ("PINTEREST_ACCESS_TOKEN", "pina_SECRET"),
        ]))
        .unwrap();
        assert_eq!(s.token, TokenSetting::SecretId("pinterest/creds".into()));
        let s = Settings::from_env(env(&[
            ("PINTEREST_AD_ACCOUNT_ID", "1"),
            ("PINTEREST_ACCESS_TOKEN", "pina_SECRET"),
        ]))
        .unwrap();
        assert!(!format!("{s:?}").contains("pina_SECRET"));
    }

    #[test]
    fn malformed_settings_name_the_variable() {
        let cases = [
            ("PINTEREST_TEST_MODE", "maybe"),
            ("PINTEREST_MAX_CONCURRENCY", "0"),
            ("PINTEREST_MAX_CONCURRENCY", "many"),
            ("PINTEREST_CALLS_PER_MINUTE", "0"),
            ("PINTEREST_CALLS_PER_MINUTE", "2.5"),
            ("PINTEREST_TOKEN_TTL_SECS", "-5"),
            ("PINTEREST_MAX_BODY_BYTES", "12"),
            // Over Lambda's 6 MB payload limit: such a body could never arrive.
            ("PINTEREST_MAX_BODY_BYTES", "6291457"),
            ("PINTEREST_MAX_EVENT_AGE_SECS", "x"),
            ("PINTEREST_API_BASE_URL", "http://api.pinterest.com/v5"),
            ("PINTEREST_API_BASE_URL", "not a url"),
            ("PINTEREST_CLICK_ID_COOKIE", "a=b"),
        ];
        for (name, value) in cases {
            let err = Settings::from_env(env(&[("PINTEREST_AD_ACCOUNT_ID", "1"), (name, value)]))
                .unwrap_err();
            assert_eq!(err.name, name, "{name}={value}");
        }
    }

    #[test]
    fn rejected_queue_url_must_be_a_standard_sqs_queue_url() {
        const NAME: &str = "PINTEREST_REJECTED_QUEUE_URL";
        let default = Settings::from_env(env(&[("PINTEREST_AD_ACCOUNT_ID", "1")])).unwrap();
        assert_eq!(default.rejected_queue_url, None);
        assert_eq!(one_setting(NAME, " ").unwrap().rejected_queue_url, None);
        for good in [
            "https://sqs.eu-west-1.amazonaws.com/123456789012/pinterest-rejected",
            "http://127.0.0.1:5000/123456789012/rejected_events",
            "http://localhost:5000/123456789012/r/",
        ] {
            let s = one_setting(NAME, good).unwrap();
            assert_eq!(
                s.rejected_queue_url.as_deref(),
                Some(good.trim_end_matches('/'))
            );
        }
        for (bad, why) in [
            ("pinterest-rejected", "not a URL"),
            ("http://sqs.eu-west-1.amazonaws.com/123456789012/q", "https"),
            ("https://sqs.eu-west-1.amazonaws.com/q", "SQS queue URL"),
            ("https://sqs.eu-west-1.amazonaws.com/1234/q", "12-digit"),
            (
                "https://sqs.eu-west-1.amazonaws.com/123456789012/a/b",
                "SQS queue URL",
            ),
            (
                "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo",
                "FIFO",
            ),
            (
                "https://sqs.eu-west-1.amazonaws.com/123456789012/q%20x",
                "queue name",
            ),
            (
                "https://sqs.eu-west-1.amazonaws.com/123456789012/q?x=1",
                "query",
            ),
            (
                "https://k:s@sqs.eu-west-1.amazonaws.com/123456789012/q",
                "password",
            ),
        ] {
            let err = one_setting(NAME, bad).map(|_| ()).unwrap_err();
            assert_eq!(err.name, NAME, "{bad}");
            assert!(err.reason.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn test_mode_and_loopback_base_url() {
        let s = Settings::from_env(env(&[
            ("PINTEREST_AD_ACCOUNT_ID", "1"),
            ("PINTEREST_TEST_MODE", "Yes"),
            ("PINTEREST_API_BASE_URL", "http://127.0.0.1:8080/v5/"),
        ]))
        .unwrap();
        assert!(s.test_mode);
        assert_eq!(s.api_base_url, "http://127.0.0.1:8080/v5");
    }

    fn one_setting(name: &str, value: &str) -> Result<Settings, ConfigError> {
        Settings::from_env(env(&[("PINTEREST_AD_ACCOUNT_ID", "1"), (name, value)]))
    }

    #[test]
    fn click_id_cookie_must_be_an_rfc_token() {
        const NAME: &str = "PINTEREST_CLICK_ID_COOKIE";
        for bad in [
            "a\"b", "é", "a\tb", "a b", "a=b", "a;b", "a,b", "(a)", "<a>", "a@b", "a:b", "a\\b",
            "a/b", "[a]", "a?b", "{a}", "a\u{7f}", "a\u{1}",
        ] {
            let err = one_setting(NAME, bad).map(|_| ()).unwrap_err();
            assert_eq!(err.name, NAME, "{bad:?}");
            assert!(err.reason.contains("token characters"), "{err}");
        }
        for good in ["_epik", "_pin_click", "a!#$%&'*+-.^_`|~Z9", " _pc "] {
            let s = one_setting(NAME, good).unwrap();
            assert_eq!(s.mapper.click_id_cookie, good.trim());
        }
    }

    #[test]
    fn metrics_namespace_follows_cloudwatch_rules() {
        const NAME: &str = "PINTEREST_METRICS_NAMESPACE";
        let default = Settings::from_env(env(&[("PINTEREST_AD_ACCOUNT_ID", "1")])).unwrap();
        assert_eq!(default.metrics_namespace, "PinterestDestination");
        let longest = "N".repeat(255);
        for good in [
            "Test/Pinterest",
            "My App:prod #1",
            "a.b-c_d",
            "aws/x",
            "MyAWS/x",
            &longest,
        ] {
            assert_eq!(one_setting(NAME, good).unwrap().metrics_namespace, good);
        }
        let too_long = "N".repeat(256);
        for (bad, why) in [
            ("AWS/Lambda", "reserved"),
            ("AWS/", "reserved"),
            (":x", "must not start with ':'"),
            (&too_long, "1 to 255"),
            ("Pintérest", "1 to 255"),
            ("a*b", "1 to 255"),
            ("a,b", "1 to 255"),
            ("a\tb", "1 to 255"),
        ] {
            let err = one_setting(NAME, bad).map(|_| ()).unwrap_err();
            assert_eq!(err.name, NAME, "{bad:?}");
            assert!(err.reason.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn base_url_with_credentials_query_or_fragment_is_refused() {
        const NAME: &str = "PINTEREST_API_BASE_URL";
        for bad in [
            "https://user:pw@api.pinterest.com/v5/",
            "https://user@api.pinterest.com/v5",
            "https://:pw@api.pinterest.com/v5",
            "http://user:pw@127.0.0.1:8080/v5",
        ] {
            let err = one_setting(NAME, bad).map(|_| ()).unwrap_err();
            assert_eq!(err.name, NAME, "{bad}");
            assert!(err.reason.contains("user name or password"), "{err}");
            // The credentials (and the URL) are never quoted.
            let shown = err.to_string();
            assert!(
                !shown.contains("pw")
                    && !shown.contains("user:")
                    && !shown.contains("api.pinterest"),
                "{shown}"
            );
        }
        // `{base}/ad_accounts/...` would land in the query or the fragment.
        for bad in [
            "https://x/v5?a=1",
            "https://x/v5#f",
            "https://x/v5?",
            "https://x/v5#",
            "https://x/v5/?a=1",
        ] {
            let err = one_setting(NAME, bad).map(|_| ()).unwrap_err();
            assert_eq!(err.name, NAME, "{bad}");
            assert!(err.reason.contains("query or fragment"), "{err}");
        }
        // A bare `@` carries no credentials.
        assert!(one_setting(NAME, "https://proxy.example.com/pinterest@v5").is_ok());
    }

    #[test]
    fn mapping_file_is_read_and_both_sources_conflict() {
        let dir = std::env::temp_dir().join(format!("pinterest-mapping-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("mapping.json");
        std::fs::write(&file, r#"{"event_names": {"optin": "signup"}}"#).unwrap();
        let path = file.to_string_lossy().to_string();
        let mapper = mapper_from_env(&env(&[("PINTEREST_MAPPING_FILE", &path)])).unwrap();
        assert_eq!(mapper.names.resolve("optin"), Some("signup"));
        let err = mapper_from_env(&env(&[
            ("PINTEREST_MAPPING_FILE", &path),
            ("PINTEREST_MAPPING", "{}"),
        ]))
        .unwrap_err();
        assert_eq!(err.name, "PINTEREST_MAPPING");
        let err = mapper_from_env(&env(&[("PINTEREST_MAPPING_FILE", "/nonexistent/m.json")]))
            .unwrap_err();
        assert_eq!(err.name, "PINTEREST_MAPPING_FILE");
        std::fs::remove_dir_all(&dir).ok();
    }
}
