//! `polling-load audience`: the live-audience scenario. A fresh 3-option
//! poll, a crowd of new voters each voting once (some as browsers with a
//! cookie and retries, the rest as cookieless API clients, every K-th
//! leaving mid-request), live sockets watching, optionally one replica
//! killed mid-run; then the ballots stored are compared with what the
//! voters were told and with what every screen and replica shows.
//!
//! The verdict fails on a lost vote (stored < acknowledged), a doubled vote
//! (stored > acknowledged + refused + cancelled, or > voters), and any
//! socket, replica or the target not showing the stored ballots within the
//! settle time.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::client::{Conn, Target};
use super::draw::{mix, unique_run_id, weighted_pick};
use super::kill::KillSwitch;
use super::poll::{self, Created};
use super::screen::Screen;
use super::settle::settle;
use super::stats::Errors;
use super::verdict::{failures, Tally};
use super::voter::{vote, Fate, Voter};

/// The options of the poll, voted for alike.
const OPTIONS: [&str; 3] = ["Red", "Green", "Blue"];

/// The longest a cancelled voter waits after sending before it leaves.
const MAX_LEAVE_MS: u64 = 20;

/// How long each socket may take to get its first snapshot.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(5);

/// The scenario to run.
#[derive(Clone, Debug)]
pub(crate) struct Audience {
    /// Fresh voters, each voting once.
    pub(crate) voters: usize,
    /// The percentage of them that behave like a browser (see [`Voter`]).
    pub(crate) browser_like: u8,
    /// Voters in flight at once, each task on its own connection.
    pub(crate) concurrency: usize,
    /// Live sockets watching the results.
    pub(crate) sockets: usize,
    /// Every this-many-th voter leaves mid-request; 0: none.
    pub(crate) cancel_every: usize,
    /// The process to `kill -9`, and after what percentage of voters.
    pub(crate) kill: Option<(u32, u8)>,
    /// Every replica's own address, read after the run.
    pub(crate) replicas: Vec<Target>,
    /// How long screens and replicas may take to converge after the last vote.
    pub(crate) settle: Duration,
}

impl Audience {
    /// How voter `n` (from 0) behaves, drawn from `salt`: the browsers and
    /// the leavers spread evenly through the crowd.
    fn voter(&self, n: usize, salt: u64) -> Voter {
        let pct = usize::from(self.browser_like.min(100));
        let leaves = self.cancel_every > 0 && (n + 1).is_multiple_of(self.cancel_every);
        Voter {
            browser: (n + 1) * pct / 100 > n * pct / 100,
            leaves_after: leaves
                .then(|| Duration::from_millis(mix(salt ^ !(n as u64)) % (MAX_LEAVE_MS + 1))),
            choice: weighted_pick(&[1; OPTIONS.len()], salt.wrapping_add(n as u64)),
        }
    }

    /// `2000 voters (0% browser-like), 64 in flight, 8 sockets, every 50th
    /// cancelled, replica pid 1234 killed after 30%`.
    fn describe(&self) -> String {
        let cancelled = match self.cancel_every {
            0 => "none cancelled".to_owned(),
            k => format!("every {} cancelled", ordinal(k)),
        };
        let killed = self.kill.map_or_else(
            || "no replica killed".to_owned(),
            |(pid, after)| format!("replica pid {pid} killed after {after}%"),
        );
        format!(
            "{} voters ({}% browser-like), {} in flight, {} sockets, {cancelled}, {killed}",
            self.voters, self.browser_like, self.concurrency, self.sockets
        )
    }
}

/// Runs `plan` against `target`, printing one line per figure and the
/// verdict; `true` when the verdict is ok.
pub(crate) async fn audience(target: &Target, plan: &Audience) -> bool {
    println!("audience: {}", plan.describe());
    let run = unique_run_id();
    let salt = run.bytes().fold(0, |h, b| mix(h ^ u64::from(b)));
    let draft = serde_json::json!({
        "question": "polling-load audience: which colour?",
        "options": OPTIONS,
    });
    let poll = match poll::create(target, &format!("audience-{run}-poll"), &draft).await {
        Ok(poll) => poll,
        Err(e) => {
            println!(
                "verdict: FAILED: creating the poll at {}: {e}",
                target.origin()
            );
            return false;
        }
    };
    println!("poll {} at {}", poll.id, target.origin());

    let screens: Vec<Arc<Screen>> = (0..plan.sockets).map(|_| Arc::default()).collect();
    let (stop, stopped) = watch::channel(false);
    let sockets = open_sockets(target, &poll, &screens, stopped).await;

    let kill = plan
        .kill
        .map(|(pid, after)| Arc::new(KillSwitch::new(pid, after, plan.voters)));
    let started = Instant::now();
    let (tally, refusals) = crowd(target, &poll, plan, salt, kill.clone()).await;
    let voting = started.elapsed();

    let picture = settle(target, &poll, &screens, &plan.replicas, plan.settle).await;
    let _ = stop.send(true);
    let mut socket_errors = Errors::default();
    for socket in sockets {
        match socket.await {
            Ok(errors) => socket_errors.merge(errors),
            Err(_) => socket_errors.add("socket task failed"),
        }
    }

    let answered = tally.acknowledged + tally.refused;
    let stored = picture
        .stored
        .as_ref()
        .map_or_else(|_| "?".to_owned(), u64::to_string);
    println!(
        "acknowledged {}  refused {}  cancelled {}  stored {stored}  votes/s {:.0}",
        tally.acknowledged,
        tally.refused,
        tally.cancelled,
        answered as f64 / voting.as_secs_f64().max(f64::MIN_POSITIVE),
    );
    if refusals.total() > 0 {
        println!("refused: {refusals}");
    }
    if socket_errors.total() > 0 {
        println!("socket errors: {socket_errors}");
    }
    println!("{picture}");
    let failures = failures(&tally, &picture, kill.map(|k| k.outcome()));
    if failures.is_empty() {
        println!("verdict: ok");
        true
    } else {
        println!("verdict: FAILED: {}", failures.join("; "));
        false
    }
}

/// Opens one live socket per screen, and waits (up to [`SNAPSHOT_WAIT`])
/// until each got its first snapshot.
async fn open_sockets(
    target: &Target,
    poll: &Created,
    screens: &[Arc<Screen>],
    stopped: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<Errors>> {
    let url = target.ws_url(&format!("/api/polls/{}/live", poll.id));
    let (ready, mut readied) = mpsc::channel(screens.len().max(1));
    let sockets = screens
        .iter()
        .map(|screen| {
            tokio::spawn(super::ws::watch_screen(
                url.clone(),
                target.origin(),
                Arc::clone(screen),
                ready.clone(),
                stopped.clone(),
            ))
        })
        .collect();
    drop(ready);
    let deadline = tokio::time::Instant::now() + SNAPSHOT_WAIT;
    for _ in screens {
        if !matches!(
            tokio::time::timeout_at(deadline, readied.recv()).await,
            Ok(Some(()))
        ) {
            eprintln!("polling-load: not every socket got its snapshot within {SNAPSHOT_WAIT:?}");
            break;
        }
    }
    sockets
}

/// Lets every voter of `plan` vote, `plan.concurrency` at a time, and
/// pulls the kill switch when its mark is reached. Returns the tally and
/// the refusals by kind.
async fn crowd(
    target: &Target,
    poll: &Created,
    plan: &Audience,
    salt: u64,
    kill: Option<Arc<KillSwitch>>,
) -> (Tally, Errors) {
    if let Some(kill) = &kill {
        kill.tick(0).await;
    }
    let plan = Arc::new(plan.clone());
    let poll_id: Arc<str> = Arc::from(poll.id.as_str());
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..plan.concurrency.clamp(1, plan.voters.max(1)))
        .map(|_| {
            let (target, plan, poll_id) = (target.clone(), Arc::clone(&plan), Arc::clone(&poll_id));
            let (next, done, kill) = (Arc::clone(&next), Arc::clone(&done), kill.clone());
            tokio::spawn(async move {
                let mut conn = Conn::new(target.clone());
                let mut tally = Tally::default();
                let mut refusals = Errors::default();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= plan.voters {
                        return (tally, refusals);
                    }
                    tally.voters += 1;
                    match vote(&mut conn, &target, &poll_id, plan.voter(n, salt)).await {
                        Fate::Acknowledged => tally.acknowledged += 1,
                        Fate::Refused(why) => {
                            tally.refused += 1;
                            refusals.add(why);
                        }
                        Fate::Cancelled => tally.cancelled += 1,
                    }
                    let done = done.fetch_add(1, Ordering::AcqRel) + 1;
                    if let Some(kill) = &kill {
                        kill.tick(done).await;
                    }
                }
            })
        })
        .collect();
    let mut tally = Tally::default();
    let mut refusals = Errors::default();
    for task in tasks {
        match task.await {
            Ok((part, errors)) => {
                tally.merge(part);
                refusals.merge(errors);
            }
            Err(_) => refusals.add("a voting task failed"),
        }
    }
    (tally, refusals)
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`, ...
fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(voters: usize, browser_like: u8, cancel_every: usize) -> Audience {
        Audience {
            voters,
            browser_like,
            concurrency: 64,
            sockets: 8,
            cancel_every,
            kill: None,
            replicas: Vec::new(),
            settle: Duration::from_secs(10),
        }
    }

    #[test]
    fn browsers_and_leavers_come_in_the_asked_proportions() {
        for (voters, pct, every) in [(500, 50, 25), (2000, 0, 50), (7, 100, 1), (1000, 33, 0)] {
            let plan = plan(voters, pct, every);
            let voters: Vec<Voter> = (0..voters).map(|n| plan.voter(n, 42)).collect();
            let browsers = voters.iter().filter(|v| v.browser).count();
            assert_eq!(browsers, voters.len() * usize::from(pct) / 100);
            let leavers = voters.iter().filter(|v| v.leaves_after.is_some()).count();
            assert_eq!(leavers, voters.len().checked_div(every).unwrap_or(0));
            assert!(voters
                .iter()
                .filter_map(|v| v.leaves_after)
                .all(|d| d <= Duration::from_millis(MAX_LEAVE_MS)));
            assert!(voters.iter().all(|v| v.choice < OPTIONS.len()));
        }
    }

    #[test]
    fn the_plan_reads_as_asked() {
        let mut p = plan(2000, 0, 50);
        p.kill = Some((1234, 30));
        assert_eq!(
            p.describe(),
            "2000 voters (0% browser-like), 64 in flight, 8 sockets, every 50th cancelled, replica pid 1234 killed after 30%"
        );
        assert_eq!(ordinal(1), "1st");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(ordinal(13), "13th");
        assert_eq!(ordinal(103), "103rd");
    }
}
