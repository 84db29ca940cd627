//! The audience run's verdict: what the voters were told against what was
//! stored and shown.

use super::settle::{Picture, Reading};

/// What the voters were told.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    /// Voters in the run.
    pub(crate) voters: u64,
    /// Voters answered 2xx.
    pub(crate) acknowledged: u64,
    /// Voters refused or failed (their ballot may still have landed).
    pub(crate) refused: u64,
    /// Voters who left mid-request (their ballot may have landed).
    pub(crate) cancelled: u64,
}

impl Tally {
    /// Adds `other`'s voters to these.
    pub(crate) fn merge(&mut self, other: Self) {
        self.voters += other.voters;
        self.acknowledged += other.acknowledged;
        self.refused += other.refused;
        self.cancelled += other.cancelled;
    }
}

/// Every way the run failed, in a few words each; empty when it is ok.
/// `killed` is `None` when no kill was asked for, else how the kill went
/// (`None` inside: it was never sent). At most one replica may refuse
/// connections, and only the killed one.
pub(crate) fn failures(
    tally: &Tally,
    picture: &Picture,
    killed: Option<Option<Result<(), String>>>,
) -> Vec<String> {
    let mut failures = Vec::new();
    match &killed {
        Some(None) => failures.push("the replica was never killed".to_owned()),
        Some(Some(Err(e))) => failures.push(format!("killing the replica: {e}")),
        _ => {}
    }
    let stored = match &picture.stored {
        Ok(stored) => *stored,
        Err(e) => {
            failures.push(format!("the stored ballots could not be read: {e}"));
            return failures;
        }
    };
    if stored < tally.acknowledged {
        failures.push(format!(
            "lost votes: stored {stored} < acknowledged {}",
            tally.acknowledged
        ));
    }
    let answered = tally.acknowledged + tally.refused + tally.cancelled;
    if stored > answered {
        failures.push(format!(
            "doubled votes: stored {stored} > acknowledged + refused + cancelled {answered}"
        ));
    }
    if stored > tally.voters {
        failures.push(format!(
            "more ballots than voters: stored {stored} > {}",
            tally.voters
        ));
    }
    let behind: Vec<String> = picture
        .sockets
        .iter()
        .filter(|&&s| s != Some(stored))
        .map(|s| s.map_or_else(|| "nothing".to_owned(), |t| t.to_string()))
        .collect();
    if !behind.is_empty() {
        failures.push(format!(
            "{} of {} sockets do not show {stored} (they show {})",
            behind.len(),
            picture.sockets.len(),
            behind.join(", ")
        ));
    }
    let may_be_down = usize::from(killed.is_some());
    let mut down = 0;
    for (address, reading) in &picture.replicas {
        match reading {
            Reading::Total(t) if *t == stored => {}
            Reading::Unreachable => {
                down += 1;
                if down > may_be_down {
                    failures.push(format!("replica {address} refuses connections"));
                }
            }
            other => failures.push(format!("replica {address} shows {other}, not {stored}")),
        }
    }
    if picture.target != Reading::Total(stored) {
        failures.push(format!("the target shows {}, not {stored}", picture.target));
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally() -> Tally {
        Tally {
            voters: 100,
            acknowledged: 90,
            refused: 2,
            cancelled: 8,
        }
    }

    fn picture(stored: u64) -> Picture {
        Picture {
            stored: Ok(stored),
            sockets: vec![Some(stored); 2],
            replicas: vec![("http://a".into(), Reading::Total(stored))],
            target: Reading::Total(stored),
        }
    }

    #[test]
    fn stored_between_acknowledged_and_every_attempt_is_ok() {
        for stored in 90..=100 {
            assert_eq!(
                failures(&tally(), &picture(stored), None),
                Vec::<String>::new()
            );
        }
    }

    #[test]
    fn a_lost_or_doubled_vote_fails() {
        let lost = failures(&tally(), &picture(89), None);
        assert_eq!(lost, ["lost votes: stored 89 < acknowledged 90"]);
        let doubled = Tally {
            voters: 100,
            acknowledged: 90,
            refused: 0,
            cancelled: 0,
        };
        let f = failures(&doubled, &picture(91), None);
        assert_eq!(
            f,
            ["doubled votes: stored 91 > acknowledged + refused + cancelled 90"]
        );
        let f = failures(&tally(), &picture(101), None);
        assert!(
            f.iter().any(|f| f.starts_with("more ballots than voters")),
            "{f:?}"
        );
    }

    #[test]
    fn a_screen_or_server_behind_fails() {
        let mut p = picture(95);
        p.sockets[0] = Some(94);
        p.replicas[0].1 = Reading::Failed("HTTP 404".into());
        p.target = Reading::Total(96);
        let f = failures(&tally(), &p, None);
        assert_eq!(
            f,
            [
                "1 of 2 sockets do not show 95 (they show 94)",
                "replica http://a shows failed (HTTP 404), not 95",
                "the target shows 96, not 95",
            ]
        );
    }

    #[test]
    fn only_a_killed_replica_may_be_unreachable() {
        let mut p = picture(95);
        p.replicas[0].1 = Reading::Unreachable;
        assert_eq!(
            failures(&tally(), &p, Some(Some(Ok(())))),
            Vec::<String>::new()
        );
        assert_eq!(
            failures(&tally(), &p, None),
            ["replica http://a refuses connections"]
        );
        assert_eq!(
            failures(&tally(), &picture(95), Some(None)),
            ["the replica was never killed"]
        );
    }
}
