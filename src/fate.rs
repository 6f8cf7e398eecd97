//! What became of one event: the one vocabulary that mapping, delivery, the triggers, the CLI and the metrics
//! share. Pinterest's own per-event answer stays a wire type (`pinterest::response`).

/// The end of one event's way through the function. Reasons carry no personal data and no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    /// Pinterest processed it.
    Delivered,
    /// A dry run (`pinterest-cli replay` without `--send`): it would have been sent; nothing was.
    WouldSend,
    /// Its event name has no mapping.
    Skipped(String),
    /// The consent gate kept it back.
    Filtered(String),
    /// Permanent: the event is invalid, or Pinterest refused it. Sending it again would fail again.
    Rejected(String),
    /// Transient: it may succeed later (rate limit, 5xx, time-out, network, token unavailable).
    Failed(String),
}

impl Fate {
    /// Its name in log lines, the CLI's lines and the API's results.
    pub fn name(&self) -> &'static str {
        match self {
            Fate::Delivered => "delivered",
            Fate::WouldSend => "would_send",
            Fate::Skipped(_) => "skipped",
            Fate::Filtered(_) => "filtered",
            Fate::Rejected(_) => "rejected",
            Fate::Failed(_) => "failed",
        }
    }

    /// Why it was skipped, filtered, rejected or failed.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Fate::Delivered | Fate::WouldSend => None,
            Fate::Skipped(reason)
            | Fate::Filtered(reason)
            | Fate::Rejected(reason)
            | Fate::Failed(reason) => Some(reason),
        }
    }
}

/// How many events met each fate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub delivered: u64,
    pub would_send: u64,
    pub skipped: u64,
    pub filtered: u64,
    pub rejected: u64,
    pub failed: u64,
}

impl Tally {
    /// The tally of `fates`.
    pub fn of<'a>(fates: impl IntoIterator<Item = &'a Fate>) -> Self {
        let mut tally = Self::default();
        for fate in fates {
            let count = match fate {
                Fate::Delivered => &mut tally.delivered,
                Fate::WouldSend => &mut tally.would_send,
                Fate::Skipped(_) => &mut tally.skipped,
                Fate::Filtered(_) => &mut tally.filtered,
                Fate::Rejected(_) => &mut tally.rejected,
                Fate::Failed(_) => &mut tally.failed,
            };
            *count += 1;
        }
        tally
    }

    /// Every event counted.
    pub fn events(&self) -> u64 {
        self.delivered
            + self.would_send
            + self.skipped
            + self.filtered
            + self.rejected
            + self.failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fate_has_its_name_and_count() {
        let fates = [
            Fate::Delivered,
            Fate::WouldSend,
            Fate::Skipped("s".into()),
            Fate::Filtered("f".into()),
            Fate::Rejected("r".into()),
            Fate::Failed("x".into()),
            Fate::Failed("y".into()),
        ];
        let names: Vec<&str> = fates.iter().map(Fate::name).collect();
        assert_eq!(
            names,
            [
                "delivered",
                "would_send",
                "skipped",
                "filtered",
                "rejected",
                "failed",
                "failed"
            ]
        );
        let tally = Tally::of(&fates);
        assert_eq!(
            (
                tally.delivered,
                tally.would_send,
                tally.skipped,
                tally.filtered,
                tally.rejected,
                tally.failed
            ),
            (1, 1, 1, 1, 1, 2)
        );
        assert_eq!(tally.events(), 7);
        assert_eq!(fates[4].reason(), Some("r"));
        assert_eq!(fates[0].reason(), None);
    }
}
