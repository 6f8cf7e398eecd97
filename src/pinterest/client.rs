//! HTTP side of `POST /ad_accounts/{id}/events`: URL, authentication, time-outs, classification of the answer.

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use crate::pinterest::response::{Decision, classify, parse_retry_after, truncate};
use crate::token::AccessToken;

/// An HTTP client for Pinterest, built once per container: rustls, an explicit connect time-out, no redirects
/// and no retries of its own (delivery decides), idle connections dropped before the server would drop them
/// (a Lambda frozen between invocations otherwise wakes up to dead connections).
pub fn http_client(connect_timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(16)
        .tcp_keepalive(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .user_agent(concat!(
            env!("CARGO_PKG_NAME"),
            "/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
}

/// Most bytes of an answer that are read. A full answer to 1000 events is about 100 KB; past this an answer is
/// cut (a 2xx is then unreadable and retried), so a runaway server can't take the function's memory.
pub const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;

/// The events endpoint of one ad account.
#[derive(Debug, Clone)]
pub struct EventsEndpoint {
    url: String,
}

impl EventsEndpoint {
    /// `base_url` without a trailing slash; `test_mode` adds `?test=true` to every request.
    pub fn new(base_url: &str, ad_account_id: &str, test_mode: bool) -> Self {
        let query = if test_mode { "?test=true" } else { "" };
        Self {
            url: format!("{base_url}/ad_accounts/{ad_account_id}/events{query}"),
        }
    }

    /// The URL every request goes to (the CLI's dry run prints it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends one request of `events` events (`body` is the serialised `{"data":[...]}`) and classifies the
    /// answer. The whole exchange, body included, must finish within `timeout`; a time-out or a network
    /// error is a [`Decision::Retry`].
    pub async fn send(
        &self,
        http: &reqwest::Client,
        token: &AccessToken,
        body: bytes::Bytes,
        events: usize,
        timeout: Duration,
    ) -> Decision {
        let exchange = async {
            let response = http
                .post(&self.url)
                .bearer_auth(token.expose())
                .header(CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now()));
            let body = read_at_most(response, MAX_ANSWER_BYTES).await?;
            Ok::<_, reqwest::Error>(classify(status, &body, retry_after, events))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(decision)) => decision,
            Ok(Err(error)) => Decision::Retry {
                reason: transport_reason(&error),
                retry_after: None,
            },
            Err(_) => Decision::Retry {
                reason: format!("no complete answer within {} ms", timeout.as_millis()),
                retry_after: None,
            },
        }
    }
}

/// The answer's body, cut after `limit` bytes.
async fn read_at_most(mut response: reqwest::Response, limit: usize) -> reqwest::Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= limit {
            break;
        }
    }
    Ok(body)
}

/// A network error with its causes (`connection failed: ... : Connection refused`), without the URL.
fn transport_reason(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "connection failed"
    } else if error.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    let mut parts = vec![kind.to_owned()];
    parts.extend(std::iter::successors(error.source(), |&e| e.source()).map(ToString::to_string));
    truncate(&parts.join(": "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_with_and_without_test_mode() {
        let live = EventsEndpoint::new(crate::config::DEFAULT_API_BASE_URL, "549755885175", false);
        assert_eq!(
            live.url,
            "https://api.pinterest.com/v5/ad_accounts/549755885175/events"
        );
        let test = EventsEndpoint::new("http://127.0.0.1:9/v5", "1", true);
        assert_eq!(
            test.url,
            "http://127.0.0.1:9/v5/ad_accounts/1/events?test=true"
        );
    }
}
