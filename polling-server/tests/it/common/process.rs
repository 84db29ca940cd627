//! [`ServerProcess`]: the `polling-server` binary itself, on a free port.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// A `polling-server` process, killed when dropped. What it logged (its
/// standard output and error) is kept in a file and printed when the test
/// fails (drops it while panicking).
pub(crate) struct ServerProcess {
    /// The running binary.
    child: Child,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// Its standard output and error: the log lines.
    log: tempfile::NamedTempFile,
}

impl ServerProcess {
    /// Starts the binary on a free port with `env` as its only settings, and
    /// waits until it accepts connections.
    ///
    /// Without a `DATABASE_URL` in `env`, the process keeps its polls in
    /// memory (`DATABASE_URL=memory`), never in the default SQLite file of
    /// the working directory (the crate's, in the repository).
    pub(crate) async fn start(env: &[(&str, String)]) -> Self {
        let memory = (
            "DATABASE_URL",
            polling_server::MEMORY_DATABASE_URL.to_owned(),
        );
        let env: Vec<(&str, String)> = std::iter::once(memory).chain(env.iter().cloned()).collect();
        Self::spawn(None, &env, &[]).await
    }

    /// Starts the binary as [`start`](Self::start) does, but in the working
    /// directory `dir` and with `env` alone (no `DATABASE_URL` unless
    /// given: the default SQLite file, in `dir`).
    pub(crate) async fn start_in(dir: &Path, env: &[(&str, String)]) -> Self {
        Self::spawn(Some(dir), env, &[]).await
    }

    /// [`start_in`](Self::start_in) with `args` on the command line.
    pub(crate) async fn start_in_with(dir: &Path, env: &[(&str, String)], args: &[&str]) -> Self {
        Self::spawn(Some(dir), env, args).await
    }

    async fn spawn(dir: Option<&Path>, env: &[(&str, String)], args: &[&str]) -> Self {
        let addr = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap()
        };
        let log = tempfile::NamedTempFile::new().expect("a file for the server's log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_polling-server"));
        command
            .args(args)
            .env_clear()
            .env("POLLING_LISTEN", addr.to_string())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(appending(&log))
            .stderr(appending(&log));
        if let Some(dir) = dir {
            command.current_dir(dir);
        }
        let child = command.spawn().expect("start polling-server");
        let process = Self { child, addr, log };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("polling-server did not listen on {addr} within 10 s");
    }

    /// What the process logged so far.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM.
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits up to `within` for the process to exit; its status, or `None`
    /// if it is still running.
    pub(crate) async fn exited_within(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for polling-server") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(self.log.path()).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            eprintln!(
                "--- the last {} log lines of polling-server {} (pid {}):\n{}",
                tail.len(),
                self.addr,
                self.child.id(),
                tail.join("\n")
            );
        }
    }
}

/// `log` opened for appending: the process's two outputs, each a handle of
/// its own, add to the end of the file instead of writing over each other.
fn appending(log: &tempfile::NamedTempFile) -> std::fs::File {
    std::fs::OpenOptions::new()
        .append(true)
        .open(log.path())
        .expect("open the log file to append")
}
