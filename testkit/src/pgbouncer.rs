//! [`PgBouncer`]: a PgBouncer of a test's own, in transaction mode, in front
//! of a PostgreSQL database.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::pg_cluster::running_as_root;
use crate::redis_server::{free_port, wait_for_port};

/// The oldest PgBouncer that keeps a client's named prepared statements in
/// transaction mode (`max_prepared_statements`), which sqlx sends.
const OLDEST: (u32, u32) = (1, 21);

/// A `pgbouncer` child process on a free port of its own, in
/// `pool_mode = transaction` with `max_prepared_statements`, in front of one
/// PostgreSQL database, killed when dropped.
///
/// It runs the machine's `pgbouncer` when that is 1.21 or newer, else the
/// one in the Debian root `scripts/deps` makes (`POLLING_PGBOUNCER_ROOT`,
/// default [`DEFAULT_ROOT`](Self::DEFAULT_ROOT); Debian 12's PgBouncer is
/// 1.18), under `chroot` as `nobody`: PgBouncer refuses to run as root. When neither is there,
/// [`start`](Self::start) fails saying so rather than skipping anything.
///
/// The pooler's settings are the operators' own,
/// `compose/pgbouncer/pgbouncer.ini` (which `docs/pgbouncer.md` explains):
/// transaction pooling, named prepared statements kept, sqlx's
/// `extra_float_digits` startup parameter ignored, the statement timeout
/// set on each server connection
/// ([`statement_timeout_ms`](Self::statement_timeout_ms)). Only where it
/// listens, its upstream, trust authentication and the number of server
/// connections ([`SERVER_CONNECTIONS`](Self::SERVER_CONNECTIONS)) are the
/// test's.
///
/// # Example
///
/// ```no_run
/// # async fn example(direct: sqlx::postgres::PgConnectOptions) {
/// use polling_testkit::PgBouncer;
///
/// let bouncer = PgBouncer::start(&direct);
/// let url = bouncer.url(); // postgres://postgres@127.0.0.1:PORT/<database>
/// let pool = bouncer.pool(10).await; // keeps the PgBouncer alive while it lives
/// # let _ = (url, pool);
/// # }
/// ```
#[derive(Debug)]
pub struct PgBouncer {
    /// The port it listens on.
    port: u16,
    /// The database and user it serves, as the direct options name them.
    upstream: PgConnectOptions,
    /// Its configuration, user list and log.
    dir: PathBuf,
    /// The running pooler.
    child: Child,
}

impl PgBouncer {
    /// Where `scripts/deps` puts a Debian root with PgBouncer when the
    /// machine's own is missing or too old (`POLLING_PGBOUNCER_ROOT` says
    /// otherwise).
    pub const DEFAULT_ROOT: &'static str = "/var/tmp/polling-pgbouncer-root";

    /// How many server connections PgBouncer opens to the database: fewer
    /// than a client pool's, so that every server connection serves many
    /// clients' transactions in turn, as in production.
    pub const SERVER_CONNECTIONS: u32 = 2;

    /// The `statement_timeout` (ms) PgBouncer sets on each server connection
    /// it opens (the operators' `connect_query`), since it refuses one a
    /// client sends.
    pub fn statement_timeout_ms() -> u32 {
        let (_, rest) = OPERATORS
            .split_once("SET statement_timeout = ")
            .expect("the operators' connect_query sets statement_timeout");
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().expect("a statement timeout in milliseconds")
    }

    /// Starts a PgBouncer in front of `upstream`'s database (a TCP host) and
    /// waits until it accepts connections.
    ///
    /// # Panics
    ///
    /// When no PgBouncer 1.21 or newer is found, or it does not listen
    /// within 30 s (with its log).
    pub fn start(upstream: &PgConnectOptions) -> Self {
        Self::with_server_connections(upstream, Self::SERVER_CONNECTIONS)
    }

    /// [`start`](Self::start) with `servers` server connections instead of
    /// [`SERVER_CONNECTIONS`](Self::SERVER_CONNECTIONS): as many as a
    /// direct pool would have, to compare the two.
    ///
    /// # Panics
    ///
    /// As [`start`](Self::start).
    pub fn with_server_connections(upstream: &PgConnectOptions, servers: u32) -> Self {
        let runner = Runner::find();
        let port = free_port();
        let dir = runner.scratch(port);
        let (user, database) = names(upstream);
        fs::write(dir.join("userlist.txt"), format!("\"{user}\" \"\"\n")).expect("write userlist");
        fs::write(
            dir.join("pgbouncer.ini"),
            config(
                &runner.inside(&dir),
                port,
                servers,
                (database, upstream.get_host(), upstream.get_port()),
            ),
        )
        .expect("write pgbouncer.ini");
        let log = fs::File::create(dir.join("pgbouncer.log")).expect("create the log");
        let child = runner
            .command(&[runner.inside(&dir).join("pgbouncer.ini").to_str().unwrap()])
            .stdout(log.try_clone().expect("clone the log"))
            .stderr(log)
            .spawn()
            .expect("start pgbouncer");
        let bouncer = Self {
            port,
            upstream: upstream.clone(),
            dir,
            child,
        };
        wait_for_port(
            port,
            &format!("pgbouncer (log: {})", bouncer.log_path().display()),
        );
        bouncer
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The upstream's options with this PgBouncer as host and port: what a
    /// client of the pooler connects with.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.upstream.clone().host("127.0.0.1").port(self.port)
    }

    /// The URL of the database through this PgBouncer.
    pub fn url(&self) -> String {
        let (user, database) = names(&self.upstream);
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// What PgBouncer logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("pgbouncer.log")
    }

    /// A pool of `max_connections` through this PgBouncer that keeps it
    /// running for as long as the pool lives (its `after_connect` holds it),
    /// for a subject that is handed a pool and nothing else.
    pub async fn pool(self, max_connections: u32) -> PgPool {
        let options = self.connect_options();
        let keep = Arc::new(self);
        PgPoolOptions::new()
            .max_connections(max_connections)
            .after_connect(move |_, _| {
                let _alive = &keep;
                Box::pin(async { Ok(()) })
            })
            .connect_with(options)
            .await
            .expect("connect through pgbouncer")
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// The user and the database `upstream` names (the user's, as PostgreSQL
/// defaults, when it names none).
fn names(upstream: &PgConnectOptions) -> (&str, &str) {
    let user = upstream.get_username();
    (user, upstream.get_database().unwrap_or(user))
}

/// The operators' configuration, `compose/pgbouncer/pgbouncer.ini`: what
/// these tests prove is what the compose variant runs.
const OPERATORS: &str = include_str!("../../compose/pgbouncer/pgbouncer.ini");

/// The keys of [`OPERATORS`]' `[pgbouncer]` section that are the instance's
/// own here: where it listens, who may log in, how many server connections.
const OWN_KEYS: [&str; 6] = [
    "listen_addr",
    "listen_port",
    "unix_socket_dir",
    "auth_type",
    "auth_file",
    "default_pool_size",
];

/// The operators' configuration ([`OPERATORS`]) with this instance's
/// upstream, port, trust authentication from `dir`'s user list and
/// `servers` server connections; every other setting as operators have it.
fn config(dir: &Path, port: u16, servers: u32, upstream: (&str, &str, u16)) -> String {
    let (database, host, upstream_port) = upstream;
    let mut out = String::new();
    let mut section = "";
    for line in OPERATORS.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = if trimmed == "[pgbouncer]" {
                "pgbouncer"
            } else {
                "other"
            };
            out.push_str(line);
            out.push('\n');
            if section == "pgbouncer" {
                out.push_str(&format!(
                    "listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                     auth_type = trust\nauth_file = {}\ndefault_pool_size = {servers}\n\
                     server_tls_sslmode = disable\n",
                    dir.join("userlist.txt").display()
                ));
            }
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or_default().trim();
        if section == "pgbouncer" && OWN_KEYS.contains(&key) {
            continue;
        }
        if section == "other" && key == "*" {
            let rest = trimmed
                .strip_prefix("* = host=db port=5432")
                .expect("the operators' databases line: `* = host=db port=5432 ...`");
            out.push_str(&format!(
                "{database} = host={host} port={upstream_port} dbname={database}{rest}\n"
            ));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// How to run a PgBouncer recent enough: the machine's, or the Debian
/// root's under `chroot`.
enum Runner {
    /// `pgbouncer` on `PATH`.
    Native,
    /// `/usr/sbin/pgbouncer` inside this root.
    Chroot(PathBuf),
}

impl Runner {
    /// The machine's PgBouncer if it is recent enough, else the root's.
    fn find() -> Self {
        if let Some(version) = version(Command::new("pgbouncer").arg("--version")) {
            if version >= OLDEST {
                return Self::Native;
            }
        }
        let root = std::env::var_os("POLLING_PGBOUNCER_ROOT")
            .map_or_else(|| PathBuf::from(PgBouncer::DEFAULT_ROOT), PathBuf::from);
        let runner = Self::Chroot(root.clone());
        match version(&mut runner.command(&["--version"])) {
            Some(version) if version >= OLDEST => runner,
            found => panic!(
                "no PgBouncer {}.{} or newer: the machine's is too old or missing and {} has {} \
                 (scripts/deps makes that Debian root, as root; or set POLLING_PGBOUNCER_ROOT)",
                OLDEST.0,
                OLDEST.1,
                root.display(),
                found.map_or_else(|| "none".to_owned(), |(a, b)| format!("{a}.{b}")),
            ),
        }
    }

    /// `pgbouncer` with `args`, as an unprivileged user when the test is
    /// root.
    fn command(&self, args: &[&str]) -> Command {
        let root = running_as_root();
        match self {
            Self::Native => {
                let mut command = Command::new("pgbouncer");
                if root {
                    command.args(["-u", "nobody"]);
                }
                command.args(args);
                command
            }
            Self::Chroot(dir) => {
                let mut command = Command::new("chroot");
                command
                    .arg("--userspec=65534:65534")
                    .arg(dir)
                    .arg("/usr/sbin/pgbouncer")
                    .args(args);
                command
            }
        }
    }

    /// A directory of its own for the pooler's files, readable by it.
    fn scratch(&self, port: u16) -> PathBuf {
        let base = match self {
            Self::Native => std::env::temp_dir(),
            Self::Chroot(root) => root.join("tmp"),
        };
        let dir = base.join(format!("polling-pgbouncer-{}-{port}", std::process::id()));
        fs::create_dir_all(&dir).expect("make the pgbouncer directory");
        set_mode(&dir, 0o755);
        dir
    }

    /// `dir` as the pooler sees it.
    fn inside(&self, dir: &Path) -> PathBuf {
        match self {
            Self::Native => dir.to_owned(),
            Self::Chroot(root) => Path::new("/").join(dir.strip_prefix(root).expect("inside root")),
        }
    }
}

/// The `(major, minor)` version `command` (a `pgbouncer --version`) prints.
fn version(command: &mut Command) -> Option<(u32, u32)> {
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.lines().next()?.strip_prefix("PgBouncer ")?;
    let mut parts = version.split('.').map(str::parse::<u32>);
    Some((parts.next()?.ok()?, parts.next()?.ok()?))
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operators_settings_are_kept_and_the_instances_own_replaced() {
        let text = config(Path::new("/tmp/x"), 7000, 3, ("t_db", "127.0.0.1", 5432));
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for kept in [
            "pool_mode = transaction",
            "max_prepared_statements = 200",
            "ignore_startup_parameters = extra_float_digits",
        ] {
            assert!(lines.contains(&kept), "{kept} in:\n{text}");
        }
        for own in [
            "listen_port = 7000",
            "auth_type = trust",
            "auth_file = /tmp/x/userlist.txt",
            "default_pool_size = 3",
        ] {
            assert!(lines.contains(&own), "{own} in:\n{text}");
        }
        assert_eq!(text.matches("listen_port").count(), 1, "{text}");
        assert!(
            lines.contains(
                &"t_db = host=127.0.0.1 port=5432 dbname=t_db \
                  connect_query='SET statement_timeout = 5000'"
            ),
            "{text}"
        );
        assert!(!text.contains("host=db"), "{text}");
        assert_eq!(PgBouncer::statement_timeout_ms(), 5000);
    }
}
