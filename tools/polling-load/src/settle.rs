//! After the last vote: waiting until every screen, every replica and the
//! target show the ballots stored, and what each showed when the wait ended.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::client::{refused_connection, Shown, Target};
use super::poll::{self, Created};
use super::screen::Screen;

/// A poll's results total as read from one server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reading {
    /// `GET .../results` answered this total.
    Total(u64),
    /// Nothing listens there any more (a killed replica).
    Unreachable,
    /// Any other answer or failure, in a few words.
    Failed(String),
}

/// Everything shown at one moment.
#[derive(Clone, Debug)]
pub(crate) struct Picture {
    /// The ballots the owner's export holds.
    pub(crate) stored: Result<u64, String>,
    /// The total each socket shows; `None` before its first snapshot.
    pub(crate) sockets: Vec<Option<u64>>,
    /// Each replica's address and what it answered.
    pub(crate) replicas: Vec<(String, Reading)>,
    /// What the target answered.
    pub(crate) target: Reading,
}

impl Picture {
    /// Whether everything that can be read shows the stored ballots (a
    /// replica that refuses connections is left out).
    pub(crate) fn converged(&self) -> bool {
        let Ok(stored) = self.stored else {
            return false;
        };
        self.sockets.iter().all(|&s| s == Some(stored))
            && self.replicas.iter().all(|(_, r)| {
                matches!(r, Reading::Total(t) if *t == stored) || *r == Reading::Unreachable
            })
            && self.target == Reading::Total(stored)
    }
}

impl fmt::Display for Picture {
    /// `shown: sockets 8/8 at 1993 (max lag 0), replicas 2/2 at 1993, target 1993`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stored = self.stored.as_ref().ok().copied();
        let at = stored.map_or_else(|| "?".to_owned(), |s| s.to_string());
        let showing = self
            .sockets
            .iter()
            .filter(|&&s| s.is_some() && s == stored)
            .count();
        let lag = stored.map_or_else(
            || "?".to_owned(),
            |s| {
                self.sockets
                    .iter()
                    .map(|shown| s.abs_diff(shown.unwrap_or(0)))
                    .max()
                    .unwrap_or(0)
                    .to_string()
            },
        );
        write!(
            f,
            "shown: sockets {showing}/{} at {at} (max lag {lag})",
            self.sockets.len()
        )?;
        if !self.replicas.is_empty() {
            let reachable = self
                .replicas
                .iter()
                .filter(|(_, r)| *r != Reading::Unreachable)
                .count();
            let showing = self
                .replicas
                .iter()
                .filter(|(_, r)| stored.is_some_and(|s| *r == Reading::Total(s)))
                .count();
            write!(f, ", replicas {showing}/{reachable} at {at}")?;
            if reachable < self.replicas.len() {
                write!(f, " ({} unreachable)", self.replicas.len() - reachable)?;
            }
        }
        write!(f, ", target {}", self.target)
    }
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Total(total) => write!(f, "{total}"),
            Self::Unreachable => f.write_str("unreachable"),
            Self::Failed(e) => write!(f, "failed ({e})"),
        }
    }
}

/// Reads everything every 100 ms until it [converged](Picture::converged) on
/// the same stored count twice in a row, or `within` passed, and returns the
/// last picture. The stored ballots are read again each time: a cancelled
/// vote may still be landing.
pub(crate) async fn settle(
    target: &Target,
    poll: &Created,
    screens: &[Arc<Screen>],
    replicas: &[Target],
    within: Duration,
) -> Picture {
    let deadline = Instant::now() + within;
    let mut converged_at = None;
    loop {
        let picture = Picture {
            stored: poll::stored_ballots(target, poll).await,
            sockets: screens
                .iter()
                .map(|screen| screen.shown().map(|s| s.total))
                .collect(),
            replicas: {
                let mut readings = Vec::with_capacity(replicas.len());
                for replica in replicas {
                    readings.push((replica.origin(), read(replica, &poll.id).await));
                }
                readings
            },
            target: read(target, &poll.id).await,
        };
        let converged = picture.converged().then(|| picture.stored.clone());
        if (converged.is_some() && converged == converged_at) || Instant::now() >= deadline {
            return picture;
        }
        converged_at = converged;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The results total `server` shows for `poll_id`.
async fn read(server: &Target, poll_id: &str) -> Reading {
    match poll::results(server, poll_id).await {
        Ok(results) => Shown::of(&results).map_or_else(
            || Reading::Failed("results without a total".into()),
            |shown| Reading::Total(shown.total),
        ),
        Err(e) if refused_connection(&e) => Reading::Unreachable,
        Err(e) => Reading::Failed(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture() -> Picture {
        Picture {
            stored: Ok(10),
            sockets: vec![Some(10), Some(10)],
            replicas: vec![
                ("http://a".into(), Reading::Total(10)),
                ("http://b".into(), Reading::Unreachable),
            ],
            target: Reading::Total(10),
        }
    }

    #[test]
    fn a_killed_replica_does_not_hold_up_convergence() {
        let p = picture();
        assert!(p.converged());
        assert_eq!(
            p.to_string(),
            "shown: sockets 2/2 at 10 (max lag 0), replicas 1/1 at 10 (1 unreachable), target 10"
        );
    }

    #[test]
    fn one_screen_behind_is_not_converged() {
        let mut p = picture();
        p.sockets[1] = Some(7);
        assert!(!p.converged());
        assert!(p
            .to_string()
            .starts_with("shown: sockets 1/2 at 10 (max lag 3)"));
        let mut p = picture();
        p.sockets[0] = None;
        assert!(!p.converged());
        let mut p = picture();
        p.replicas[0].1 = Reading::Failed("HTTP 404".into());
        assert!(!p.converged());
        let mut p = picture();
        p.stored = Err("down".into());
        assert!(!p.converged());
    }
}
