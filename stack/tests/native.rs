//! The compose stack's nginx and Prometheus configs, run natively in front of
//! three real replicas on the machine's PostgreSQL and Redis: through nginx
//! only, votes from many clients are spread over every replica, a WebSocket
//! sees votes other replicas served, every dashboard query has data, a
//! replica killed mid-load loses no acknowledged vote, and share links, QR
//! codes and `X-Served-By` reach the client from the replicas.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use polling_stack::Stack;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

mod common;

use common::Database;

/// Sends `request`, a whole HTTP/1.1 request saying `connection: close`, to
/// `addr` and reads the response to its end: status (0 if unreadable), head
/// and body.
async fn exchange(addr: SocketAddr, request: &str) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_owned(), body.to_owned()))
}

/// One HTTP/1.1 exchange: status, the `polling_voter` cookie if set, body.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
    cookie: Option<&str>,
) -> std::io::Result<(u16, Option<String>, Value)> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        request.push_str("content-type: application/json\r\n");
    }
    if let Some(cookie) = cookie {
        request.push_str(&format!("cookie: polling_voter={cookie}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(&body);
    let (status, head, body) = exchange(addr, &request).await?;
    let cookie = head
        .lines()
        .filter_map(|l| l.strip_prefix("set-cookie: polling_voter="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .next();
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    Ok((status, cookie, json))
}

/// `GET /api/polls/{id}/results` through `nginx`: status and body.
async fn get_results(nginx: SocketAddr, id: &str) -> (u16, Option<String>, Value) {
    http(
        nginx,
        "GET",
        &format!("/api/polls/{id}/results"),
        None,
        None,
    )
    .await
    .expect("nginx answers")
}

/// A voter through nginx: takes a cookie first, then votes with it until a
/// 2xx (a vote is idempotent per voter, so retrying never counts twice).
/// Returns whether the vote was acknowledged.
async fn vote(nginx: SocketAddr, poll: &str, choice: u32) -> bool {
    let mut cookie = None;
    for _ in 0..20 {
        if let Ok((200, Some(issued), _)) =
            http(nginx, "GET", &format!("/api/polls/{poll}"), None, None).await
        {
            cookie = Some(issued);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cookie = cookie.expect("a voter cookie through nginx");
    let ballot = serde_json::json!({ "choices": [choice] });
    for _ in 0..20 {
        match http(
            nginx,
            "POST",
            &format!("/api/polls/{poll}/votes"),
            Some(&ballot),
            Some(&cookie),
        )
        .await
        {
            Ok((200 | 201, _, _)) => return true,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    false
}

/// Casts `voters` votes from `concurrency` clients at a time.
async fn vote_load(nginx: SocketAddr, poll: &str, voters: u64, concurrency: usize) -> u64 {
    let acknowledged = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (acknowledged, next, poll) = (acknowledged.clone(), next.clone(), poll.to_owned());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::SeqCst) < voters {
                    if vote(nginx, &poll, 0).await {
                        acknowledged.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    acknowledged.load(Ordering::SeqCst)
}

/// An instant PromQL query against the stack's Prometheus.
async fn promql(prometheus: SocketAddr, expr: &str) -> Vec<Value> {
    let query: String = expr
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let (status, _, body) = http(
        prometheus,
        "GET",
        &format!("/api/v1/query?query={query}"),
        None,
        None,
    )
    .await
    .expect("Prometheus answers");
    assert_eq!(status, 200, "{expr}: {body}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Polls `expr` until it has a result, for up to `secs` seconds.
async fn promql_eventually(prometheus: SocketAddr, expr: &str, secs: u64) -> Vec<Value> {
    for _ in 0..secs * 4 {
        let result = promql(prometheus, expr).await;
        if !result.is_empty() {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Vec::new()
}

/// Creates a yes/no poll asking `question` through `nginx`; its id.
async fn create_poll(nginx: SocketAddr, question: &str) -> String {
    let draft = serde_json::json!({"question": question, "options": ["yes", "no"]});
    let (status, _, poll) = http(nginx, "POST", "/api/polls", Some(&draft), None)
        .await
        .unwrap();
    assert_eq!(status, 201, "{poll}");
    poll["id"].as_str().unwrap().to_owned()
}

type LiveSocket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Poll `id`'s live socket through `nginx`, as a browser on the app's page
/// opens it: with the page's Origin, which the replica checks against the
/// Host nginx passes on.
async fn open_live(nginx: SocketAddr, id: &str) -> LiveSocket {
    let mut request = format!("ws://{nginx}/api/polls/{id}/live")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Origin",
        format!("http://{nginx}").parse().expect("an Origin header"),
    );
    let (socket, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("a same-origin WebSocket through nginx");
    socket
}

/// Reads `socket` until it holds version `version`; the highest seen.
async fn highest_version(socket: &mut LiveSocket, version: u64) -> u64 {
    let mut highest = 0;
    while highest < version {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("results over the socket within 10 s")
            .expect("the socket stays open")
            .expect("a frame");
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            let message: Value = serde_json::from_str(&text).unwrap();
            highest = highest.max(message["results"]["version"].as_u64().unwrap_or(0));
        }
    }
    highest
}

fn start_stack(db: &Database, name: &str) -> Stack {
    let options = common::stack_options(db, name);
    Stack::start(&options).unwrap_or_else(|e| {
        panic!(
            "the stack starts: {e} (logs in {})",
            options.scratch.display()
        )
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn through_nginx_votes_spread_over_every_replica_and_every_dashboard_query_has_data() {
    let db = Database::create();
    let stack = start_stack(&db, "spread");
    let nginx = stack.nginx_addr;

    // nginx and the replicas both set the security headers: one of each.
    let (_, head, _) = get_raw(nginx, "/api/polls").await;
    for header in [
        "content-security-policy:",
        "x-content-type-options:",
        "x-frame-options:",
        "referrer-policy:",
    ] {
        assert_eq!(head.matches(header).count(), 1, "{header}\n{head}");
    }

    let id = create_poll(nginx, "Stack?").await;

    let mut socket = open_live(nginx, &id).await;

    let acknowledged = vote_load(nginx, &id, 150, 15).await;
    assert_eq!(acknowledged, 150);
    for _ in 0..10 {
        let (status, _, _) = get_results(nginx, &id).await;
        assert_eq!(status, 200);
    }

    // The socket (served by one replica) saw votes the others served.
    let highest = highest_version(&mut socket, acknowledged).await;
    assert_eq!(highest, 150);

    // Every replica served votes, as Prometheus scraped them one by one.
    let per_instance =
        r#"sum by (instance) (http_requests_total{job="polling",route="/api/polls/{id}/votes"})"#;
    let mut instances = Vec::new();
    for _ in 0..60 {
        instances = promql(stack.prometheus_addr, per_instance).await;
        if instances.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        instances.len(),
        3,
        "votes reached every replica: {instances:?}"
    );
    for series in &instances {
        let served: f64 = series["value"][1].as_str().unwrap().parse().unwrap();
        assert!(served > 0.0, "{series}");
    }

    // Every PromQL expression of every dashboard evaluates to data.
    let mut missing = Vec::new();
    for (path, dashboard) in common::dashboards() {
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                if target["datasource"]["type"] != "prometheus" {
                    continue;
                }
                let expr = target["expr"].as_str().unwrap();
                if promql_eventually(stack.prometheus_addr, expr, 30)
                    .await
                    .is_empty()
                {
                    missing.push(format!("{path}: {}: {expr}", panel["title"]));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "dashboard queries without data:\n{}",
        missing.join("\n")
    );
}

/// `GET path` through `addr`: status, lower-cased response head, body.
async fn get_raw(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let request = format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
    let (status, head, body) = exchange(addr, &request).await.expect("an HTTP exchange");
    (status, head.to_ascii_lowercase(), body)
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

#[tokio::test(flavor = "multi_thread")]
async fn through_nginx_share_pages_and_qr_codes_come_from_the_replicas_which_name_themselves() {
    let db = Database::create();
    let stack = start_stack(&db, "share");
    let nginx = stack.nginx_addr;
    let id = create_poll(nginx, "Shared <stack>?").await;

    let (status, head, page) = get_raw(nginx, &format!("/p/{id}")).await;
    assert_eq!(status, 200, "{head}");
    assert!(
        header(&head, "x-served-by").is_some(),
        "from a replica: {head}"
    );
    assert!(
        page.contains("<meta property=\"og:title\" content=\"Shared &lt;stack&gt;?\">"),
        "{page}"
    );
    assert!(
        page.contains(&format!("content=\"http://{nginx}/p/{id}\"")),
        "{page}"
    );
    assert!(page.contains("src=\"/js/main.js\""), "the app: {page}");

    let (status, head, svg) = get_raw(nginx, &format!("/api/polls/{id}/qr.svg")).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(header(&head, "content-type"), Some("image/svg+xml"));
    assert!(svg.contains("<svg"), "{svg}");

    let mut served_by = std::collections::BTreeSet::new();
    for _ in 0..30 {
        let (status, head, _) = get_raw(nginx, &format!("/api/polls/{id}")).await;
        assert_eq!(status, 200);
        served_by.insert(
            header(&head, "x-served-by")
                .expect("X-Served-By")
                .to_owned(),
        );
    }
    assert_eq!(
        served_by.len(),
        3,
        "every replica named itself: {served_by:?}"
    );
}

/// nginx is the edge: the address it passes on is the client's TCP peer,
/// whatever `X-Forwarded-For` the client sent. Otherwise a client whose own
/// address is in a trusted range (here 127.0.0.1; in the compose stack, a
/// LAN on a private range) could name any address and escape its limit.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_cannot_escape_the_poll_rate_limit_by_sending_x_forwarded_for() {
    let db = Database::create();
    let stack = start_stack(&db, "spoof");
    let nginx = stack.nginx_addr;
    let body = serde_json::json!({"question": "Spoof?", "options": ["yes", "no"]}).to_string();
    // 20 poll creations a minute per client on each of the 3 replicas.
    let mut statuses = Vec::new();
    for n in 0..70 {
        let request = format!(
            "POST /api/polls HTTP/1.1\r\nhost: {nginx}\r\nconnection: close\r\n\
             x-forwarded-for: 203.0.113.{n}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, _, _) = exchange(nginx, &request).await.unwrap();
        statuses.push(status);
    }
    let created = statuses.iter().filter(|&&s| s == 201).count();
    let limited = statuses.iter().filter(|&&s| s == 429).count();
    assert_eq!(created + limited, 70, "only 201 or 429: {statuses:?}");
    assert!(
        created <= 60 && limited >= 10,
        "spoofed addresses escaped the limit: {created} created, {limited} refused"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_killed_mid_load_loses_no_acknowledged_vote() {
    let db = Database::create();
    let mut stack = start_stack(&db, "kill");
    let nginx = stack.nginx_addr;
    let id = create_poll(nginx, "Survive?").await;

    let load = tokio::spawn({
        let id = id.clone();
        async move { vote_load(nginx, &id, 300, 20).await }
    });
    // Kill a replica once votes are flowing.
    for _ in 0..200 {
        let (_, _, results) = get_results(nginx, &id).await;
        if results["total"].as_u64().unwrap_or(0) >= 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stack.kill_replica(0);
    let acknowledged = load.await.unwrap();

    assert_eq!(
        acknowledged, 300,
        "every client got an answer from the survivors"
    );
    let stored: u64 = db
        .query(&format!(
            "SELECT count(*) FROM ballots WHERE poll_id = '{id}'"
        ))
        .parse()
        .unwrap();
    assert_eq!(
        stored, acknowledged,
        "every acknowledged vote is in PostgreSQL, once"
    );
    let (_, _, results) = get_results(nginx, &id).await;
    assert_eq!(results["total"], acknowledged);
}

/// The header lines named `name` in `head` (lowercased).
fn headers<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.lines()
        .filter_map(|line| line.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_response_through_nginx_carries_the_security_headers_once() {
    let db = Database::create();
    let stack = start_stack(&db, "headers");
    let nginx = stack.nginx_addr;
    let unknown = polling_core::PollId::generate();
    // (path, expected status, expected Cache-Control if nginx sets it)
    let cases: [(&str, u16, Option<&str>); 8] = [
        ("/", 200, Some("no-cache")),
        ("/index.html", 200, Some("no-cache")),
        (
            "/app.css",
            200,
            Some("public, max-age=300, must-revalidate"),
        ),
        (
            "/favicon.svg",
            200,
            Some("public, max-age=300, must-revalidate"),
        ),
        ("/api/polls", 200, None),
        (&format!("/api/polls/{unknown}/results"), 404, None),
        ("/metrics", 404, None),
        // The browser tests live outside the served app (frontend-tests/).
        ("/tests/package.json", 404, None),
    ];
    for (path, status, cache) in cases {
        let (got, head, _) = get_raw(nginx, path).await;
        assert_eq!(got, status, "{path}: {head}");
        for name in [
            "x-content-type-options",
            "x-frame-options",
            "referrer-policy",
            "content-security-policy",
        ] {
            assert_eq!(
                headers(&head, name).len(),
                1,
                "{path} carries {name} exactly once: {head}"
            );
        }
        let cache_control = headers(&head, "cache-control");
        assert!(cache_control.len() <= 1, "{path}: {head}");
        if let Some(cache) = cache {
            assert_eq!(cache_control, [cache], "{path}: {head}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_closes_idle_replica_connections_before_the_replicas_would() {
    let db = Database::create();
    let stack = start_stack(&db, "idle");
    let nginx = stack.nginx_addr;
    let replica_ports: Vec<u16> = stack.replicas().iter().map(|r| r.addr.port()).collect();
    for _ in 0..6 {
        assert_eq!(get_raw(nginx, "/api/polls").await.0, 200);
    }
    let kept = polling_stack::process::established_to(&stack.nginx_pids(), &replica_ports);
    assert!(kept > 0, "nginx keeps its upstream connections alive");

    // The replicas close a connection idle for their header timeout (10 s);
    // nginx must close its idle ones first (keepalive_timeout 5s), so it
    // never sends a request it will not retry (POST /api/polls) on a
    // connection a replica is closing: a sporadic 502.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let left = polling_stack::process::established_to(&stack.nginx_pids(), &replica_ports);
    assert_eq!(left, 0, "nginx still held {left} idle upstream connections");
    let draft = serde_json::json!({"question": "After idling?", "options": ["yes", "no"]});
    let (status, _, body) = http(nginx, "POST", "/api/polls", Some(&draft), None)
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
}

/// `polling-stack up --redis-cluster`: the stack on a Redis Cluster of its
/// own. Votes through nginx spread over the replicas; a socket on any
/// replica sees them all (sharded Pub/Sub), every replica serves the count
/// PostgreSQL holds, and the cache entry sits on the master of the poll's
/// slot.
#[tokio::test(flavor = "multi_thread")]
async fn on_a_redis_cluster_of_its_own_every_replica_and_socket_sees_every_vote() {
    let db = Database::create();
    let mut options = common::stack_options(&db, "cluster");
    options.redis_cluster = true;
    let stack = Stack::start(&options).unwrap_or_else(|e| {
        panic!(
            "the stack starts: {e} (logs in {})",
            options.scratch.display()
        )
    });
    let nginx = stack.nginx_addr;
    let cluster = stack.redis_cluster().expect("the stack's own cluster");
    assert_eq!(cluster.urls().len(), 6, "3 masters with a replica each");

    let id = create_poll(nginx, "Cluster?").await;
    let mut socket = open_live(nginx, &id).await;

    let acknowledged = vote_load(nginx, &id, 120, 12).await;
    assert_eq!(acknowledged, 120);
    let highest = highest_version(&mut socket, acknowledged).await;
    assert_eq!(
        highest, acknowledged,
        "one socket saw every replica's votes"
    );
    for replica in stack.replicas() {
        let mut total = 0;
        for _ in 0..100 {
            let (_, _, results) = get_results(replica.addr, &id).await;
            total = results["total"].as_u64().unwrap_or(0);
            if total == acknowledged {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            total, acknowledged,
            "{} serves every vote",
            replica.instance
        );
    }
    let key = format!("{}results:{{{id}}}", options.redis_prefix);
    let master = cluster.master_of(&key);
    let cached = std::process::Command::new("redis-cli")
        .args(["-p", &master.to_string(), "HGET", &key, "v"])
        .output()
        .expect("redis-cli");
    assert_eq!(
        String::from_utf8_lossy(&cached.stdout).trim(),
        acknowledged.to_string(),
        "the cache entry is on the master of the poll's slot"
    );
}
