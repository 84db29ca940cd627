//! `polling-stack up`: the operators' stack on this machine, without Docker:
//! three `polling-server` replicas on the local PostgreSQL and Redis, nginx
//! in front with `compose/nginx/nginx.conf`, Prometheus with
//! `compose/prometheus/prometheus.yml` (only their addresses rendered).
//!
//! ```text
//! scripts/stack up
//! scripts/stack up --redis-cluster
//! ```
//!
//! With `--redis-cluster` it starts a Redis Cluster of its own (six
//! `redis-server`s on free ports: 3 masters with a replica each) and puts
//! the replicas on it (`POLLING_REDIS_CLUSTER_NODES`, sharded Pub/Sub)
//! instead of `REDIS_URL`.
//!
//! It runs until Enter is pressed or it gets SIGINT, SIGTERM or SIGHUP (only
//! a signal, when its input is not a terminal but at its end), then
//! stops every process it started (nginx's workers included) and exits.
//! `POLLING_STACK_DIR` (default: `polling-stack` in the temporary directory)
//! holds its configs and logs; `POLLING_REDIS_PREFIX` (default
//! `polling-stack:`) its Redis keys.

use std::process::{Command, ExitCode};
use std::sync::mpsc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use polling_stack::{Stack, StackOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let redis_cluster = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["up"] => false,
        ["up", "--redis-cluster"] => true,
        _ => {
            eprintln!(
                "usage: polling-stack up [--redis-cluster]   \
                 (env: POLLING_SERVER_BIN, DATABASE_URL, REDIS_URL)"
            );
            return ExitCode::FAILURE;
        }
    };
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
        redis_cluster,
        redis_prefix: std::env::var("POLLING_REDIS_PREFIX")
            .unwrap_or_else(|_| "polling-stack:".into()),
        replicas: 3,
        scratch: std::env::var_os("POLLING_STACK_DIR")
            .map_or_else(|| std::env::temp_dir().join("polling-stack"), Into::into),
    };
    // Registered before anything starts: a signal during start-up still
    // stops what started.
    let mut signals = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("polling-stack: cannot handle signals: {error}");
            return ExitCode::FAILURE;
        }
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
    if let Some(cluster) = stack.redis_cluster() {
        println!("  Redis Cluster        {}", cluster.urls().join(" "));
    }
    println!("  logs                 {}", options.scratch.display());
    println!("press Enter (or Ctrl-C) to stop");
    let (stop, stopped) = mpsc::channel();
    let on_enter = stop.clone();
    std::thread::spawn(move || {
        // Without a terminal (stdin at its end) only a signal stops it.
        if matches!(std::io::stdin().read_line(&mut String::new()), Ok(n) if n > 0) {
            let _ = on_enter.send("Enter");
        }
    });
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = stop.send("a signal");
        }
    });
    let why = stopped.recv().unwrap_or("the stop channel closed");
    println!("stopping on {why}");
    drop(stack);
    println!("stopped");
    ExitCode::SUCCESS
}
