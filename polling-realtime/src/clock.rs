//! [`Clocks`]: one timer per cadence for every socket's pings and pong
//! deadlines, instead of two timers in each socket.
//!
//! Ten thousand idle sockets each holding a ping interval and a pong deadline
//! are twenty thousand timers in tokio's wheel and two timer entries in every
//! socket's state; here a socket holds one `watch` receiver of its
//! cadence's [`Beat`], and one task per cadence counts the beats for all.
//! The beat also says when the hub shuts down, so an idle socket waits on
//! one receiver for everything but its poll's results and its client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::{self, Instant};

/// How often sockets are pinged and how long each has to answer.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) struct Cadence {
    /// Between two pings.
    pub(crate) ping_interval: Duration,
    /// After a ping, before its socket is dead unless it sent a frame.
    pub(crate) pong_timeout: Duration,
}

/// What a cadence's clock has counted since it started: both only grow, so a
/// socket that missed beats while busy still learns of every one of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Beat {
    /// Ping moments passed: a socket pings when this grew since it last
    /// looked.
    pub(crate) pings: u64,
    /// Pong deadlines passed: the `n`th is `pong_timeout` after the `n`th
    /// ping moment, so a socket whose ping `n` is unanswered is dead once
    /// this reaches `n`.
    pub(crate) deadlines: u64,
    /// The hub is shutting down: every socket closes.
    pub(crate) shutdown: bool,
}

/// The clocks of one hub, one per cadence in use. A clock's task ends when
/// its last socket has gone.
#[derive(Default)]
pub(crate) struct Clocks {
    /// The running clocks, and whether the hub shut down.
    state: Mutex<State>,
}

/// What [`Clocks`] guards.
#[derive(Default)]
struct State {
    /// The running clocks.
    running: HashMap<Cadence, watch::Sender<Beat>>,
    /// Set once by [`Clocks::shut_down`]; every beat carries it from then on.
    shut_down: bool,
}

impl Clocks {
    fn state(&self) -> MutexGuard<'_, State> {
        // Entries are inserted and removed whole: a poisoned map is consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Tells every socket, now and to come, that the hub shuts down.
    pub(crate) fn shut_down(&self) {
        let mut state = self.state();
        state.shut_down = true;
        for beats in state.running.values() {
            beats.send_modify(|beat| beat.shutdown = true);
        }
    }

    /// The beats of `cadence`, its clock started if none runs: a socket's
    /// first ping comes at the clock's next ping moment, within one interval.
    ///
    /// Must be called within a tokio runtime.
    pub(crate) fn subscribe(self: &Arc<Self>, cadence: Cadence) -> watch::Receiver<Beat> {
        let mut state = self.state();
        if let Some(beats) = state.running.get(&cadence) {
            return beats.subscribe();
        }
        let (beats, receiver) = watch::channel(Beat {
            shutdown: state.shut_down,
            ..Beat::default()
        });
        state.running.insert(cadence, beats.clone());
        tokio::spawn(tick(Arc::downgrade(self), cadence, beats));
        receiver
    }
}

/// Counts the beats of `cadence` until no socket listens or the hub is gone.
async fn tick(clocks: Weak<Clocks>, cadence: Cadence, beats: watch::Sender<Beat>) {
    let start = Instant::now();
    let mut ping_at = start + cadence.ping_interval;
    let mut deadline_at = ping_at + cadence.pong_timeout;
    let mut beat = Beat::default();
    loop {
        let next = if beat.deadlines < beat.pings {
            ping_at.min(deadline_at)
        } else {
            ping_at
        };
        time::sleep_until(next).await;
        let now = Instant::now();
        while ping_at <= now {
            beat.pings += 1;
            ping_at += cadence.ping_interval;
        }
        while beat.deadlines < beat.pings && deadline_at <= now {
            beat.deadlines += 1;
            deadline_at += cadence.ping_interval;
        }
        let Some(clocks) = clocks.upgrade() else {
            return;
        };
        // Under the lock, so that no socket subscribes to a clock that stops.
        let mut state = clocks.state();
        if beats.receiver_count() == 0 {
            state.running.remove(&cadence);
            return;
        }
        drop(state);
        beats.send_modify(|now| {
            now.pings = beat.pings;
            now.deadlines = beat.deadlines;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CADENCE: Cadence = Cadence {
        ping_interval: Duration::from_secs(20),
        pong_timeout: Duration::from_secs(10),
    };

    #[tokio::test(start_paused = true)]
    async fn pings_and_deadlines_come_at_their_moments() {
        let clocks = Arc::new(Clocks::default());
        let mut beats = clocks.subscribe(CADENCE);
        let start = Instant::now();
        let mut seen = Vec::new();
        for _ in 0..4 {
            beats.changed().await.expect("the clock runs");
            seen.push((start.elapsed().as_secs(), *beats.borrow_and_update()));
        }
        let beat = |pings, deadlines| Beat {
            pings,
            deadlines,
            shutdown: false,
        };
        assert_eq!(
            seen,
            [
                (20, beat(1, 0)),
                (30, beat(1, 1)),
                (40, beat(2, 1)),
                (50, beat(2, 2))
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_longer_than_the_interval_still_counts_each_ping() {
        let clocks = Arc::new(Clocks::default());
        let cadence = Cadence {
            ping_interval: Duration::from_secs(10),
            pong_timeout: Duration::from_secs(25),
        };
        let mut beats = clocks.subscribe(cadence);
        time::sleep(Duration::from_secs(36)).await;
        beats.changed().await.expect("the clock runs");
        // Pings at 10, 20, 30; the first deadline at 35.
        assert_eq!(
            *beats.borrow_and_update(),
            Beat {
                pings: 3,
                deadlines: 1,
                shutdown: false
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn sockets_of_one_cadence_share_a_clock_that_stops_with_the_last() {
        let clocks = Arc::new(Clocks::default());
        let first = clocks.subscribe(CADENCE);
        let second = clocks.subscribe(CADENCE);
        let other = clocks.subscribe(Cadence {
            ping_interval: Duration::from_secs(5),
            ..CADENCE
        });
        assert_eq!(clocks.state().running.len(), 2);
        assert!(first.same_channel(&second));
        drop((first, second, other));
        time::sleep(CADENCE.ping_interval * 2).await;
        assert!(clocks.state().running.is_empty(), "both clocks stopped");
        // A new socket starts the clock again.
        let mut again = clocks.subscribe(CADENCE);
        again.changed().await.expect("a new clock runs");
        assert_eq!(again.borrow().pings, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_shutdown_reaches_running_clocks_and_clocks_started_after_it() {
        let clocks = Arc::new(Clocks::default());
        let mut running = clocks.subscribe(CADENCE);
        clocks.shut_down();
        running.changed().await.expect("told at once");
        assert!(running.borrow_and_update().shutdown);
        // Beats after it still say so.
        running.changed().await.expect("the clock runs");
        assert!(running.borrow().shutdown && running.borrow().pings == 1);
        let later = clocks.subscribe(Cadence {
            ping_interval: Duration::from_secs(1),
            ..CADENCE
        });
        assert!(later.borrow().shutdown);
    }
}
