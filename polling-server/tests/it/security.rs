//! Secrets and cookies as SECURITY.md states them: manage tokens of 256
//! random bits that PostgreSQL keeps only as a SHA-256 digest, and a voter
//! cookie that is `Secure` exactly when configured.

use crate::common::{create_poll, database_url, draft, id_of, TestServer};
use clap::Parser;
use polling_server::{App, Backends, Config};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Row;

#[tokio::test]
async fn the_voter_cookie_is_secure_exactly_when_configured() {
    for secure in [false, true] {
        let server = TestServer::with_app(App::builder().secure_cookies(secure).build()).await;
        let answer = server
            .client()
            .post_json("/api/polls", &draft(&["a", "b"]))
            .await;
        let cookie = answer
            .header("set-cookie")
            .expect("a new voter gets a cookie");
        assert!(
            cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Lax"),
            "{cookie}"
        );
        assert_eq!(cookie.contains("; Secure"), secure, "{cookie}");
    }
}

#[sqlx::test]
async fn manage_tokens_are_256_random_bits_and_postgres_keeps_only_their_digest(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let config = Config::try_parse_from([
        "polling-server",
        "--database-url",
        &database_url(&connect, connect.get_port()),
    ])
    .unwrap();
    let backends = Backends::connect(&config).await.expect("backends connect");
    let server = TestServer::with_app(backends.into_builder().build()).await;
    let client = server.client();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let (poll, token) = create_poll(&client, draft(&["a", "b"])).await;
        assert_eq!(token.len(), 64, "256 bits as hex: {token}");
        assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
        tokens.push((id_of(&poll), token));
    }
    assert!(tokens[0].1 != tokens[1].1 && tokens[1].1 != tokens[2].1);

    let pool = options.connect_with(connect).await.unwrap();
    for (id, token) in &tokens {
        let row = sqlx::query(
            "SELECT manage_token_hash, polls::text AS whole FROM polls WHERE id = $1::uuid",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
        let stored: String = row.get("manage_token_hash");
        let whole: String = row.get("whole");
        assert_eq!(stored, sha256_hex(token), "the digest is kept");
        assert!(
            !whole.contains(token.as_str()),
            "the token itself is stored: {whole}"
        );
    }
}

/// SHA-256 of `text` as lowercase hex, by the `sha256sum` program: an
/// implementation independent of the server's.
fn sha256_hex(text: &str) -> String {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}
