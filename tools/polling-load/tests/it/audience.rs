//! `polling-load audience` against real embedded servers: a mixed crowd
//! with cancelled votes is counted once each and every screen converges; a
//! killed "replica" and one that refuses connections are handled; and a
//! replica that does not hold the poll, sockets the server refuses and a
//! poll it will not create each fail the verdict.

use std::net::SocketAddr;
use std::process::{Command, Output};

use crate::common::{get_json, start_app};
use polling_server::{App, AppBuilder, RequestLimits};

/// The embedded app with its per-client rate limits off: every simulated
/// voter comes from 127.0.0.1.
fn unlimited() -> AppBuilder {
    App::builder().limits(RequestLimits {
        votes_per_minute: 0,
        polls_per_minute: 0,
        ..RequestLimits::default()
    })
}

/// Serves [`unlimited`] on a free port.
fn start_server() -> SocketAddr {
    start_app(unlimited().build())
}

fn audience(target: SocketAddr, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_polling-load"))
        .args(["audience", "--target", &format!("http://{target}")])
        .args(args)
        .output()
        .expect("polling-load runs")
}

/// The printed figure after `name` (`acknowledged 480`), as a number.
fn figure(stdout: &str, name: &str) -> u64 {
    let mut words = stdout.split_whitespace();
    words
        .find(|w| *w == name)
        .and_then(|_| words.next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no figure `{name}` in:\n{stdout}"))
}

/// The id of the poll the tool created.
fn poll_id(stdout: &str) -> &str {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("poll "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no poll line in:\n{stdout}"))
}

/// The run's stdout and stderr, echoed for the test log.
fn text(output: &Output) -> (String, String) {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    );
    println!("{stdout}{stderr}");
    (stdout, stderr)
}

#[test]
fn a_mixed_crowd_with_cancelled_votes_is_counted_once_and_every_screen_converges() {
    let server = start_server();
    let output = audience(
        server,
        &[
            "--voters",
            "500",
            "--browser-like",
            "50",
            "--sockets",
            "4",
            "--cancel-every",
            "25",
            "--replica",
            &format!("http://{server}"),
        ],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("verdict: ok"), "{stdout}");
    assert!(
        stdout.contains("audience: 500 voters (50% browser-like), 64 in flight, 4 sockets, every 25th cancelled, no replica killed"),
        "{stdout}"
    );

    let acknowledged = figure(&stdout, "acknowledged");
    let refused = figure(&stdout, "refused");
    let cancelled = figure(&stdout, "cancelled");
    let stored = figure(&stdout, "stored");
    assert_eq!(acknowledged + refused + cancelled, 500, "{stdout}");
    assert_eq!(cancelled, 20, "every 25th of 500: {stdout}");
    assert_eq!(refused, 0, "nothing refuses here: {stdout}");
    assert!(
        (acknowledged..=acknowledged + cancelled).contains(&stored),
        "stored = acknowledged + the cancelled that landed: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "shown: sockets 4/4 at {stored} (max lag 0), replicas 1/1 at {stored}, target {stored}"
        )),
        "{stdout}"
    );

    // Read back independently: the server's results hold exactly `stored`.
    let results = get_json(server, &format!("/api/polls/{}/results", poll_id(&stdout)));
    assert_eq!(results["total"].as_u64(), Some(stored), "{results}");
}

#[test]
fn a_killed_replica_is_killed_and_one_refusing_connections_is_skipped() {
    let server = start_server();
    // Stand-ins for the killed replica: a process to kill, and an address
    // nothing listens on any more.
    let mut replica = Command::new("sleep").arg("60").spawn().expect("sleep runs");
    let gone = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let output = audience(
        server,
        &[
            "--voters",
            "200",
            "--browser-like",
            "100",
            "--sockets",
            "2",
            "--kill-pid",
            &replica.id().to_string(),
            "--kill-after",
            "50",
            "--replica",
            &format!("http://{server}"),
            "--replica",
            &format!("http://{gone}"),
        ],
    );
    let status = replica.try_wait().expect("waitable");
    if status.is_none() {
        let _ = replica.kill();
        let _ = replica.wait();
    }
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(status.is_some(), "the replica was killed: {stdout}");
    assert!(
        stdout.contains(&format!("replica pid {} killed after 50%", replica.id())),
        "{stdout}"
    );
    let stored = figure(&stdout, "stored");
    assert_eq!(stored, 200, "browsers are all acknowledged: {stdout}");
    assert!(
        stdout.contains("replicas 1/1 at 200 (1 unreachable)"),
        "{stdout}"
    );
    assert!(stdout.contains("verdict: ok"), "{stdout}");
}

#[test]
fn a_replica_without_the_poll_fails_the_verdict() {
    let server = start_server();
    // A second, independent server: it never heard of the poll.
    let stranger = start_server();
    let output = audience(
        server,
        &[
            "--voters",
            "50",
            "--sockets",
            "1",
            "--replica",
            &format!("http://{stranger}"),
            "--settle",
            "1s",
        ],
    );
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "verdict: FAILED: replica http://{stranger} shows failed (HTTP 404), not 50"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("replicas 0/1 at 50"), "{stdout}");
}

#[test]
fn sockets_the_server_refuses_fail_the_verdict() {
    // The server holds 2 live sockets at most: the other 2 never show a total.
    let server = start_app(unlimited().max_sockets(2).build());
    let output = audience(
        server,
        &["--voters", "40", "--sockets", "4", "--settle", "1s"],
    );
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("shown: sockets 2/4 at 40 (max lag 40), target 40"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "verdict: FAILED: 2 of 4 sockets do not show 40 (they show nothing, nothing)"
        ),
        "{stdout}"
    );
}

#[test]
fn a_poll_the_server_will_not_create_fails_the_verdict() {
    // A body limit smaller than the poll's draft: 413, not worth a retry.
    let server = start_app(unlimited().body_limit(16).build());
    let output = audience(server, &["--voters", "10"]);
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!(
            "verdict: FAILED: creating the poll at http://{server}: HTTP 413"
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("acknowledged"), "no one voted: {stdout}");
}
