//! Pinterest access token: read from Secrets Manager (cached with a TTL, refreshed on demand) or given statically.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_secretsmanager::error::SdkError;
use tokio::sync::{Mutex, OnceCell};
use tokio::time::Instant;

/// The bearer token. It prints as `**REDACTED**`; only [`AccessToken::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Arc<str>);

impl AccessToken {
    pub fn new(token: String) -> Self {
        Self(token.into())
    }

    /// The token itself, for the `Authorization` header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("**REDACTED**")
    }
}

/// Why no token could be had. Delivery treats every variant as transient (the events fail and SQS retries them).
/// No variant ever carries the secret's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token secret could not be read: {0}")]
    Unavailable(String),
    #[error("the token secret was not found")]
    NotFound,
    #[error("the token secret is empty or has no string value")]
    Empty,
    #[error("the token secret is a JSON object without a non-empty \"access_token\" string")]
    NoAccessToken,
    #[error(
        "the token secret's token is not a bearer token (only visible ASCII characters, no spaces)"
    )]
    NotBearer,
}

/// True when `token` can be sent as `Authorization: Bearer <token>`: visible ASCII only (RFC 6750's characters
/// and more), so no space, control character or non-ASCII letter, which an HTTP header can't carry or which
/// would make it another header.
pub fn is_bearer_token(token: &str) -> bool {
    !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic())
}

/// Something that hands out the access token. `refused` is a token Pinterest has just refused (a 401): a source
/// with a cache then reads the token again, unless its cache already holds another one (read since).
pub trait TokenSource: Send + Sync {
    fn token(
        &self,
        refused: Option<&AccessToken>,
    ) -> impl Future<Output = Result<AccessToken, TokenError>> + Send;
}

/// A token fixed at start-up (local runs with `PINTEREST_ACCESS_TOKEN`).
#[derive(Debug, Clone)]
pub struct StaticToken(pub AccessToken);

impl TokenSource for StaticToken {
    async fn token(&self, _refused: Option<&AccessToken>) -> Result<AccessToken, TokenError> {
        Ok(self.0.clone())
    }
}

/// The token read from a Secrets Manager secret, cached for `ttl` across invocations.
/// One fetch at a time: callers wait for the fetch in progress and use its result. After a 401 the secret is
/// read again only while the cache still holds the refused token: a burst of 401s from the requests in flight
/// reads it once, and a read that raced the rotation (and got the old token) is not taken for a fresh one.
#[derive(Debug)]
pub struct SecretsManagerToken {
    client: OnceCell<aws_sdk_secretsmanager::Client>,
    secret_id: String,
    ttl: Duration,
    cached: Mutex<Option<(AccessToken, Instant)>>,
}

impl SecretsManagerToken {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: String, ttl: Duration) -> Self {
        Self {
            client: OnceCell::from(client),
            secret_id,
            ttl,
            cached: Mutex::new(None),
        }
    }

    /// A client configured from the environment ([`aws_config`], about 3 ms) when the token is first needed
    /// rather than before the function can take its first event.
    pub fn from_env(secret_id: String, ttl: Duration) -> Self {
        Self {
            client: OnceCell::new(),
            secret_id,
            ttl,
            cached: Mutex::new(None),
        }
    }

    async fn fetch(&self) -> Result<AccessToken, TokenError> {
        let client = self
            .client
            .get_or_init(|| async { aws_sdk_secretsmanager::Client::new(aws_config().await) })
            .await;
        let output = client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|err| match err {
                SdkError::ServiceError(ref service)
                    if service.err().is_resource_not_found_exception() =>
                {
                    TokenError::NotFound
                }
                other => TokenError::Unavailable(error_chain(&other)),
            })?;
        parse_secret(output.secret_string().unwrap_or_default())
    }
}

impl TokenSource for SecretsManagerToken {
    async fn token(&self, refused: Option<&AccessToken>) -> Result<AccessToken, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some((token, fetched_at)) = cached.as_ref() {
            let usable = match refused {
                Some(refused) => token != refused,
                None => fetched_at.elapsed() < self.ttl,
            };
            if usable {
                return Ok(token.clone());
            }
        }
        let token = self.fetch().await?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }
}

/// The AWS configuration from the environment (region, credentials, endpoints), loaded once per process on
/// first use and shared by the Secrets Manager and SQS clients.
pub async fn aws_config() -> &'static aws_config::SdkConfig {
    static CONFIG: OnceCell<aws_config::SdkConfig> = OnceCell::const_new();
    CONFIG.get_or_init(aws_config::load_from_env).await
}

/// The two ways main can hold a token source, as one concrete type.
#[derive(Debug)]
pub enum TokenProvider {
    Static(StaticToken),
    SecretsManager(SecretsManagerToken),
}

impl TokenSource for TokenProvider {
    async fn token(&self, refused: Option<&AccessToken>) -> Result<AccessToken, TokenError> {
        match self {
            Self::Static(source) => source.token(refused).await,
            Self::SecretsManager(source) => source.token(refused).await,
        }
    }
}

/// An error and its causes, `: `-separated (Display only: the SDK's Debug output is long and says no more).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let causes: Vec<String> = std::iter::successors(Some(error), |&e| e.source())
        .map(ToString::to_string)
        .collect();
    causes.join(": ")
}

/// Reads a secret string: a JSON object must hold a non-empty `access_token` string; anything else is the raw
/// token. Both are trimmed. A text that starts with `{` but is not valid JSON is refused rather than sent as a token,
/// and so is a token with characters a bearer token can't have ([`is_bearer_token`]).
fn parse_secret(secret: &str) -> Result<AccessToken, TokenError> {
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(TokenError::Empty);
    }
    let token = if secret.starts_with('{') {
        let json: serde_json::Value =
            serde_json::from_str(secret).map_err(|_| TokenError::NoAccessToken)?;
        json.get("access_token")
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(TokenError::NoAccessToken)?
            .to_owned()
    } else {
        secret.to_owned()
    };
    if !is_bearer_token(&token) {
        return Err(TokenError::NotBearer);
    }
    Ok(AccessToken::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_redacted_in_debug_and_display() {
        let token = AccessToken::new("pina_secret".to_owned());
        assert_eq!(format!("{token:?}"), "**REDACTED**");
        assert_eq!(token.to_string(), "**REDACTED**");
        assert_eq!(token.expose(), "pina_secret");
    }

    #[test]
    fn raw_and_json_secrets() {
        assert_eq!(
            parse_secret("  pina_abc \n").map(|t| t.expose().to_owned()),
            Ok("pina_abc".into())
        );
        assert_eq!(
            parse_secret(r#"{"access_token": " pina_json ", "other": 1}"#)
                .map(|t| t.expose().to_owned()),
            Ok("pina_json".into())
        );
    }

    #[test]
    fn unusable_secrets() {
        assert_eq!(parse_secret(""), Err(TokenError::Empty));
        assert_eq!(parse_secret("  \n "), Err(TokenError::Empty));
        assert_eq!(
            parse_secret(r#"{"token": "x"}"#),
            Err(TokenError::NoAccessToken)
        );
        assert_eq!(
            parse_secret(r#"{"access_token": "  "}"#),
            Err(TokenError::NoAccessToken)
        );
        assert_eq!(
            parse_secret(r#"{"access_token": 42}"#),
            Err(TokenError::NoAccessToken)
        );
        assert_eq!(
            parse_secret(r#"{"access_token": "x""#),
            Err(TokenError::NoAccessToken)
        );
        for not_bearer in [
            "pina_a\nb",
            "pina a",
            "pina_é",
            r#"{"access_token": "a\u0000b"}"#,
        ] {
            assert_eq!(
                parse_secret(not_bearer),
                Err(TokenError::NotBearer),
                "{not_bearer:?}"
            );
        }
    }
}
