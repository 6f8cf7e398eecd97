//! Delivery against a fake Pinterest: batching, concurrency, per-event verdicts, splitting, token refresh,
//! retries and the deadline. Every request body is checked against Pinterest's request schema.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::support::fake_pinterest::{
    AD_ACCOUNT_ID, FakePinterest, Reply, ResetServer, TOKEN, event, event_of_size,
};
use pinterest_destination::budget::CallBudget;
use pinterest_destination::delivery::{DeliveryConfig, DeliveryReport, deliver};
use pinterest_destination::fate::Fate;
use pinterest_destination::pinterest::client::{MAX_ANSWER_BYTES, http_client};
use pinterest_destination::token::{
    AccessToken, StaticToken, TokenError, TokenProvider, TokenSource,
};
use tokio::time::Instant;

fn config(base_url: String) -> DeliveryConfig {
    DeliveryConfig {
        base_url,
        ad_account_id: AD_ACCOUNT_ID.to_owned(),
        test_mode: false,
        max_concurrency: 4,
        max_events_per_request: 1000,
        max_body_bytes: 1_048_576,
        request_timeout: Duration::from_secs(5),
        deadline_margin: Duration::from_millis(200),
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
        budget: std::sync::Arc::new(CallBudget::per_minute(1_000_000)),
    }
}

fn events(count: usize) -> Vec<String> {
    (0..count).map(|i| event(&format!("e-{i}"))).collect()
}

fn token() -> StaticToken {
    StaticToken(AccessToken::new(TOKEN.to_owned()))
}

fn in_seconds(seconds: u64) -> Instant {
    Instant::now() + Duration::from_secs(seconds)
}

async fn send<T: TokenSource>(
    cfg: &DeliveryConfig,
    tokens: &T,
    events: &[String],
    deadline: Instant,
) -> DeliveryReport {
    let http = http_client(Duration::from_secs(1)).expect("http client");
    deliver(&http, cfg, tokens, events, deadline).await
}

/// Every body the fake received was schema-valid, and so was every answer it gave.
fn assert_schema_clean(fake: &FakePinterest) {
    assert_eq!(fake.schema_violations(), Vec::<String>::new());
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.authorized || r.status == 401)
    );
}

fn all_delivered(report: &DeliveryReport, count: usize) -> bool {
    report.outcomes.len() == count && report.outcomes.iter().all(|o| *o == Fate::Delivered)
}

/// A token source whose normal token is `normal` and whose forced refresh gives `refreshed`.
struct RefreshingTokens {
    normal: &'static str,
    refreshed: &'static str,
    forced: AtomicU32,
}

impl RefreshingTokens {
    fn new(normal: &'static str, refreshed: &'static str) -> Self {
        Self {
            normal,
            refreshed,
            forced: AtomicU32::new(0),
        }
    }
}

impl TokenSource for RefreshingTokens {
    async fn token(&self, refused: Option<&AccessToken>) -> Result<AccessToken, TokenError> {
        if refused.is_some() {
            self.forced.fetch_add(1, Ordering::SeqCst);
            Ok(AccessToken::new(self.refreshed.to_owned()))
        } else {
            Ok(AccessToken::new(self.normal.to_owned()))
        }
    }
}

struct BrokenTokens;

impl TokenSource for BrokenTokens {
    async fn token(&self, _refused: Option<&AccessToken>) -> Result<AccessToken, TokenError> {
        Err(TokenError::Unavailable("dispatch failure".to_owned()))
    }
}

#[tokio::test]
async fn splits_2500_events_into_1000_1000_500() {
    let fake = FakePinterest::start().await;
    let events = events(2500);
    let report = send(&config(fake.base_url()), &token(), &events, in_seconds(30)).await;

    assert!(all_delivered(&report, 2500));
    assert_eq!((report.requests, report.retries), (3, 0));
    let mut requests = fake.requests();
    requests.sort_by_key(|r| {
        r.event_ids
            .first()
            .map(|id| id[2..].parse::<usize>().unwrap())
    });
    let sizes: Vec<usize> = requests.iter().map(|r| r.event_ids.len()).collect();
    assert_eq!(sizes, vec![1000, 1000, 500]);
    let ids: Vec<String> = requests.iter().flat_map(|r| r.event_ids.clone()).collect();
    assert_eq!(ids, (0..2500).map(|i| format!("e-{i}")).collect::<Vec<_>>());
    assert!(
        requests
            .iter()
            .all(|r| r.ad_account_id == AD_ACCOUNT_ID && !r.test_mode)
    );
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn chunks_by_body_size() {
    let fake = FakePinterest::start().await;
    let events: Vec<String> = (0..20)
        .map(|i| event_of_size(&format!("e-{i}"), 1000))
        .collect();
    let mut cfg = config(fake.base_url());
    cfg.max_body_bytes = 3500; // three 1000-byte events and their commas fit, four don't
    let report = send(&cfg, &token(), &events, in_seconds(30)).await;

    assert!(all_delivered(&report, 20));
    let requests = fake.requests();
    assert_eq!(requests.len(), 7);
    assert!(
        requests
            .iter()
            .all(|r| r.body.to_string().len() <= 3500 && r.event_ids.len() <= 3)
    );
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn oversized_event_is_rejected_without_being_sent() {
    let fake = FakePinterest::start().await;
    let events = vec![event("e-0"), event_of_size("e-big", 5000), event("e-2")];
    let mut cfg = config(fake.base_url());
    cfg.max_body_bytes = 2000;
    let report = send(&cfg, &token(), &events, in_seconds(30)).await;

    assert_eq!(report.outcomes[0], Fate::Delivered);
    assert!(matches!(
        &report.outcomes[1],
        Fate::Rejected(reason) if reason.contains("5000 bytes")
    ));
    assert_eq!(report.outcomes[2], Fate::Delivered);
    assert_eq!(report.requests, 2);
    assert!(
        fake.requests()
            .iter()
            .all(|r| !r.event_ids.contains(&"e-big".to_owned()))
    );
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let fake = FakePinterest::start().await;
    fake.set_default(Reply::Delay(Duration::from_millis(250)));
    let mut cfg = config(fake.base_url());
    cfg.max_events_per_request = 2;
    cfg.max_concurrency = 3;
    let report = send(&cfg, &token(), &events(20), in_seconds(30)).await;

    assert!(all_delivered(&report, 20));
    assert_eq!(report.requests, 10);
    assert_eq!(fake.max_in_flight(), 3);
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn failed_events_in_a_200_are_rejected_with_pinterests_message() {
    let fake = FakePinterest::start().await;
    fake.script([Reply::FailEvents(vec![1, 3])]);
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(5),
        in_seconds(30),
    )
    .await;

    assert_eq!(
        report.outcomes,
        vec![
            Fate::Delivered,
            Fate::Rejected("Event 1: invalid user_data".to_owned()),
            Fate::Delivered,
            Fate::Rejected("Event 3: invalid user_data".to_owned()),
            Fate::Delivered,
        ]
    );
    assert_eq!(report.requests, 1);
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn warnings_do_not_change_outcomes() {
    let fake = FakePinterest::start().await;
    fake.script([Reply::Warn(vec![0, 2])]);
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(3),
        in_seconds(30),
    )
    .await;

    assert!(all_delivered(&report, 3));
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn unprocessable_422_is_read_per_event() {
    let fake = FakePinterest::start().await;
    fake.script([Reply::Unprocessable(vec![0])]);
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(3),
        in_seconds(30),
    )
    .await;

    assert_eq!(
        report.outcomes[0],
        Fate::Rejected("Event 0: invalid user_data".to_owned())
    );
    assert_eq!(report.outcomes[1..], [Fate::Delivered, Fate::Delivered]);
    assert_eq!(report.requests, 1);
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn bisection_isolates_one_bad_event() {
    let fake = FakePinterest::start().await;
    fake.reject_event_id("e-5");
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(8),
        in_seconds(30),
    )
    .await;

    for (index, outcome) in report.outcomes.iter().enumerate() {
        if index == 5 {
            assert!(
                matches!(outcome, Fate::Rejected(reason) if reason.starts_with("HTTP 400")),
                "{outcome:?}"
            );
        } else {
            assert_eq!(*outcome, Fate::Delivered, "event {index}");
        }
    }
    // 0..8 refused, 0..4 ok, 4..8 refused, 4..6 refused, 6..8 ok, 4..5 ok, 5..6 refused.
    let sizes: Vec<usize> = fake.requests().iter().map(|r| r.event_ids.len()).collect();
    assert_eq!(sizes, vec![8, 4, 4, 2, 2, 1, 1]);
    assert_eq!((report.requests, report.retries), (7, 0));
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn forbidden_everywhere_stops_splitting() {
    let fake = FakePinterest::start().await;
    fake.set_default(Reply::Status(403));
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(8),
        in_seconds(30),
    )
    .await;

    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Fate::Rejected(r) if r.starts_with("HTTP 403")))
    );
    assert_eq!(report.requests, 3, "the request and its two halves");
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn token_is_refreshed_after_a_401() {
    let fake = FakePinterest::start().await;
    let tokens = RefreshingTokens::new("pina_revoked", TOKEN);
    let report = send(
        &config(fake.base_url()),
        &tokens,
        &events(3),
        in_seconds(30),
    )
    .await;

    assert!(all_delivered(&report, 3));
    assert_eq!((report.requests, report.retries), (2, 1));
    assert_eq!(tokens.forced.load(Ordering::SeqCst), 1);
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![401, 200]);
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn persisting_401_fails_after_two_attempts() {
    let fake = FakePinterest::start().await;
    let tokens = RefreshingTokens::new("pina_revoked", "pina_still_revoked");
    let report = send(
        &config(fake.base_url()),
        &tokens,
        &events(3),
        in_seconds(30),
    )
    .await;

    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Fate::Failed(r) if r.starts_with("HTTP 401")))
    );
    assert_eq!(report.requests, 2);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(tokens.forced.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn token_error_fails_the_events_without_sending() {
    let fake = FakePinterest::start().await;
    let report = send(
        &config(fake.base_url()),
        &BrokenTokens,
        &events(3),
        in_seconds(30),
    )
    .await;

    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Fate::Failed(r) if r.contains("access token unavailable")))
    );
    assert_eq!(report.requests, 0);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after() {
    let fake = FakePinterest::start().await;
    fake.script([Reply::RetryAfter(429, "1".to_owned())]);
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(3),
        in_seconds(30),
    )
    .await;

    assert!(all_delivered(&report, 3));
    assert_eq!((report.requests, report.retries), (2, 1));
    let requests = fake.requests();
    assert!(requests[1].at - requests[0].at >= Duration::from_secs(1));
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn server_errors_are_retried() {
    let fake = FakePinterest::start().await;
    fake.script([500, 502, 503, 504, 408].map(Reply::Status));
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(3),
        in_seconds(30),
    )
    .await;

    assert!(all_delivered(&report, 3));
    assert_eq!((report.requests, report.retries), (6, 5));
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn not_implemented_is_not_retried() {
    let fake = FakePinterest::start().await;
    fake.set_default(Reply::Status(501));
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(1),
        in_seconds(30),
    )
    .await;

    assert!(matches!(&report.outcomes[..], [Fate::Rejected(r)] if r.starts_with("HTTP 501")));
    assert_eq!(report.requests, 1);
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn stall_past_the_attempt_timeout_is_retried() {
    let fake = FakePinterest::start().await;
    fake.script([Reply::Delay(Duration::from_secs(2))]);
    let mut cfg = config(fake.base_url());
    cfg.request_timeout = Duration::from_millis(200);
    let started = Instant::now();
    let report = send(&cfg, &token(), &events(3), in_seconds(30)).await;

    assert!(all_delivered(&report, 3));
    assert_eq!((report.requests, report.retries), (2, 1));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the stalled attempt was abandoned"
    );
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn connection_resets_fail_within_the_deadline() {
    let server = ResetServer::start().await;
    let deadline = Instant::now() + Duration::from_millis(1500);
    let report = send(&config(server.base_url()), &token(), &events(3), deadline).await;

    assert!(Instant::now() < deadline);
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Fate::Failed(r) if r.contains("request failed"))),
        "{:?}",
        report.outcomes[0]
    );
    assert!(
        report.requests >= 3,
        "retried: {} requests",
        report.requests
    );
    assert_eq!(server.connections() as u32, report.requests);
}

#[tokio::test]
async fn deadline_stops_pending_retries() {
    let fake = FakePinterest::start().await;
    fake.set_default(Reply::Status(503));
    let deadline = Instant::now() + Duration::from_millis(800);
    let report = send(&config(fake.base_url()), &token(), &events(3), deadline).await;

    assert!(Instant::now() < deadline, "returned before the deadline");
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Fate::Failed(r) if r.starts_with("HTTP 503")))
    );
    assert!(report.requests > 1);
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn retry_after_beyond_the_deadline_fails_at_once() {
    let fake = FakePinterest::start().await;
    fake.script([Reply::RetryAfter(429, "60".to_owned())]);
    let started = Instant::now();
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(2),
        in_seconds(10),
    )
    .await;

    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        report
            .outcomes
            .iter()
            .all(|o| matches!(o, Fate::Failed(r) if r.contains("deadline")))
    );
    assert_eq!(report.requests, 1);
}

#[tokio::test]
async fn deadline_already_past_sends_nothing() {
    let fake = FakePinterest::start().await;
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(2),
        Instant::now(),
    )
    .await;

    assert!(report.outcomes.iter().all(|o| matches!(o, Fate::Failed(_))));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn unreadable_200s_are_retried() {
    let fake = FakePinterest::start().await;
    fake.script([Reply::NotJson, Reply::WrongLength]);
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(3),
        in_seconds(30),
    )
    .await;

    assert!(all_delivered(&report, 3));
    assert_eq!((report.requests, report.retries), (3, 2));
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn an_answer_over_the_size_cap_is_cut_unread_and_retried() {
    let fake = FakePinterest::start().await;
    // A well-formed answer for the one event, padded past the cap: read whole, it would count as delivered.
    let padded = serde_json::json!({
        "num_events_received": 1,
        "num_events_processed": 1,
        "events": [{"status": "processed", "error_message": "", "warning_message": ""}],
        "padding": "x".repeat(MAX_ANSWER_BYTES),
    });
    fake.script([Reply::Raw(200, padded.to_string()), Reply::Ok]);
    let report = send(
        &config(fake.base_url()),
        &token(),
        &events(1),
        in_seconds(30),
    )
    .await;

    assert!(all_delivered(&report, 1));
    assert_eq!((report.requests, report.retries), (2, 1));
}

#[tokio::test]
async fn test_mode_adds_the_query() {
    let fake = FakePinterest::start().await;
    let mut cfg = config(fake.base_url());
    cfg.test_mode = true;
    cfg.max_events_per_request = 2;
    let report = send(&cfg, &token(), &events(5), in_seconds(30)).await;

    assert!(all_delivered(&report, 5));
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.test_mode));
    assert_schema_clean(&fake);
}

#[tokio::test]
async fn nothing_to_send() {
    let fake = FakePinterest::start().await;
    let report = send(&config(fake.base_url()), &token(), &[], in_seconds(30)).await;

    assert_eq!(report, DeliveryReport::default());
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn the_fake_catches_bodies_outside_the_schema() {
    let fake = FakePinterest::start().await;
    // No identity in user_data, and `np`, which Pinterest's schema doesn't have.
    let invalid = r#"{"event_name":"checkout","action_source":"web","event_time":1700000000,
        "event_id":"e-x","user_data":{},"np":"x"}"#;
    let report = send(
        &config(fake.base_url()),
        &token(),
        &[invalid.to_owned()],
        in_seconds(30),
    )
    .await;

    assert!(matches!(&report.outcomes[..], [Fate::Rejected(r)] if r.starts_with("HTTP 400")));
    assert_eq!(fake.schema_violations().len(), 1);
}

#[test]
fn deliver_can_run_in_a_lambda_handler() {
    fn assert_send<F: std::future::Future + Send>(_: F) {}
    let http = http_client(Duration::from_secs(1)).expect("http client");
    let cfg = config("http://127.0.0.1:9/v5".to_owned());
    let tokens = TokenProvider::Static(token());
    assert_send(deliver(&http, &cfg, &tokens, &[], Instant::now()));
}
