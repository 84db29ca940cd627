//! What operators get: `/metrics` (checked by the real `promtool` and
//! scraped by a real Prometheus), request ids, and one JSON log line per
//! request from the real binary.

use crate::common;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::{create_poll, draft, id_of, Request, TestServer};
use serde_json::Value;

/// The samples of a Prometheus text page: `name{labels}` → value.
fn samples(page: &str) -> BTreeMap<String, f64> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The value of the one series named `name` whose labels include every
/// `label="value"` pair in `labels`, or 0 when there is none.
fn value(samples: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(series, _)| {
            let (series_name, rest) = series.split_once('{').unwrap_or((series, ""));
            series_name == name
                && labels
                    .iter()
                    .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| *v)
        .collect();
    assert!(
        matching.len() <= 1,
        "{name} {labels:?} matches {matching:?}"
    );
    matching.first().copied().unwrap_or(0.0)
}

async fn metrics_page(server: &TestServer) -> String {
    let response = server.client().get("/metrics").await;
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    String::from_utf8(response.body.to_vec()).expect("a UTF-8 page")
}

#[tokio::test]
async fn request_ids_round_trip_and_are_made_up_when_missing_or_odd() {
    let server = TestServer::start().await;
    let client = server.client();
    let echoed = client
        .send(Request::get("/healthz").header("x-request-id", "edge-1234"))
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("edge-1234"));

    let fresh = client.get("/healthz").await;
    let id = fresh
        .header("x-request-id")
        .expect("an id on every response");
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));

    let odd = client
        .send(Request::get("/nowhere").header("x-request-id", "no spaces please"))
        .await;
    assert_ne!(odd.header("x-request-id"), Some("no spaces please"));
    assert!(odd.header("x-request-id").is_some(), "errors carry one too");
}

#[tokio::test]
async fn http_requests_are_counted_by_route_template_never_by_raw_path() {
    let server = TestServer::start().await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["a", "b"])).await;
    let id = id_of(&poll);
    for _ in 0..3 {
        client
            .get(&format!("/api/polls/{id}/results"))
            .await
            .assert_json(200);
    }
    client.get("/api/polls/not-a-poll/results").await;
    client.get("/no/such/route").await;

    let page = metrics_page(&server).await;
    let samples = samples(&page);
    let results_route = [("method", "GET"), ("route", "/api/polls/{id}/results")];
    assert_eq!(
        value(
            &samples,
            "http_requests_total",
            &[results_route[0], results_route[1], ("status", "2xx")]
        ),
        3.0
    );
    assert_eq!(
        value(
            &samples,
            "http_requests_total",
            &[results_route[0], results_route[1], ("status", "4xx")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "http_requests_total",
            &[("route", "unmatched"), ("status", "4xx")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            "http_request_duration_seconds_count",
            &results_route
        ),
        4.0
    );
    assert!(!page.contains(&id), "no poll id in any label");
    assert_eq!(
        value(
            &samples,
            "polling_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
}

#[tokio::test]
async fn the_metrics_page_passes_promtool_check_metrics() {
    let server = TestServer::start().await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["a", "b"])).await;
    client.vote(&id_of(&poll), &[0]).await.assert_json(201);
    let page = metrics_page(&server).await;

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (scripts/deps installs Debian's prometheus package)");
    use std::io::Write;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics refused the page:\n{}{}\n--- page ---\n{page}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn the_binary_logs_one_json_line_per_request_with_its_fields() {
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_polling-server"))
        .env_clear()
        .env("POLLING_LISTEN", addr.to_string())
        .env("POLLING_LOG_FORMAT", "json")
        .env("DATABASE_URL", polling_server::MEMORY_DATABASE_URL)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start polling-server");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let reader = std::thread::spawn(move || {
        let mut found = Vec::new();
        for line in lines.map_while(Result::ok) {
            let parsed: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            if parsed["message"] == "request" {
                found.push(parsed);
                if found.len() == 2 {
                    break;
                }
            }
        }
        found
    });

    let client = common::Client::new(addr);
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (poll, _) = create_poll(&client, draft(&["a", "b"])).await;
    let id = id_of(&poll);
    client
        .send(Request::get(format!("/api/polls/{id}")).header("x-request-id", "trace-me-42"))
        .await
        .assert_json(200);

    let found = reader.join().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(found.len(), 2, "one line per request");
    let line = &found[1];
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["route"], "/api/polls/{id}");
    assert_eq!(line["status"], 200);
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{line}"
    );
    assert_eq!(line["span"]["request_id"], "trace-me-42");
    assert_eq!(line["span"]["method"], "GET");
    assert_eq!(line["span"]["path"], format!("/api/polls/{id}"));
    assert_eq!(found[0]["span"]["method"], "POST");
    let body_logged = found.iter().any(|l| l.to_string().contains("question"));
    assert!(!body_logged, "bodies are never logged");
}

/// A Prometheus of the test's own, scraping `target` every second.
struct Prometheus {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    dir: std::path::PathBuf,
}

impl Prometheus {
    async fn scraping(target: std::net::SocketAddr) -> Self {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let dir = std::env::temp_dir().join(format!("polling-prometheus-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: polling\n    static_configs:\n      \
                 - targets: ['{target}']\n"
            ),
        )
        .unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus (scripts/deps installs Debian's prometheus package)");
        let prometheus = Self { child, addr, dir };
        let client = common::Client::new(addr);
        for _ in 0..200 {
            if let Ok(ready) = client.try_send(Request::get("/-/ready")).await {
                if ready.status.as_u16() == 200 {
                    return prometheus;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("Prometheus was not ready within 20 s");
    }

    /// The result vector of an instant PromQL query.
    async fn query(&self, promql: &str) -> Vec<Value> {
        let query: String = url_encode(promql);
        let response = common::Client::new(self.addr)
            .get(&format!("/api/v1/query?query={query}"))
            .await;
        let body = response.json();
        assert_eq!(body["status"], "success", "{body}");
        body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn uuid_like() -> String {
    polling_core::PollId::generate().to_string()
}

fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_real_prometheus_scrapes_the_vote_rate() {
    let server = TestServer::start().await;
    let prometheus = Prometheus::scraping(server.addr()).await;
    let (poll, _) = create_poll(&server.client(), draft(&["a", "b"])).await;
    let id = id_of(&poll);
    for _ in 0..3 {
        server.client().vote(&id, &[0]).await.assert_json(201);
    }

    let mut accepted = None;
    for _ in 0..100 {
        let result = prometheus
            .query(r#"sum(polling_votes_total{job="polling",outcome="accepted"})"#)
            .await;
        if let Some(value) = result.first().and_then(|r| r["value"][1].as_str()) {
            if value == "3" {
                accepted = Some(value.to_owned());
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        accepted.as_deref(),
        Some("3"),
        "Prometheus scraped the 3 votes"
    );

    let mut rate = Vec::new();
    for _ in 0..100 {
        rate = prometheus
            .query(r#"rate(polling_votes_total{job="polling",outcome="accepted"}[10s])"#)
            .await;
        if !rate.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(rate.len(), 1, "one vote rate series: {rate:?}");
    assert_eq!(rate[0]["metric"]["outcome"], "accepted");
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_what_the_requests_did() {
    use futures_util::StreamExt;

    let server = TestServer::start().await;
    let owner = server.client();
    let (poll, _) = create_poll(&owner, draft(&["a", "b"])).await;
    let id = id_of(&poll);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/polls/{id}/live", server.addr()))
            .await
            .unwrap();
    socket.next().await.unwrap().unwrap(); // the snapshot

    let voters: Vec<_> = (0..3).map(|_| server.client()).collect();
    for voter in &voters {
        voter.vote(&id, &[0]).await.assert_json(201);
    }
    voters[0].vote(&id, &[0]).await.assert_json(200); // the same ballot again
    voters[1]
        .vote(&id, &[1])
        .await
        .assert_error(409, "already_voted");
    server
        .client()
        .vote(&id, &[7])
        .await
        .assert_error(422, "invalid_choice");
    owner
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    owner
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);

    let page = metrics_page(&server).await;
    let samples = samples(&page);
    let votes = |outcome| value(&samples, "polling_votes_total", &[("outcome", outcome)]);
    assert_eq!(votes("accepted"), 3.0);
    assert_eq!(votes("duplicate"), 1.0);
    assert_eq!(votes("already_voted"), 1.0);
    assert_eq!(votes("invalid"), 1.0);
    assert_eq!(
        value(&samples, "polling_vote_duration_seconds_count", &[]),
        6.0
    );
    // The socket's snapshot and both reads: every vote put fresh results in
    // the cache, so the reads hit it.
    assert_eq!(
        value(
            &samples,
            "polling_results_reads_total",
            &[("source", "cache_hit")]
        ),
        2.0
    );
    assert_eq!(value(&samples, "polling_live_sockets", &[]), 1.0);
    assert!(value(&samples, "polling_live_messages_sent_total", &[]) >= 2.0);
    for family in [
        "polling_results_read_duration_seconds",
        "http_requests_total",
        "http_request_duration_seconds",
        "polling_build_info",
    ] {
        assert!(
            page.contains(&format!("# TYPE {family} ")),
            "{family} is on the page"
        );
    }
    assert!(page.contains("# HELP polling_votes_total "), "described");
}
