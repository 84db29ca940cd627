//! Killing a replica mid-run: `kill -9` once enough voters are done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// Sends SIGKILL to `pid` the first time [`tick`](Self::tick) sees `at`
/// voters done, and keeps how that went.
#[derive(Debug)]
pub(crate) struct KillSwitch {
    /// The process to kill.
    pid: u32,
    /// After how many voters are done.
    at: usize,
    /// Whether the kill was sent (or is being sent).
    fired: AtomicBool,
    /// How the kill went, once it went.
    outcome: Mutex<Option<Result<(), String>>>,
}

impl KillSwitch {
    /// Kills `pid` once `percent`% of `voters` are done (rounded up).
    pub(crate) fn new(pid: u32, percent: u8, voters: usize) -> Self {
        Self {
            pid,
            at: (voters * usize::from(percent)).div_ceil(100),
            fired: AtomicBool::new(false),
            outcome: Mutex::new(None),
        }
    }

    /// Kills the process if `done` voters reach the mark and no one has yet.
    pub(crate) async fn tick(&self, done: usize) {
        if done < self.at || self.fired.swap(true, Ordering::AcqRel) {
            return;
        }
        let outcome = kill(self.pid).await;
        *self.outcome.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
    }

    /// How the kill went; `None` if it was never sent.
    pub(crate) fn outcome(&self) -> Option<Result<(), String>> {
        self.outcome
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// `kill -9 pid`.
async fn kill(pid: u32) -> Result<(), String> {
    let output = tokio::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .output()
        .await
        .map_err(|e| format!("running kill: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "kill -9 {pid}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn it_kills_once_at_its_mark() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let switch = KillSwitch::new(child.id(), 30, 10);
        switch.tick(2).await;
        assert_eq!(switch.outcome(), None, "2 of 10 is not 30%");
        switch.tick(3).await;
        assert_eq!(switch.outcome(), Some(Ok(())));
        let status = child.wait().unwrap();
        assert!(!status.success(), "killed: {status:?}");
        switch.tick(4).await;
        assert_eq!(switch.outcome(), Some(Ok(())), "never twice");
    }
}
