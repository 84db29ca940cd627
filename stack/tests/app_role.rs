//! `compose/db/app-role.sql`, the compose stack's `db-init`, on the machine's
//! real PostgreSQL: it makes the app a role of its own with only the rights
//! it needs, again and again (it runs on every `up`), with a password of
//! any characters, and the real server then migrates and serves as that
//! role, from a database URL without a password.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use common::{server_bin, Database};
use polling_stack::{compose_dir, free_addr, get_status};

/// A role of the test's own, dropped (with what it owns) afterwards.
struct Role(String);

impl Drop for Role {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc"])
            .arg(format!("DROP ROLE IF EXISTS {}", self.0))
            .output();
    }
}

/// psql running `app-role.sql` on `db` as the superuser, as db-init does.
fn app_role_sql(db: &Database, role: &str, password: Option<&str>) -> Output {
    let mut command = Command::new("psql");
    command
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", &db.name, "-q"])
        .args(["-v", "ON_ERROR_STOP=1", "-v", &format!("app_role={role}")])
        .args(["-v", &format!("database={}", db.name), "-f"])
        .arg(compose_dir().join("db/app-role.sql"))
        .env_remove("POLLING_DB_PASSWORD");
    if let Some(password) = password {
        command.env("POLLING_DB_PASSWORD", password);
    }
    command.output().expect("psql")
}

#[test]
fn the_app_role_has_only_what_the_replicas_need_and_they_run_as_it() {
    // Declared first, so dropped last: after the database it owns tables in.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let role = Role(format!("polling_app_{}_{nanos}", std::process::id()));
    let db = Database::create();
    let password = "p@ss:/#%?w 'rd\"\\;--";
    for _ in 0..2 {
        let out = app_role_sql(&db, &role.0, Some(password));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let attributes = db.query(&format!(
        "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, \
         rolbypassrls, rolpassword LIKE 'SCRAM-SHA-256$%' \
         FROM pg_authid WHERE rolname = '{}'",
        role.0
    ));
    assert_eq!(
        attributes, "t|f|f|f|f|f|t",
        "login, nothing more, a hashed password"
    );
    // Nobody else connects to the app's database; the role does.
    let acl = db.query(&format!(
        "SELECT has_database_privilege('{0}', '{1}', 'CONNECT'), \
         datacl::text LIKE '%=c%' AND datacl::text NOT LIKE '%,=%' AND datacl::text NOT LIKE '{{=%' \
         FROM pg_database WHERE datname = '{1}'",
        role.0, db.name
    ));
    assert_eq!(acl, "t|t", "CONNECT for the role, not for PUBLIC");

    // Without a password it refuses, and changes nothing.
    for missing in [None, Some("")] {
        let out = app_role_sql(&db, &role.0, missing);
        assert!(!out.status.success(), "{missing:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("POLLING_DB_PASSWORD is not set"));
    }

    // The real server, as the role, on a URL without a password (this
    // machine's PostgreSQL trusts local connections, so PGPASSWORD is what
    // the compose file passes, not what is checked here): it migrates and
    // is ready.
    let addr = free_addr().unwrap();
    let mut server = Command::new(server_bin())
        .env_clear()
        .env("POLLING_LISTEN", addr.to_string())
        .env(
            "DATABASE_URL",
            format!("postgres://{}@127.0.0.1:5432/{}", role.0, db.name),
        )
        .env("PGPASSWORD", password)
        .env("POLLING_CACHE", "none")
        .env("POLLING_BROADCASTER", "postgres")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        if get_status(addr, "/readyz").is_ok_and(|s| s == 200) {
            break true;
        }
        if Instant::now() > deadline || matches!(server.try_wait(), Ok(Some(_))) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(ready, "the server migrated and became ready as {}", role.0);
    let owned = db.query(&format!(
        "SELECT count(*) > 0 AND bool_and(tableowner = '{}') FROM pg_tables WHERE schemaname = 'public'",
        role.0
    ));
    assert_eq!(owned, "t", "the role owns the tables its migrations made");
}

/// The PostgreSQL 15 server programs of this machine (Debian's layout).
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// `program` with `args`, run as the `postgres` user when the tests run as
/// root (initdb refuses root).
fn as_postgres(program: &str, args: &[&str]) -> Command {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut command = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", program]);
        c
    } else {
        Command::new(program)
    };
    command.args(args);
    command
}

fn ok(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A PostgreSQL cluster of the test's own that checks passwords (SCRAM, as
/// the postgres image does for connections over the network), on a free
/// port; stopped and removed when dropped.
struct PasswordCluster {
    dir: String,
    port: u16,
}

impl PasswordCluster {
    fn start(superuser_password: &str) -> Self {
        let dir = ok(&mut as_postgres(
            "mktemp",
            &["-d", "/tmp/polling-pgpw-XXXXXX"],
        ));
        let pwfile = format!("{dir}/pw");
        std::fs::write(&pwfile, superuser_password).unwrap();
        let port = free_addr().unwrap().port();
        let cluster = Self { dir, port };
        let data = cluster.data();
        ok(&mut as_postgres(
            &format!("{PG_BIN}/initdb"),
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                &format!("--pwfile={pwfile}"),
                "-E",
                "UTF8",
            ],
        ));
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1", cluster.dir);
        ok(&mut as_postgres(
            &format!("{PG_BIN}/pg_ctl"),
            &[
                "-D",
                &data,
                "-l",
                &format!("{}/log", cluster.dir),
                "-w",
                "-o",
                &options,
                "start",
            ],
        ));
        cluster
    }

    fn data(&self) -> String {
        format!("{}/data", self.dir)
    }

    /// psql on `database` as the superuser, with its password.
    fn psql(&self, password: &str, database: &str) -> Command {
        let mut command = Command::new("psql");
        command
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args([
                "-U",
                "postgres",
                "-d",
                database,
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
            ])
            .env("PGPASSWORD", password);
        command
    }
}

impl Drop for PasswordCluster {
    fn drop(&mut self) {
        let _ = as_postgres(
            &format!("{PG_BIN}/pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the real server, with `database_url` and `PGPASSWORD`, becomes
/// ready (it migrates first), or exits (start-up given 3 s).
fn server_becomes_ready(database_url: &str, pgpassword: Option<&str>) -> bool {
    let addr = free_addr().unwrap();
    let mut command = Command::new(server_bin());
    command
        .env_clear()
        .env("POLLING_LISTEN", addr.to_string())
        .env("DATABASE_URL", database_url)
        .env("POLLING_STARTUP_TIMEOUT", "3s")
        .env("POLLING_CACHE", "none")
        .env("POLLING_BROADCASTER", "postgres")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(password) = pgpassword {
        command.env("PGPASSWORD", password);
    }
    let mut server = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let ready = loop {
        if get_status(addr, "/readyz").is_ok_and(|s| s == 200) {
            break true;
        }
        if Instant::now() > deadline || matches!(server.try_wait(), Ok(Some(_))) {
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    ready
}

/// The compose stack's way of passing the app's password (a URL without
/// it, the password in `PGPASSWORD`), against a server that checks it:
/// any password works, a wrong one does not, the old way (the password in
/// the URL) breaks on such a password, and rotating through the script
/// (README: Passwords) switches the accepted one.
#[test]
fn any_password_works_through_pgpassword_and_rotation_switches_it() {
    let superuser = "super:/@#pw";
    let cluster = PasswordCluster::start(superuser);
    ok(cluster
        .psql(superuser, "postgres")
        .args(["-c", "CREATE DATABASE polling"]));
    let set_password = |password: &str| {
        ok(cluster
            .psql(superuser, "polling")
            .args(["-v", "app_role=polling_app", "-v", "database=polling", "-f"])
            .arg(compose_dir().join("db/app-role.sql"))
            .env("POLLING_DB_PASSWORD", password));
    };
    let url = format!("postgres://polling_app@127.0.0.1:{}/polling", cluster.port);
    let first = "p@ss:/#%?w 'rd\"\\;--";
    set_password(first);
    assert!(
        server_becomes_ready(&url, Some(first)),
        "any password works"
    );
    assert!(
        !server_becomes_ready(&url, Some("wrong")),
        "the password is checked"
    );
    assert!(!server_becomes_ready(&url, None));
    // The password in the URL, unencoded, as the compose file had it.
    let in_url = format!(
        "postgres://polling_app:{first}@127.0.0.1:{}/polling",
        cluster.port
    );
    assert!(!server_becomes_ready(&in_url, None), "the old URL breaks");
    // Rotation: the script sets the new one; the old one stops working.
    let second = "rotated ünïcode pw";
    set_password(second);
    assert!(server_becomes_ready(&url, Some(second)));
    assert!(!server_becomes_ready(&url, Some(first)));
}
