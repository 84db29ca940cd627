//! Helpers shared by the stack's tests.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

mod database;

use std::path::Path;

#[allow(unused_imports)] // Not every test binary needs a database.
pub(crate) use database::Database;

use polling_stack::compose_dir;
use serde_json::Value;

/// Every dashboard JSON file: (path, parsed).
pub(crate) fn dashboards() -> Vec<(String, Value)> {
    let dir = compose_dir().join("grafana/dashboards");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            found.push((path.display().to_string(), json));
        }
    }
    assert!(!found.is_empty(), "no dashboards in {}", dir.display());
    found
}

/// The `polling-server` binary of this build (next to this test's profile
/// directory), or `POLLING_SERVER_BIN`.
pub(crate) fn server_bin() -> std::path::PathBuf {
    if let Ok(bin) = std::env::var("POLLING_SERVER_BIN") {
        return bin.into();
    }
    built_bin("polling-server", "polling-server")
}

/// The options of a stack with three replicas on `db`, the machine's Redis
/// under a prefix of the database's, and a scratch directory named `name`.
pub(crate) fn stack_options(db: &Database, name: &str) -> polling_stack::StackOptions {
    polling_stack::StackOptions {
        server_bin: server_bin(),
        database_url: db.url(),
        redis_url: "redis://127.0.0.1:6379/".into(),
        redis_cluster: false,
        redis_prefix: format!("test:{}:", db.name),
        replicas: 3,
        scratch: std::env::temp_dir().join(format!("{}-{name}", db.name)),
    }
}

/// The `polling-load` binary of this build.
pub(crate) fn load_bin() -> std::path::PathBuf {
    built_bin("polling-load", "polling-load")
}

/// The binary `name` of package `package` in this build's profile directory.
fn built_bin(name: &str, package: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile_dir.join(name);
    assert!(
        bin.is_file(),
        "{} is missing: build it with `cargo build -p {package}`",
        bin.display()
    );
    bin
}
