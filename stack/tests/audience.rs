//! The live-audience scenario against the native stack (issue 17): a crowd
//! of fresh voters through nginx, most of them cookieless API clients, live
//! sockets watching, requests cancelled mid-flight and a replica killed with
//! SIGKILL while votes are in flight. `polling-load audience` drives it and
//! compares what was acknowledged, stored (the ballots export) and shown on
//! every socket and every surviving replica; the test also counts the rows
//! in PostgreSQL.

use std::process::Command;

use polling_stack::Stack;

mod common;

use common::Database;

/// The figures `polling-load audience` printed.
#[derive(Debug)]
struct Figures {
    acknowledged: u64,
    refused: u64,
    cancelled: u64,
    stored: u64,
    poll: String,
}

/// Runs `polling-load audience` against the stack's nginx, with the
/// replicas `alive` listed, `args`, and the replica process `kill` killed
/// once `after` percent of the voters are done; panics unless its verdict
/// is ok.
fn audience(stack: &Stack, alive: &[usize], args: &[&str], kill: &str, after: &str) -> Figures {
    let mut command = Command::new(common::load_bin());
    command
        .arg("audience")
        .args(["--target", &format!("http://{}", stack.nginx_addr)])
        .args(args)
        .args(["--kill-pid", kill, "--kill-after", after]);
    for &index in alive {
        let replica = &stack.replicas()[index];
        command.args(["--replica", &format!("http://{}", replica.addr)]);
    }
    let output = command.output().expect("polling-load runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && stdout.contains("verdict: ok"),
        "polling-load audience found a mismatch:\n{stdout}"
    );
    let figure = |name: &str| -> u64 {
        stdout
            .split_whitespace()
            .skip_while(|word| *word != name)
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no `{name}` figure in:\n{stdout}"))
    };
    let poll = stdout
        .lines()
        .find_map(|l| l.strip_prefix("poll "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the poll's id")
        .to_owned();
    Figures {
        acknowledged: figure("acknowledged"),
        refused: figure("refused"),
        cancelled: figure("cancelled"),
        stored: figure("stored"),
        poll,
    }
}

fn stored_rows(db: &Database, poll: &str) -> u64 {
    db.query(&format!(
        "SELECT count(*) FROM ballots WHERE poll_id = '{poll}'"
    ))
    .parse()
    .unwrap()
}

#[test]
fn a_crowd_through_nginx_with_a_replica_killed_and_requests_cancelled_is_counted_once_everywhere() {
    let db = Database::create();
    let options = common::stack_options(&db, "audience");
    let stack = Stack::start(&options).expect("the stack starts");

    // Every voter comes from 127.0.0.1, one hall behind one address: both
    // crowds together stay within the address's default burst (3,000).
    //
    // 1,400 cookieless first votes (as curl sends them), one replica killed
    // a third of the way: nginx retries the votes that replica held on the
    // next one, which must recognise them as the same voters.
    let victim = stack.replicas()[0].pid().unwrap().to_string();
    let cookieless = audience(
        &stack,
        &[0, 1, 2],
        &["--voters", "1400", "--sockets", "4"],
        &victim,
        "30",
    );
    assert_eq!(
        cookieless.refused, 0,
        "nginx retried every vote: {cookieless:?}"
    );
    assert_eq!(cookieless.acknowledged, 1400, "{cookieless:?}");
    assert_eq!(
        cookieless.stored, 1400,
        "every acknowledged vote stored, none twice: {cookieless:?}"
    );
    assert_eq!(stored_rows(&db, &cookieless.poll), 1400);

    // A mixed crowd: browsers that load the poll first, clients that hang
    // up mid-request, and the second replica killed halfway.
    let victim = stack.replicas()[1].pid().unwrap().to_string();
    let mixed = audience(
        &stack,
        &[1, 2],
        &[
            "--voters",
            "1400",
            "--browser-like",
            "30",
            "--cancel-every",
            "40",
            "--sockets",
            "6",
        ],
        &victim,
        "50",
    );
    assert_eq!(mixed.cancelled, 35, "{mixed:?}");
    assert_eq!(mixed.refused, 0, "{mixed:?}");
    assert!(
        mixed.acknowledged <= mixed.stored
            && mixed.stored <= mixed.acknowledged + mixed.refused + mixed.cancelled,
        "{mixed:?}"
    );
    assert_eq!(stored_rows(&db, &mixed.poll), mixed.stored);
}
