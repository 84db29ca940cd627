//! The browser app inside the binary: the `polling-server` binary started
//! where no `frontend/` directory is serves the app built into it, with
//! strong `ETag`s (`If-None-Match` gets 304) and its caching headers; with
//! `--frontend-dir` it serves that directory's files instead, read live.

use std::fs;
use std::path::PathBuf;

use polling_core::PollId;

use crate::common::process::ServerProcess;
use crate::common::{create_poll, draft, id_of, Client, Request};

/// A fresh, empty directory of this test's own, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("polling-embedded-{}", PollId::generate()));
        fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The repository's `frontend/` file at `path`.
fn repository_file(path: &str) -> Vec<u8> {
    fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../frontend/").to_owned() + path).unwrap()
}

#[tokio::test]
async fn the_lone_binary_serves_the_app_built_into_it() {
    let cwd = TempDir::new();
    assert!(!cwd.0.join("frontend").exists());
    let server = ServerProcess::start_in(&cwd.0, &[]).await;
    let client = Client::new(server.addr);

    let index = client.get("/").await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    assert_eq!(index.body.as_ref(), repository_file("index.html"));
    assert_eq!(client.get("/index.html").await.body, index.body);

    let module = client.get("/js/main.js").await;
    assert_eq!(module.status, 200);
    assert_eq!(
        module.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        module.header("cache-control"),
        Some("public, max-age=300, must-revalidate")
    );
    assert_eq!(module.body.as_ref(), repository_file("js/main.js"));
    let etag = module.header("etag").expect("an ETag").to_owned();
    assert!(etag.starts_with('"'), "a strong tag: {etag}");

    let revalidated = client
        .send(Request::get("/js/main.js").header("if-none-match", etag.clone()))
        .await;
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty());
    assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
    let stale = client
        .send(Request::get("/js/main.js").header("if-none-match", "\"older\""))
        .await;
    assert_eq!(stale.status, 200);

    let css = client.get("/app.css").await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let icon = client.get("/favicon.svg").await;
    assert_eq!(
        icon.header("content-type"),
        Some("image/svg+xml; charset=utf-8")
    );

    client
        .get("/frontend-tests/server.mjs")
        .await
        .assert_error(404, "route_not_found");
    client
        .get("/js/not-a-module.js")
        .await
        .assert_error(404, "route_not_found");
    // The API is still the API, and a share link is the built-in app's page
    // with the poll's link-preview tags.
    assert_eq!(client.get("/healthz").await.status, 200);
    let (poll, _) = create_poll(&client, draft(&["Tabs", "Spaces"])).await;
    let share = client
        .send(Request::get(format!("/p/{}", id_of(&poll))).header("accept", "text/html"))
        .await;
    assert_eq!(share.status, 200);
    let page = String::from_utf8_lossy(&share.body);
    assert!(
        page.contains(r#"<script type="module" src="/js/main.js">"#),
        "{page}"
    );
    assert!(
        page.contains(r#"<meta property="og:description" content="Vote: Tabs · Spaces">"#),
        "{page}"
    );
}

#[tokio::test]
async fn frontend_dir_serves_that_directory_read_live() {
    let cwd = TempDir::new();
    let app = TempDir::new();
    fs::create_dir_all(app.0.join("js")).unwrap();
    fs::write(
        app.0.join("index.html"),
        "<!doctype html><title>dev</title>",
    )
    .unwrap();
    fs::write(app.0.join("js/dev.js"), "export const dev = 1;\n").unwrap();
    let dir = app.0.to_str().unwrap().to_owned();
    let server = ServerProcess::start_in_with(&cwd.0, &[], &["--frontend-dir", &dir]).await;
    let client = Client::new(server.addr);

    let index = client.get("/").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.body.as_ref(), b"<!doctype html><title>dev</title>");
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let module = client.get("/js/dev.js").await;
    assert_eq!(module.status, 200);
    assert_eq!(module.body.as_ref(), b"export const dev = 1;\n");
    // Not the built-in app's files.
    assert_eq!(client.get("/js/main.js").await.status, 404);

    // Edits show without a restart.
    fs::write(app.0.join("js/dev.js"), "export const dev = 2;\n").unwrap();
    let edited = client.get("/js/dev.js").await;
    assert_eq!(edited.body.as_ref(), b"export const dev = 2;\n");
}
