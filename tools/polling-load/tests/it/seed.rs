//! `polling-load seed` against a real server: every vote acknowledged, the
//! results match, and a second run adds new polls rather than replaying.

use std::net::SocketAddr;
use std::process::Command;

use crate::common::{get_json, start_app};
use polling_server::{App, RequestLimits};

/// Starts the embedded server on a free port, on a runtime of its own.
fn start_server() -> SocketAddr {
    start_server_with(RequestLimits::default())
}

/// [`start_server`] with `limits`.
fn start_server_with(limits: RequestLimits) -> SocketAddr {
    start_app(App::builder().limits(limits).build())
}

fn seed(address: SocketAddr, polls: u32, votes: u32) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_polling-load"))
        .args(["seed", "--target", &format!("http://{address}")])
        .args(["--polls", &polls.to_string(), "--votes", &votes.to_string()])
        .args(["--wait", "10s"])
        .output()
        .expect("polling-load runs")
}

#[test]
fn seeding_casts_every_vote_once_across_new_polls() {
    let address = start_server();
    let first = seed(address, 3, 600);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(stdout.contains("seeded 3 polls with 600 votes"), "{stdout}");

    let second = seed(address, 2, 100);
    assert!(second.status.success());

    let page = get_json(address, "/api/polls?limit=50");
    let polls = page["polls"].as_array().expect("a list of polls");
    assert_eq!(polls.len(), 5, "each run makes new polls");
    let mut total = 0;
    for poll in polls {
        let id = poll["id"].as_str().expect("an id");
        let results = get_json(address, &format!("/api/polls/{id}/results"));
        let counted: u64 = results["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .map(|c| c["votes"].as_u64().expect("votes"))
            .sum();
        assert_eq!(results["total"].as_u64(), Some(counted));
        assert!(counted > 0, "every seeded poll got votes: {results}");
        total += counted;
    }
    assert_eq!(total, 700);
}

#[test]
fn a_rate_limited_seed_waits_out_its_429s_and_still_counts_every_vote_once() {
    // 600 votes a minute with a burst of as many: the last 60 of 660 votes
    // are paced by 429s with Retry-After, about 6 s in all.
    let address = start_server_with(RequestLimits {
        votes_per_minute: 600,
        ..RequestLimits::default()
    });
    let output = seed(address, 2, 660);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("with 660 votes"), "{stdout}");
    assert!(stdout.contains("failed votes: none"), "{stdout}");
}

#[test]
fn an_unreachable_target_fails_with_a_clear_message() {
    // A port nothing listens on: bind one, then free it.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let output = Command::new(env!("CARGO_BIN_EXE_polling-load"))
        .args([
            "seed",
            "--target",
            &format!("http://{address}"),
            "--wait",
            "1s",
        ])
        .output()
        .expect("polling-load runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("was not ready within"), "{stderr}");
}
