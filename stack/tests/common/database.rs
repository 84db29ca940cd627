//! [`Database`]: a database of the test's own on the machine's PostgreSQL.

use std::process::Command;

/// A database of the test's own, dropped afterwards.
pub(crate) struct Database {
    pub(crate) name: String,
}

impl Database {
    pub(crate) fn create() -> Self {
        let name = format!("polling_stack_{}_{}", std::process::id(), rand_suffix());
        psql(&format!("CREATE DATABASE {name}"));
        Self { name }
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    pub(crate) fn query(&self, sql: &str) -> String {
        let output = psql_on(&self.name, "-tAc", sql);
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// Runs `sql` on the server's `postgres` database.
fn psql(sql: &str) {
    psql_on("postgres", "-qc", sql);
}

/// Runs `sql` with psql's `flags` on `database` of the local server as
/// `postgres`; panics with psql's error unless it succeeds.
fn psql_on(database: &str, flags: &str, sql: &str) -> std::process::Output {
    let output = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            database,
            flags,
            sql,
        ])
        .output()
        .expect("psql");
    assert!(
        output.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn rand_suffix() -> String {
    polling_core::VoterId::generate().as_str()[..8].to_owned()
}
