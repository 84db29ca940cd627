//! Abuse limits over real HTTP: per-client rates on creating polls (and
//! adding invite codes) and voting (429 with `Retry-After`), `X-Forwarded-For` believed only from a
//! trusted proxy, a cap on requests in flight (503), and slow clients cut
//! off by the header and body read timeouts.

use std::time::{Duration, Instant};

use crate::common::{
    create_poll, draft, id_of, read_until_closed, Client, Request, Response, TestServer,
};
use bytes::Bytes;
use polling_server::{App, RequestLimits};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

async fn server(limits: RequestLimits) -> TestServer {
    TestServer::with_app(App::builder().limits(limits).build()).await
}

/// Creates a poll through `client`, claiming in `X-Forwarded-For` to be
/// sent for `forwarded_for` when given.
async fn create_from(client: &Client, forwarded_for: Option<&str>) -> Response {
    let request = Request::post("/api/polls").json(&draft(&["tabs", "spaces"]));
    let request = match forwarded_for {
        Some(address) => request.header("x-forwarded-for", address),
        None => request,
    };
    client.send(request).await
}

#[tokio::test]
async fn a_client_over_its_vote_rate_gets_429_with_retry_after_and_nothing_is_recorded() {
    let server = server(RequestLimits {
        votes_per_minute: 2,
        ..RequestLimits::default()
    })
    .await;
    let (poll, _) = create_poll(&server.client(), draft(&["tabs", "spaces"])).await;
    let id = id_of(&poll);
    server.client().vote(&id, &[0]).await.assert_json(201);
    server.client().vote(&id, &[1]).await.assert_json(201);
    let refused = server.client().vote(&id, &[1]).await;
    refused.assert_error(429, "rate_limited");
    let retry_after: u64 = refused
        .header("retry-after")
        .expect("Retry-After on 429")
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert_eq!(refused.header("x-content-type-options"), Some("nosniff"));
    assert!(refused.header("content-security-policy").is_some());
    assert!(refused.header("x-request-id").is_some());

    let results = server
        .client()
        .get(&format!("/api/polls/{id}/results"))
        .await
        .assert_json(200);
    assert_eq!(results["version"], 2, "the refused vote was not recorded");
    // Reading is never rate limited.
    for _ in 0..5 {
        server
            .client()
            .get(&format!("/api/polls/{id}"))
            .await
            .assert_json(200);
    }
    let metrics = String::from_utf8(server.client().get("/metrics").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains(r#"polling_rate_limited_total{route="/api/polls/{id}/votes"}"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let limits = RequestLimits {
        polls_per_minute: 1,
        ..RequestLimits::default()
    };
    // No trusted proxy: the header is the client's own claim, ignored.
    let direct = server(limits.clone()).await;
    let client = direct.client();
    create_from(&client, Some("1.1.1.1")).await.assert_json(201);
    create_from(&client, Some("2.2.2.2"))
        .await
        .assert_error(429, "rate_limited");

    // Behind a trusted proxy (this test, on 127.0.0.1) each forwarded
    // address has its own allowance, and spoofed hops to the left count for
    // nothing.
    let proxied = server(RequestLimits {
        trusted_proxies: "127.0.0.1".parse().unwrap(),
        ..limits
    })
    .await;
    let client = proxied.client();
    create_from(&client, Some("1.1.1.1")).await.assert_json(201);
    create_from(&client, Some("2.2.2.2")).await.assert_json(201);
    create_from(&client, Some("9.9.9.9, 1.1.1.1"))
        .await
        .assert_error(429, "rate_limited");
    // IPv6 clients share their /64: rotating addresses within it gains nothing.
    create_from(&client, Some("2001:db8:1:2::1"))
        .await
        .assert_json(201);
    create_from(&client, Some("2001:db8:1:2:ffff::7"))
        .await
        .assert_error(429, "rate_limited");
    create_from(&client, Some("2001:db8:1:3::1"))
        .await
        .assert_json(201);
    // The proxy itself, forwarding nothing, is one more client.
    create_from(&client, None).await.assert_json(201);
    create_from(&client, None)
        .await
        .assert_error(429, "rate_limited");
}

#[tokio::test]
async fn requests_over_the_cap_in_flight_are_shed_with_503_then_served_again() {
    let server = server(RequestLimits {
        max_concurrent_requests: 2,
        ..RequestLimits::default()
    })
    .await;
    // Two requests whose bodies never finish stay in flight.
    let mut held = Vec::new();
    for _ in 0..2 {
        let (send, chunks) = mpsc::channel::<Bytes>(1);
        send.send(Bytes::from_static(b"{\"question\":"))
            .await
            .unwrap();
        let request = Request::post("/api/polls")
            .header("content-type", "application/json")
            .streamed(chunks);
        let client = server.client();
        held.push((
            send,
            tokio::spawn(async move { client.send(request).await }),
        ));
    }
    let client = server.client();
    let shed = wait_for(|| async { client.get("/api/polls").await.status.as_u16() == 503 }).await;
    assert!(shed, "a third request in flight was not shed");
    let refused = client.get("/api/polls").await;
    refused.assert_error(503, "unavailable");
    assert_eq!(refused.header("retry-after"), Some("1"));
    // The operators' routes are never shed.
    client.get("/healthz").await.assert_json(200);
    client.get("/readyz").await.assert_json(200);
    assert_eq!(client.get("/metrics").await.status.as_u16(), 200);

    for (send, answer) in held {
        drop(send);
        answer.await.unwrap().assert_error(400, "malformed_json");
    }
    client.get("/api/polls").await.assert_json(200);
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_disconnected_after_the_header_timeout() {
    let server = server(RequestLimits {
        header_read_timeout: Duration::from_millis(300),
        ..RequestLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "closed after {elapsed:?}"
    );
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");

    // An idle connection that never starts a request is bounded the same way.
    let mut idle = TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    assert_eq!(read_until_closed(&mut idle).await, "");
    assert!(started.elapsed() < Duration::from_secs(3));

    // So is a kept-alive connection that does not send its next request.
    let mut kept = TcpStream::connect(server.addr()).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut kept).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_http2_prior_knowledge_connection_is_not_served_and_cannot_idle_past_the_timeout() {
    let server = server(RequestLimits {
        header_read_timeout: Duration::from_millis(300),
        ..RequestLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    // The HTTP/2 connection preface, then an empty SETTINGS frame, then
    // nothing: with h2c served, the connection stayed open past 30 s.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    assert!(
        !answer.contains("\0\0\0\x04"),
        "no HTTP/2 SETTINGS came back: {answer:?}"
    );
}

#[tokio::test]
async fn a_client_trickling_its_body_is_answered_408_after_the_body_timeout() {
    let server = server(RequestLimits {
        body_read_timeout: Duration::from_millis(300),
        ..RequestLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /api/polls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"question\":",
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream).await;
    let elapsed = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "answered after {elapsed:?}"
    );
    let polls = Client::new(server.addr())
        .get("/api/polls")
        .await
        .assert_json(200);
    assert_eq!(
        polls["polls"].as_array().unwrap().len(),
        0,
        "nothing was written"
    );
}

/// Polls `condition` every 20 ms for up to 5 s; whether it became true.
async fn wait_for<F, Fut>(mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..250 {
        if condition().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn adding_invite_codes_draws_on_the_poll_creation_allowance() {
    // Each request may write 10,000 codes: as costly as a poll, so an owner
    // cannot add codes without end any faster than they can create polls.
    let server = server(RequestLimits {
        polls_per_minute: 3,
        ..RequestLimits::default()
    })
    .await;
    let owner = server.client();
    let mut invite_only = draft(&["tabs", "spaces"]);
    invite_only["eligibility"] = serde_json::json!("invite");
    let created = owner
        .send(Request::post("/api/polls").json(&invite_only))
        .await
        .assert_json(201);
    let token = created["manage_token"].as_str().unwrap().to_owned();
    let invites = format!("/api/polls/{}/invites", created["id"].as_str().unwrap());
    let add = || {
        owner.send(
            Request::post(&invites)
                .bearer(&token)
                .json(&serde_json::json!({ "count": 1 })),
        )
    };
    add().await.assert_json(201);
    add().await.assert_json(201);
    // The burst of 3 is spent: one poll, two additions.
    let refused = add().await;
    refused.assert_error(429, "rate_limited");
    assert!(refused.header("retry-after").is_some());
    create_from(&owner, None)
        .await
        .assert_error(429, "rate_limited");
    // Reading the codes draws on nothing; the two added are there.
    let listed = owner
        .send(Request::get(&invites).bearer(&token))
        .await
        .assert_json(200);
    assert_eq!(listed["invites"].as_array().map(Vec::len), Some(2));
}
