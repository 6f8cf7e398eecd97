//! The Secrets Manager token source against a real local Secrets Manager (moto), through the real SDK.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_secretsmanager::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_secretsmanager::error::BoxError;

use crate::support::moto::{Moto, unreachable_client};
use pinterest_destination::token::{SecretsManagerToken, TokenError, TokenProvider, TokenSource};

const TTL: Duration = Duration::from_secs(300);

async fn read(moto: &Moto, secret_id: &str) -> Result<String, TokenError> {
    let source = SecretsManagerToken::new(moto.client(), secret_id.to_owned(), TTL);
    source
        .token(None)
        .await
        .map(|token| token.expose().to_owned())
}

#[tokio::test]
async fn raw_token() {
    let moto = Moto::start().await;
    moto.create_secret("pinterest/raw", "  pina_raw_token\n")
        .await;
    assert_eq!(
        read(&moto, "pinterest/raw").await,
        Ok("pina_raw_token".to_owned())
    );
}

#[tokio::test]
async fn json_token() {
    let moto = Moto::start().await;
    moto.create_secret(
        "pinterest/json",
        r#"{"access_token": "pina_json_token", "note": "rotated monthly"}"#,
    )
    .await;
    let provider = TokenProvider::SecretsManager(SecretsManagerToken::new(
        moto.client(),
        "pinterest/json".to_owned(),
        TTL,
    ));
    let token = provider.token(None).await.unwrap();
    assert_eq!(token.expose(), "pina_json_token");
    assert_eq!(format!("{token:?} {token}"), "**REDACTED** **REDACTED**");
}

#[tokio::test]
async fn missing_secret_is_an_error() {
    let moto = Moto::start().await;
    assert_eq!(
        read(&moto, "pinterest/absent").await,
        Err(TokenError::NotFound)
    );
}

#[tokio::test]
async fn empty_secret_is_an_error() {
    let moto = Moto::start().await;
    moto.create_secret("pinterest/blank", "   ").await;
    assert_eq!(read(&moto, "pinterest/blank").await, Err(TokenError::Empty));
}

#[tokio::test]
async fn json_without_access_token_is_an_error() {
    let moto = Moto::start().await;
    moto.create_secret("pinterest/other", r#"{"token": "pina_misnamed"}"#)
        .await;
    let error = read(&moto, "pinterest/other").await.unwrap_err();
    assert_eq!(error, TokenError::NoAccessToken);
    assert!(!error.to_string().contains("pina_misnamed"));
}

#[tokio::test]
async fn unreachable_secrets_manager_is_an_error() {
    let (client, _reserved_port) = unreachable_client();
    let source = SecretsManagerToken::new(client, "pinterest/any".to_owned(), TTL);
    let error = source.token(None).await.unwrap_err();
    assert!(matches!(error, TokenError::Unavailable(_)), "{error:?}");
    assert!(error.to_string().contains("dispatch failure"), "{error}");
}

#[tokio::test]
async fn cached_within_ttl_until_forced() {
    let moto = Moto::start().await;
    moto.create_secret("pinterest/rotating", "pina_first").await;
    let source = SecretsManagerToken::new(moto.client(), "pinterest/rotating".to_owned(), TTL);
    let first = source.token(None).await.unwrap();
    assert_eq!(first.expose(), "pina_first");

    moto.rotate_secret("pinterest/rotating", "pina_second")
        .await;
    assert_eq!(
        source.token(None).await.unwrap().expose(),
        "pina_first",
        "cached value within the TTL"
    );
    assert_eq!(
        source.token(Some(&first)).await.unwrap().expose(),
        "pina_second",
        "a refused token makes it read the secret"
    );
    assert_eq!(
        source.token(None).await.unwrap().expose(),
        "pina_second",
        "the refresh is cached"
    );
}

/// Counts the requests a Secrets Manager client sends.
#[derive(Debug, Clone, Default)]
struct CountRequests(Arc<AtomicUsize>);

impl Intercept for CountRequests {
    fn name(&self) -> &'static str {
        "CountRequests"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn a_burst_of_401s_reads_the_secret_once() {
    let moto = Moto::start().await;
    moto.create_secret("pinterest/burst", "pina_first").await;
    let count = CountRequests::default();
    let config = moto
        .client()
        .config()
        .to_builder()
        .interceptor(count.clone())
        .build();
    let source = Arc::new(SecretsManagerToken::new(
        aws_sdk_secretsmanager::Client::from_conf(config),
        "pinterest/burst".to_owned(),
        TTL,
    ));
    let first = source.token(None).await.unwrap();
    assert_eq!(first.expose(), "pina_first");
    assert_eq!(count.0.load(Ordering::SeqCst), 1);

    // Eight requests in flight get a 401 at once after a rotation: each asks for another token.
    moto.rotate_secret("pinterest/burst", "pina_second").await;
    let mut refreshes = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (source, first) = (Arc::clone(&source), first.clone());
        refreshes.spawn(async move {
            source
                .token(Some(&first))
                .await
                .map(|t| t.expose().to_owned())
        });
    }
    while let Some(token) = refreshes.join_next().await {
        assert_eq!(token.unwrap(), Ok("pina_second".to_owned()));
    }
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        2,
        "one read for the whole burst"
    );

    // A request that was still in flight with the old token gets its 401 later: the new one is already there.
    let second = source.token(Some(&first)).await.unwrap();
    assert_eq!(second.expose(), "pina_second");
    assert_eq!(count.0.load(Ordering::SeqCst), 2);
    // The new token refused in turn: read again.
    assert_eq!(
        source.token(Some(&second)).await.unwrap().expose(),
        "pina_second"
    );
    assert_eq!(count.0.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn ttl_expiry_reads_again() {
    let moto = Moto::start().await;
    moto.create_secret("pinterest/short", "pina_first").await;
    let source = SecretsManagerToken::new(
        moto.client(),
        "pinterest/short".to_owned(),
        Duration::from_millis(300),
    );
    assert_eq!(source.token(None).await.unwrap().expose(), "pina_first");

    moto.rotate_secret("pinterest/short", "pina_second").await;
    assert_eq!(source.token(None).await.unwrap().expose(), "pina_first");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(source.token(None).await.unwrap().expose(), "pina_second");
}
