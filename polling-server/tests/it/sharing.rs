//! Sharing and operating over real HTTP: `X-Served-By` on every response,
//! the QR code of the share link, and the share page `/p/{id}` with its
//! Open Graph tags, on the in-process backends and on PostgreSQL.

use std::path::PathBuf;

use crate::common::{create_poll, draft, id_of, Request, TestServer};
use polling_server::{AppBuilder, PublicUrl};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde_json::json;

/// The repository's browser app.
fn frontend_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend"))
}

/// The SVG the server should answer for `link`.
fn qr_of(link: &str) -> String {
    QrCode::with_error_correction_level(link.as_bytes(), EcLevel::M)
        .expect("a link fits")
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build()
}

on_both_backends!(
    every_response_names_the_instance_that_served_it,
    the_qr_code_encodes_the_share_link,
    the_share_page_is_the_app_with_escaped_open_graph_tags,
    unknown_polls_have_no_share_page_or_qr_code,
);

async fn every_response_names_the_instance_that_served_it(app: AppBuilder) {
    let app = app.instance("replica-7").frontend_dir(Some(frontend_dir()));
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["a", "b"])).await;
    let id = id_of(&poll);
    let requests = [
        ("an API read", Request::get(format!("/api/polls/{id}"))),
        (
            "a vote",
            Request::post(format!("/api/polls/{id}/votes")).json(&json!({"choices": [0]})),
        ),
        ("a static file", Request::get("/app.css")),
        ("the app", Request::get("/")),
        ("an unknown route", Request::get("/api/nope")),
        (
            "an unknown poll",
            Request::get(format!("/api/polls/{}", polling_core::PollId::generate())),
        ),
        (
            "a wrong method",
            Request::new(hyper::Method::PUT, "/api/polls"),
        ),
        (
            "a bad body",
            Request::post("/api/polls")
                .header("content-type", "application/json")
                .body("{"),
        ),
        (
            "a WebSocket route without a handshake",
            Request::get(format!("/api/polls/{id}/live")),
        ),
        (
            "a WebSocket from a foreign origin",
            Request::get(format!("/api/polls/{id}/live"))
                .header("connection", "Upgrade")
                .header("upgrade", "websocket")
                .header("sec-websocket-version", "13")
                .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
                .header("origin", "https://evil.example"),
        ),
        ("the health check", Request::get("/healthz")),
        ("the metrics", Request::get("/metrics")),
    ];
    for (what, request) in requests {
        let response = client.send(request).await;
        assert_eq!(
            response.header("x-served-by"),
            Some("replica-7"),
            "{what} answered {} without X-Served-By: {:?}",
            response.status,
            response.headers
        );
    }
}

async fn the_qr_code_encodes_the_share_link(app: AppBuilder) {
    let server = TestServer::with_app(app).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["a", "b"])).await;
    let id = id_of(&poll);
    let path = format!("/api/polls/{id}/qr.svg");

    let response = client.get(&path).await;
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(response.header("content-type"), Some("image/svg+xml"));
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=86400")
    );
    let svg = std::str::from_utf8(&response.body).expect("SVG is text");
    assert!(svg.contains("<svg") && svg.contains("</svg>"), "{svg}");
    let link = format!("http://{}/p/{id}", server.addr());
    assert_eq!(svg, qr_of(&link), "the QR code of {link}");

    let proxied = client
        .send(
            Request::get(&path)
                .header("host", "polls.example.com")
                .header("x-forwarded-proto", "https"),
        )
        .await;
    let body = std::str::from_utf8(&proxied.body).unwrap();
    assert_eq!(body, qr_of(&format!("https://polls.example.com/p/{id}")));

    let bad_host = client
        .send(Request::get(&path).header("host", "x\"><script>"))
        .await;
    bad_host.assert_error(400, "bad_request");
}

async fn the_share_page_is_the_app_with_escaped_open_graph_tags(app: AppBuilder) {
    let public: PublicUrl = "https://polls.example.com".parse().unwrap();
    let with_app = app.frontend_dir(Some(frontend_dir()));
    let server = TestServer::with_app(with_app.clone()).await;
    let client = server.client();
    let question = "Tabs & \"spaces\" <script>alert(1)</script>?";
    let (poll, _) = create_poll(
        &client,
        json!({ "question": question, "options": ["<b>Tabs</b>", "Spaces 'n' stuff"] }),
    )
    .await;
    let id = id_of(&poll);

    let response = client.get(&format!("/p/{id}")).await;
    assert_eq!(response.status.as_u16(), 200);
    assert!(response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html")));
    let page = std::str::from_utf8(&response.body).unwrap();
    let escaped = "Tabs &amp; &quot;spaces&quot; &lt;script&gt;alert(1)&lt;/script&gt;?";
    assert!(
        !page.contains("<script>alert"),
        "unescaped question: {page}"
    );
    for tag in [
        format!("<meta property=\"og:title\" content=\"{escaped}\">"),
        "<meta property=\"og:description\" content=\"Vote: &lt;b&gt;Tabs&lt;/b&gt; · Spaces &#39;n&#39; stuff\">".to_owned(),
        format!("<meta property=\"og:url\" content=\"http://{}/p/{id}\">", server.addr()),
        "<meta property=\"og:type\" content=\"website\">".to_owned(),
        "<meta name=\"twitter:card\" content=\"summary\">".to_owned(),
        format!("<title>{escaped} · Polling</title>"),
    ] {
        assert!(page.contains(&tag), "missing {tag} in {page}");
    }
    let head_end = page.find("</head>").expect("a head");
    assert!(
        page.find("og:title").unwrap() < head_end,
        "tags in the head"
    );
    assert!(
        page.contains("<script type=\"module\" src=\"/js/main.js\"></script>"),
        "the app, with asset URLs that resolve from /p/: {page}"
    );

    let configured = TestServer::with_app(with_app.public_url(Some(public))).await;
    let page = configured.client().get(&format!("/p/{id}")).await;
    let page = std::str::from_utf8(&page.body).unwrap();
    assert!(page.contains(&format!(
        "<meta property=\"og:url\" content=\"https://polls.example.com/p/{id}\">"
    )));
}

async fn unknown_polls_have_no_share_page_or_qr_code(app: AppBuilder) {
    let server = TestServer::with_app(app.frontend_dir(Some(frontend_dir()))).await;
    let client = server.client();
    let unknown = polling_core::PollId::generate();
    client
        .get(&format!("/p/{unknown}"))
        .await
        .assert_error(404, "not_found");
    client
        .get("/p/not-a-poll-id")
        .await
        .assert_error(404, "not_found");
    client
        .get(&format!("/api/polls/{unknown}/qr.svg"))
        .await
        .assert_error(404, "not_found");
    let browser = client
        .send(Request::get(format!("/p/{unknown}")).header("accept", "text/html,*/*"))
        .await;
    assert_eq!(browser.status.as_u16(), 404);
    let page = std::str::from_utf8(&browser.body).unwrap();
    assert!(
        page.contains("/js/main.js") && !page.contains("og:title"),
        "{page}"
    );
}

#[tokio::test]
async fn without_a_browser_app_the_share_page_is_a_page_of_its_own() {
    let server = TestServer::with_app(polling_server::App::in_process()).await;
    let client = server.client();
    let (poll, _) = create_poll(&client, draft(&["Tabs", "Spaces"])).await;
    let id = id_of(&poll);
    let response = client.get(&format!("/p/{id}")).await;
    assert_eq!(response.status.as_u16(), 200);
    let page = std::str::from_utf8(&response.body).unwrap();
    assert!(page.contains("<h1>Tabs or spaces?</h1>"), "{page}");
    assert!(page.contains("<li>Tabs</li><li>Spaces</li>"), "{page}");
    assert!(page.contains("<meta property=\"og:title\" content=\"Tabs or spaces?\">"));
}
