//! Nothing of the stack outlives it (issue 17): a dropped [`Stack`], and
//! `polling-stack up` stopped with Enter or with SIGTERM, leave no process
//! (nginx's workers included) and no listening port behind.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use polling_stack::process::{alive, descendants, listening};
use polling_stack::Stack;

mod common;

use common::Database;

/// Asserts that none of `pids` lives and nothing listens on `ports`, giving
/// the kernel a moment to finish reaping.
fn assert_nothing_left(pids: &BTreeSet<u32>, ports: &[u16]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let living: Vec<u32> = pids.iter().copied().filter(|&p| alive(p)).collect();
        let open: Vec<u16> = ports.iter().copied().filter(|&p| listening(p)).collect();
        if living.is_empty() && open.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "left behind: processes {living:?}, listening ports {open:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The stack's processes seen running: 3 replicas, nginx's master and at
/// least one worker, Prometheus.
fn assert_all_running(pids: &BTreeSet<u32>, ports: &[u16]) {
    assert!(pids.len() >= 6, "only {} processes: {pids:?}", pids.len());
    assert!(pids.iter().all(|&p| alive(p)));
    for &port in ports {
        assert!(listening(port), "nothing listens on {port}");
    }
}

#[test]
fn a_dropped_stack_leaves_no_process_and_no_listening_port() {
    let db = Database::create();
    let options = common::stack_options(&db, "drop");
    let mut stack = Stack::start(&options).expect("the stack starts");
    let (pids, ports) = (stack.pids(), stack.ports());
    assert_all_running(&pids, &ports);

    // A replica killed on the way (as the chaos tests do) is gone at once.
    let killed = stack.replicas()[0].pid().unwrap();
    stack.kill_replica(0);
    assert!(!alive(killed));

    drop(stack);
    assert_nothing_left(&pids, &ports);
}

/// `polling-stack up` on a database of its own, started and read until it
/// says it is up: the process, its descendants, and the ports it printed.
fn stack_up(db: &Database, name: &str) -> (Child, BTreeSet<u32>, Vec<u16>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_polling-stack"))
        .arg("up")
        .env("POLLING_SERVER_BIN", common::server_bin())
        .env("DATABASE_URL", db.url())
        .env("REDIS_URL", "redis://127.0.0.1:6379/")
        .env("POLLING_REDIS_PREFIX", format!("test:{}:", db.name))
        .env(
            "POLLING_STACK_DIR",
            std::env::temp_dir().join(format!("{}-{name}", db.name)),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("polling-stack runs");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut ports = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some((_, rest)) = line.split_once("http://127.0.0.1:") {
            let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
            ports.push(port.parse().unwrap());
        }
        if line.starts_with("press Enter") {
            break;
        }
    }
    // Keep reading its output, so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let mut pids = descendants(child.id());
    pids.insert(child.id());
    assert_eq!(ports.len(), 5, "nginx, 3 replicas, Prometheus: {ports:?}");
    assert_all_running(&pids, &ports);
    (child, pids, ports)
}

fn wait_for_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "polling-stack did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn polling_stack_up_stopped_with_enter_leaves_nothing_running() {
    let db = Database::create();
    let (mut child, pids, ports) = stack_up(&db, "enter");
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(wait_for_exit(&mut child).success());
    assert_nothing_left(&pids, &ports);
}

#[test]
fn polling_stack_up_stopped_with_sigterm_leaves_nothing_running() {
    let db = Database::create();
    let (mut child, pids, ports) = stack_up(&db, "sigterm");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    assert!(wait_for_exit(&mut child).success());
    assert_nothing_left(&pids, &ports);
}
