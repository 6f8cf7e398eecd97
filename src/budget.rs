//! The per-instance call budget (`PINTEREST_CALLS_PER_MINUTE`): no 60-second window holds more than N calls to
//! Pinterest, shared by every invocation of the container.
//!
//! A generic cell rate: calls are spaced evenly, with a burst of up to B calls allowed at once (the requests one
//! invocation sends side by side), and the spacing `60 s / (N − B + 1)` chosen so that a burst plus the calls
//! spaced after it still fit N in any minute. The burst is kept small (at most 2 % of N), so the sustained rate
//! stays within 2 % of N. An idle budget saves up no more than that burst: a window that let N calls go at once
//! and then blocked would make the next invocations wait for most of a minute and fail their records at the
//! deadline.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// One minute.
const WINDOW: Duration = Duration::from_secs(60);

/// The largest share of the budget a burst may take (1/50: 2 %).
const BURST_SHARE: u32 = 50;

/// Free slots for calls.
#[derive(Debug)]
pub struct CallBudget {
    /// Time between two calls after a burst: a minute divided by `calls − burst + 1`, rounded up to the
    /// nanosecond (rounding down would fit one call too many in a minute).
    spacing: Duration,
    /// How far ahead of its even slot a call may go: `(burst − 1) × spacing`.
    tolerance: Duration,
    /// The even slot of the next call (the "theoretical arrival time"); `None` before the first call.
    next: Mutex<Option<Instant>>,
}

impl CallBudget {
    /// At most `calls` calls (at least 1) in any minute, evenly spaced.
    pub fn per_minute(calls: u32) -> Self {
        Self::with_burst(calls, 1)
    }

    /// At most `calls` calls (at least 1) in any minute, of which up to `burst` may go at once; the burst is
    /// cut to 2 % of `calls` (at least 1, which is even spacing).
    pub fn with_burst(calls: u32, burst: u32) -> Self {
        let calls = calls.max(1);
        let burst = burst.clamp(1, (calls / BURST_SHARE).max(1));
        let nanos = WINDOW.as_nanos().div_ceil(u128::from(calls - burst + 1));
        let spacing = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        Self {
            spacing,
            tolerance: spacing * (burst - 1),
            next: Mutex::new(None),
        }
    }

    /// The budget of one instance, as the function builds it from its settings: `PINTEREST_CALLS_PER_MINUTE`,
    /// with a burst of the requests one invocation sends side by side (`PINTEREST_MAX_CONCURRENCY`).
    pub fn for_instance(settings: &crate::config::Settings) -> Self {
        let burst = u32::try_from(settings.max_concurrency).unwrap_or(u32::MAX);
        Self::with_burst(settings.calls_per_minute, burst)
    }

    /// Time between two calls after a burst.
    pub fn spacing(&self) -> Duration {
        self.spacing
    }

    /// Takes the next free slot and waits for it, if it comes no later than `stop`; otherwise takes nothing and
    /// says how long the wait would have been. A slot taken by a call that is then dropped is not given back
    /// (the budget errs on the side of fewer calls).
    pub async fn acquire(&self, stop: Instant) -> Result<(), Duration> {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let even = next.map_or(now, |even| even.max(now));
            let slot = even
                .checked_sub(self.tolerance)
                .map_or(now, |early| early.max(now));
            if slot > stop {
                return Err(slot - now);
            }
            *next = Some(even + self.spacing);
            (slot > now).then_some(slot)
        };
        // A free slot is taken at once: the timer would round even a wait of zero up to its next tick (1 ms).
        if let Some(slot) = slot {
            tokio::time::sleep_until(slot).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use std::sync::Arc;

    /// Starts `calls` acquisitions at once, each allowed until `stop`; returns the (paused-clock) times at which
    /// those that got a slot went, sorted, and how many got none.
    async fn burst(budget: &Arc<CallBudget>, calls: usize, stop: Instant) -> (Vec<Instant>, usize) {
        let tasks: Vec<_> = (0..calls)
            .map(|_| {
                let budget = budget.clone();
                tokio::spawn(async move { budget.acquire(stop).await.map(|()| Instant::now()) })
            })
            .collect();
        let mut went = Vec::new();
        let mut refused = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(at) => went.push(at),
                Err(_) => refused += 1,
            }
        }
        went.sort();
        (went, refused)
    }

    /// Most calls in any window of `width` starting at one of the calls.
    fn most_in_any_window(times: &[Instant], width: Duration) -> usize {
        times
            .iter()
            .enumerate()
            .map(|(i, &start)| {
                times[i..]
                    .iter()
                    .take_while(|&&t| t < start + width)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn calls_over_budget_wait_and_no_minute_holds_more_than_the_budget() {
        let budget = Arc::new(CallBudget::per_minute(7));
        let start = Instant::now();
        let (went, refused) = burst(&budget, 21, start + Duration::from_secs(3600)).await;
        assert_eq!(refused, 0, "every call waits for a slot instead of failing");
        assert_eq!(went.len(), 21);
        assert_eq!(went[0], start, "the first call goes at once");
        assert_eq!(most_in_any_window(&went, WINDOW), 7);
        // Waiting, not idling: 21 calls at 7 a minute take just under three minutes.
        let last = went[20] - start;
        assert!(
            last > Duration::from_secs(171) && last < Duration::from_secs(172),
            "{last:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_that_cannot_get_a_slot_before_the_stop_takes_none() {
        let budget = Arc::new(CallBudget::per_minute(60));
        let start = Instant::now();
        // One a second: with a stop 2.5 s away, three calls fit (at 0, 1 and 2 s) and the others are refused.
        let (went, refused) = burst(&budget, 6, start + Duration::from_millis(2500)).await;
        assert_eq!(went.len(), 3);
        assert_eq!(refused, 3);
        // The refused calls took no slot: at 2 s (the last call), the next slot is at 3 s.
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
        assert_eq!(
            budget.acquire(start + Duration::from_secs(2)).await,
            Err(Duration::from_secs(1))
        );
        budget
            .acquire(start + Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    }

    /// Not a timing: a free slot must not go through the timer, which rounds a wait of zero up to its next
    /// tick, a millisecond later (the first poll would then be pending).
    #[tokio::test]
    async fn a_free_slot_is_taken_without_waiting_for_the_timer() {
        // 200 calls a minute with a burst of 4: the fifth call's slot is 305 ms away, far beyond any pause of
        // the machine between these few polls.
        let budget = CallBudget::with_burst(200, 4);
        let far = Instant::now() + Duration::from_secs(3600);
        for call in 0..4 {
            assert_eq!(
                budget.acquire(far).now_or_never(),
                Some(Ok(())),
                "call {call} of the burst"
            );
        }
        assert_eq!(
            budget.acquire(far).now_or_never(),
            None,
            "the call after the burst waits for its slot"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_budget_does_not_save_up_a_burst() {
        let budget = CallBudget::per_minute(2);
        let far = Instant::now() + Duration::from_secs(3600);
        budget.acquire(far).await.unwrap();
        tokio::time::sleep(Duration::from_secs(600)).await;
        let before = Instant::now();
        budget.acquire(far).await.unwrap();
        budget.acquire(far).await.unwrap();
        assert_eq!(Instant::now() - before, Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_and_no_minute_holds_more_than_the_budget() {
        let budget = Arc::new(CallBudget::with_burst(250, 4));
        let start = Instant::now();
        let (went, refused) = burst(&budget, 1000, start + Duration::from_secs(3600)).await;
        assert_eq!(refused, 0);
        assert_eq!(&went[..4], &[start; 4], "the burst goes at once");
        assert!(went[4] > start, "the fifth call waits");
        assert_eq!(most_in_any_window(&went, WINDOW), 250);
        // The sustained rate stays within 2 % of the budget: 1000 calls in under 4 minutes and 5 seconds.
        assert!(
            went[999] - start < Duration::from_secs(245),
            "{:?}",
            went[999] - start
        );
        // A small budget keeps even spacing: 2 % of 7 calls is less than one.
        assert_eq!(CallBudget::with_burst(7, 4).tolerance, Duration::ZERO);
    }

    #[test]
    fn spacing_rounds_up_so_a_minute_never_fits_one_call_more() {
        let budget = CallBudget::per_minute(7);
        assert!(budget.spacing() * 7 >= WINDOW);
        assert_eq!(
            CallBudget::per_minute(5000).spacing(),
            Duration::from_millis(12)
        );
        assert_eq!(CallBudget::per_minute(0).spacing(), WINDOW);
    }
}
