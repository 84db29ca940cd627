//! The dashboard's per-replica queries on the native stack's real
//! Prometheus (the compose file's `prometheus.yml`, only its targets
//! rendered): each replica appears once, named by its `--instance`, and the
//! replica's name reaches Prometheus as `replica`, not as the collided
//! `exported_instance`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use polling_stack::{get_status, Stack};
use serde_json::Value;

mod common;

use common::Database;

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The result of the instant query `expr` on Prometheus at `addr`.
fn promql(addr: SocketAddr, expr: &str) -> Vec<Value> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET /api/v1/query?query={} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n",
        encode(expr)
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    // Chunked or not, the JSON object is the body's outermost braces.
    let json = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
    let answer: Value = serde_json::from_str(json).unwrap();
    assert_eq!(answer["status"], "success", "{expr}: {answer}");
    answer["data"]["result"].as_array().cloned().unwrap()
}

/// The dashboard's query of the panel titled `title`.
fn panel_query(title: &str) -> (String, String) {
    common::dashboards()
        .into_iter()
        .flat_map(|(_, d)| d["panels"].as_array().cloned().unwrap_or_default())
        .find(|p| p["title"].as_str().is_some_and(|t| t.starts_with(title)))
        .map(|p| {
            let target = &p["targets"][0];
            (
                target["expr"].as_str().unwrap().to_owned(),
                target["legendFormat"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap_or_else(|| panic!("no panel {title}"))
}

#[test]
fn per_replica_panels_show_each_replica_once_by_its_name() {
    let db = Database::create();
    let options = common::stack_options(&db, "dashboards");
    let stack = Stack::start(&options).unwrap_or_else(|e| {
        panic!(
            "the stack starts: {e} (logs in {})",
            options.scratch.display()
        )
    });
    let mut names: Vec<String> = stack
        .replicas()
        .iter()
        .map(|r| r.instance.clone())
        .collect();
    names.sort();

    let info = r#"polling_build_info{job="polling"}"#;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut panels = Vec::new();
    for title in [
        "Requests per replica",
        "CPU per container",
        "Memory per container",
    ] {
        let (expr, legend) = panel_query(title);
        let series = loop {
            // Traffic for the rates, and time for two scrapes of it.
            for _ in 0..5 {
                let _ = get_status(stack.nginx_addr, "/api/polls");
            }
            let series = promql(stack.prometheus_addr, &expr);
            if series.len() >= names.len() || Instant::now() > deadline {
                break series;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        panels.push((title, legend, series));
    }
    let build_info = promql(stack.prometheus_addr, info);
    drop(stack);

    assert_eq!(build_info.len(), names.len(), "{build_info:?}");
    for series in &build_info {
        let labels = &series["metric"];
        assert!(labels.get("exported_instance").is_none(), "{labels}");
        assert!(
            labels["instance"].as_str().unwrap().contains(':'),
            "the target's address stays `instance`: {labels}"
        );
    }
    for (title, legend, series) in panels {
        assert!(legend.contains("{{replica}}"), "{title}: {legend}");
        let mut shown: Vec<String> = series
            .iter()
            .map(|s| {
                s["metric"]["replica"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{title}: {s}"))
                    .to_owned()
            })
            .collect();
        shown.sort();
        assert_eq!(shown, names, "{title}: each replica once, by name");
    }
}
