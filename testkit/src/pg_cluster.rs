//! [`PgCluster`]: a PostgreSQL cluster of a test's own, to stop and restart.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::redis_server::{free_port, wait_for_port};

/// Where PostgreSQL's programs are when `POLLING_PG_BIN` does not say.
const DEFAULT_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL cluster (`initdb` into a directory of its own) on a free
/// port, trust authentication for `postgres` on 127.0.0.1, stopped and
/// removed when dropped.
///
/// PostgreSQL refuses to run as root: when the test runs as root, the
/// programs run as the `postgres` OS user (`runuser`), in a directory that
/// user owns. The programs are taken from `POLLING_PG_BIN`, by default
/// `/usr/lib/postgresql/15/bin`; when they are missing, [`start`](Self::start)
/// fails saying so rather than skipping anything.
///
/// # Example
///
/// ```no_run
/// use polling_testkit::PgCluster;
///
/// let mut pg = PgCluster::start();
/// let url = pg.url(); // postgres://postgres@127.0.0.1:PORT/postgres
/// pg.stop(); // `pg_ctl stop -m immediate`: connections drop, new ones refused
/// pg.restart(); // back on the same port, with every committed transaction
/// # let _ = url;
/// ```
#[derive(Debug)]
pub struct PgCluster {
    /// The port it listens on, kept across restarts.
    port: u16,
    /// The cluster's scratch directory: `data/`, the socket, the log.
    dir: PathBuf,
    /// PostgreSQL's programs.
    bin: PathBuf,
    /// Whether the server is running.
    running: bool,
}

impl PgCluster {
    /// Makes a cluster and starts it.
    ///
    /// # Panics
    ///
    /// When PostgreSQL's programs are missing, or `initdb` or the server
    /// fail (with their output).
    pub fn start() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let bin =
            std::env::var_os("POLLING_PG_BIN").map_or_else(|| DEFAULT_BIN.into(), PathBuf::from);
        for program in ["initdb", "pg_ctl", "postgres"] {
            assert!(
                bin.join(program).is_file(),
                "PostgreSQL's {program} is not in {} (set POLLING_PG_BIN to the directory of initdb, pg_ctl and postgres)",
                bin.display()
            );
        }
        let dir = std::env::temp_dir().join(format!(
            "polling-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        let mut cluster = Self {
            port: free_port(),
            dir,
            bin,
            running: false,
        };
        if running_as_root() {
            checked(
                Command::new("chown")
                    .arg("postgres:")
                    .arg(&cluster.dir)
                    .output(),
                "chown the cluster's directory to postgres",
            );
        }
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                cluster.data().as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        cluster.restart();
        cluster
    }

    /// The URL of the `postgres` database as the `postgres` user.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server at once (`pg_ctl stop -m immediate`: no checkpoint,
    /// every connection dropped, as a crash would), and waits until it is gone.
    pub fn stop(&mut self) {
        if self.running {
            self.running = false;
            let data = self.data();
            self.run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-m".as_ref(),
                    "immediate".as_ref(),
                    "-w".as_ref(),
                    "stop".as_ref(),
                ],
            );
        }
    }

    /// Starts the server (again) on the same port and waits until it
    /// accepts connections.
    pub fn restart(&mut self) {
        self.stop();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let data = self.data();
        let log = self.dir.join("postgres.log");
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        self.running = true;
        wait_for_port(self.port, "postgres");
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of PostgreSQL's programs in the cluster's directory; panics
    /// with its output if it fails.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let mut command = self.command(program);
        command.args(args).current_dir(&self.dir);
        checked(command.output(), &format!("{program} {args:?}"));
    }

    /// A command for one of PostgreSQL's programs, run as the `postgres` OS
    /// user when we are root.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if running_as_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            self.running = false;
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-w", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether this process runs as root (uid 0).
pub(crate) fn running_as_root() -> bool {
    // /proc/self/status has "Uid:\treal\teffective\t...".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|uids| uids.split_whitespace().nth(1).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// Panics with `what` and the program's output unless it ran and succeeded.
fn checked(output: std::io::Result<Output>, what: &str) {
    let output = output.unwrap_or_else(|e| panic!("{what}: cannot run it: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
