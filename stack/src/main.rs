//! `polling-stack up`: the operators' stack on this machine, without Docker:
//! three `polling-server` replicas on the local PostgreSQL and Redis, nginx
//! in front with `compose/nginx/nginx.conf`, Prometheus with
//! `compose/prometheus/prometheus.yml` (only their addresses rendered).
//!
//! ```text
//! scripts/stack up
//! ```

use std::process::{Command, ExitCode};

use polling_stack::{Stack, StackOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("up") {
        eprintln!("usage: polling-stack up   (env: POLLING_SERVER_BIN, DATABASE_URL, REDIS_URL)");
        return ExitCode::FAILURE;
    }
    let database_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/polling_stack".into());
    if let Some((server, name)) = database_url.rsplit_once('/') {
        // Create the database if it is missing (an error says it exists).
        let _ = Command::new("psql")
            .args([
                "-d",
                &format!("{server}/postgres"),
                "-qc",
                &format!("CREATE DATABASE {name}"),
            ])
            .stderr(std::process::Stdio::null())
            .status();
    }
    let options = StackOptions {
        server_bin: std::env::var("POLLING_SERVER_BIN")
            .unwrap_or_else(|_| "target/release/polling-server".into())
            .into(),
        database_url,
        redis_url: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into()),
        redis_prefix: "polling-stack:".into(),
        replicas: 3,
        scratch: std::env::temp_dir().join("polling-stack"),
    };
    let stack = match Stack::start(&options) {
        Ok(stack) => stack,
        Err(error) => {
            eprintln!(
                "polling-stack: {error} (logs in {})",
                options.scratch.display()
            );
            return ExitCode::FAILURE;
        }
    };
    println!("polling stack up:");
    println!("  app and API (nginx)  http://{}/", stack.nginx_addr);
    for replica in stack.replicas() {
        println!("  {:<20} http://{}/metrics", replica.instance, replica.addr);
    }
    println!("  Prometheus           http://{}/", stack.prometheus_addr);
    println!("  logs                 {}", options.scratch.display());
    println!("press Enter to stop");
    let _ = std::io::stdin().read_line(&mut String::new());
    drop(stack);
    ExitCode::SUCCESS
}
