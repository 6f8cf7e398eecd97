//! The per-instance call budget (`PINTEREST_CALLS_PER_MINUTE`) against the local fake Pinterest with a rate
//! limit, on paused time: calls over budget wait for a slot instead of failing, stay under Pinterest's limit
//! (no 429), fail transiently only when no slot comes before the deadline, and the budget is shared by the
//! invocations of one instance.

use std::sync::Arc;
use std::time::Duration;

use crate::support::fake_pinterest::{AD_ACCOUNT_ID, FakePinterest, Recorded, TOKEN, event, tick};
use crate::support::invoke::{
    Record, SqsAnswer, good_event, invoke, sqs_answer, sqs_event, state_with,
};
use pinterest_destination::budget::CallBudget;
use pinterest_destination::delivery::{DeliveryConfig, deliver};
use pinterest_destination::fate::Fate;
use pinterest_destination::pinterest::client::http_client;
use pinterest_destination::token::{AccessToken, StaticToken};
use tokio::time::Instant;

const TICK: Duration = Duration::from_millis(20);
const MINUTE: Duration = Duration::from_secs(60);

/// Ten events a request, so that 50 events make five requests, four in flight; `calls` a minute.
fn config(base_url: String, calls: u32) -> DeliveryConfig {
    DeliveryConfig {
        base_url,
        ad_account_id: AD_ACCOUNT_ID.to_owned(),
        test_mode: false,
        max_concurrency: 4,
        max_events_per_request: 10,
        max_body_bytes: 1_048_576,
        request_timeout: Duration::from_secs(5),
        deadline_margin: Duration::from_millis(200),
        base_backoff: Duration::from_millis(200),
        max_backoff: Duration::from_secs(5),
        budget: Arc::new(CallBudget::per_minute(calls)),
    }
}

async fn deliver_fifty(cfg: &DeliveryConfig, time_left: Duration) -> Vec<Fate> {
    let http = http_client(Duration::from_secs(1)).expect("http client");
    let events: Vec<String> = (0..50).map(|i| event(&format!("e-{i}"))).collect();
    let tokens = StaticToken(AccessToken::new(TOKEN.to_owned()));
    deliver(&http, cfg, &tokens, &events, Instant::now() + time_left)
        .await
        .outcomes
}

/// Gaps between consecutive arrivals at the fake, on the paused clock.
fn gaps(requests: &[Recorded]) -> Vec<Duration> {
    requests
        .windows(2)
        .map(|pair| pair[1].clock_at - pair[0].clock_at)
        .collect()
}

#[tokio::test(start_paused = true)]
async fn calls_over_budget_wait_for_a_slot_and_stay_under_the_rate_limit() {
    let ticker = tick(TICK);
    let fake = FakePinterest::start_local().await;
    fake.rate_limit(6, MINUTE);
    let outcomes = deliver_fifty(&config(fake.base_url(), 6), Duration::from_secs(120)).await;
    ticker.abort();
    assert_eq!(outcomes, vec![Fate::Delivered; 50]);
    let requests = fake.requests();
    assert_eq!(requests.len(), 5, "one call per request, none refused");
    assert!(requests.iter().all(|r| r.status == 200 && !r.rate_limited));
    // Six a minute: ten seconds apart, although four could have gone at once.
    assert!(
        gaps(&requests)
            .iter()
            .all(|&gap| gap >= Duration::from_secs(10)),
        "{:?}",
        gaps(&requests)
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_budget_the_same_load_meets_the_rate_limit() {
    let ticker = tick(TICK);
    let fake = FakePinterest::start_local().await;
    fake.rate_limit(3, MINUTE);
    let outcomes = deliver_fifty(
        &config(fake.base_url(), 1_000_000),
        Duration::from_secs(120),
    )
    .await;
    ticker.abort();
    // Retry-After is honoured, so the events still arrive in the end, after 429s the budget would have avoided.
    assert_eq!(outcomes, vec![Fate::Delivered; 50]);
    let refused = fake.requests().iter().filter(|r| r.rate_limited).count();
    assert!(refused >= 1, "no 429 without a budget");
}

#[tokio::test(start_paused = true)]
async fn a_call_that_gets_no_slot_before_the_deadline_fails_transiently() {
    let ticker = tick(TICK);
    let fake = FakePinterest::start_local().await;
    // Slots at 0, 10 and 20 s fit before the stop (30 s - 0.2 s); the two other requests get none.
    let outcomes = deliver_fifty(&config(fake.base_url(), 6), Duration::from_secs(30)).await;
    ticker.abort();
    assert_eq!(fake.requests().len(), 3);
    let delivered = outcomes.iter().filter(|o| **o == Fate::Delivered).count();
    assert_eq!(delivered, 30);
    for outcome in outcomes.iter().filter(|o| **o != Fate::Delivered) {
        match outcome {
            Fate::Failed(reason) => {
                assert!(reason.contains("call budget"), "{reason}");
            }
            other => panic!("expected a transient failure, got {other:?}"),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn the_invocations_of_one_instance_share_its_budget() {
    let ticker = tick(TICK);
    let fake = FakePinterest::start_local().await;
    fake.rate_limit(4, MINUTE);
    let base_url = fake.base_url();
    let state = state_with(&[
        ("PINTEREST_API_BASE_URL", base_url.as_str()),
        ("PINTEREST_ACCESS_TOKEN", TOKEN),
        ("PINTEREST_CALLS_PER_MINUTE", "4"),
    ])
    .await;
    for round in 0..3 {
        let records = [Record::json(
            &format!("m-{round}"),
            &good_event(&format!("e-{round}"), &format!("u-{round}")),
        )];
        let invocation = invoke(&state, sqs_event(&records, false), Duration::from_secs(30)).await;
        assert!(
            matches!(sqs_answer(&invocation), SqsAnswer::Partial(ids) if ids.is_empty()),
            "round {round}: every record acknowledged"
        );
    }
    ticker.abort();
    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| !r.rate_limited));
    // Each invocation had a single call, yet the later ones waited for the budget's next slot (15 s).
    assert!(
        gaps(&requests)
            .iter()
            .all(|&gap| gap >= Duration::from_secs(15)),
        "{:?}",
        gaps(&requests)
    );
}
