//! What every invocation shares, built once per container: the settings, the HTTP client, where events go
//! (Pinterest with a token source, or a dry run), and the rejected-events queue.

use crate::config::{Settings, TokenSetting};
use crate::delivery::{self, DeliveryConfig};
use crate::rejected::RejectedQueue;
use crate::token::{AccessToken, SecretsManagerToken, StaticToken, TokenProvider, TokenSource};
use std::sync::Mutex;
use std::time::Duration;

/// Where mapped events go.
pub enum Sender {
    /// Pinterest's API, with this token source.
    Pinterest(TokenProvider),
    /// Nowhere: the request bodies are kept for the CLI to print, and the events count as would_send.
    DryRun(Mutex<Vec<String>>),
}

/// Everything built once per container and shared by all invocations.
pub struct State {
    pub settings: Settings,
    pub delivery: DeliveryConfig,
    pub http: reqwest::Client,
    pub sender: Sender,
    /// Where the rejected events of SQS batches go (`PINTEREST_REJECTED_QUEUE_URL`), if anywhere.
    pub rejected: Option<RejectedQueue>,
}

/// Time allowed to one HTTP attempt to Pinterest.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to open a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Retries stop this long before the Lambda deadline, leaving time to answer.
const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);

impl State {
    /// Builds the state from settings: the HTTP client, and the token source (Secrets Manager, a
    /// static token, or a dry run when there is neither).
    pub async fn new(settings: Settings) -> Result<Self, String> {
        let sender = match &settings.token {
            TokenSetting::SecretId(id) => Sender::Pinterest(TokenProvider::SecretsManager(
                SecretsManagerToken::from_env(id.clone(), settings.token_ttl),
            )),
            TokenSetting::Static(token) => Sender::Pinterest(TokenProvider::Static(StaticToken(
                AccessToken::new(token.clone()),
            ))),
            TokenSetting::None => Sender::DryRun(Mutex::new(Vec::new())),
        };
        let http = crate::pinterest::client::http_client(CONNECT_TIMEOUT)
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        let delivery = DeliveryConfig {
            base_url: settings.api_base_url.clone(),
            ad_account_id: settings.ad_account_id.clone(),
            test_mode: settings.test_mode,
            max_concurrency: settings.max_concurrency,
            max_events_per_request: delivery::MAX_EVENTS_PER_REQUEST,
            max_body_bytes: delivery::MAX_REQUEST_BYTES,
            request_timeout: REQUEST_TIMEOUT,
            deadline_margin: DEADLINE_MARGIN,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            budget: std::sync::Arc::new(crate::budget::CallBudget::for_instance(&settings)),
        };
        let rejected = settings
            .rejected_queue_url
            .clone()
            .map(RejectedQueue::from_env);
        Ok(Self {
            settings,
            delivery,
            http,
            sender,
            rejected,
        })
    }
}

impl State {
    /// Reads the access token into its cache (main runs this beside the runtime's wait for the first event, so
    /// that the first delivery finds it there). A failure is not reported here: delivery reads it again.
    pub async fn prefetch_token(&self) {
        if let Sender::Pinterest(tokens) = &self.sender {
            let _ = tokens.token(None).await;
        }
    }
}
