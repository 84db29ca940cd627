//! The store behind PgBouncer in transaction mode, as operators run it at
//! scale: the polling-core conformance suites with every query through a
//! PgBouncer of the test's own ([`polling_testkit::PgBouncer`]), whose two
//! server connections take the transactions of a client pool of ten in turn.
//! `#[sqlx::test]` makes and migrates the database directly (migrations need
//! a session: see `docs/pgbouncer.md`); only the subject goes through the
//! pooler.

use polling_testkit::PgBouncer;
use sqlx::PgPool;

/// The client pool's size: several clients per server connection.
const CLIENTS: u32 = 10;

/// A pool of [`CLIENTS`] on `direct`'s database through a PgBouncer of its
/// own, alive as long as the pool.
async fn through_pgbouncer(direct: &PgPool) -> PgPool {
    PgBouncer::start(&direct.connect_options())
        .pool(CLIENTS)
        .await
}

mod store {
    use polling_store_postgres::PgPollStore;
    use sqlx::PgPool;

    polling_core::store_conformance_tests!(
        #[sqlx::test] pool: PgPool => PgPollStore::new(super::through_pgbouncer(&pool).await)
    );
}

mod idempotency {
    use polling_store_postgres::PgIdempotencyStore;
    use sqlx::PgPool;

    polling_core::idempotency_conformance_tests!(
        #[sqlx::test] pool: PgPool => PgIdempotencyStore::new(super::through_pgbouncer(&pool).await)
    );
}

/// The setting the suites above rely on: the client pool's connections
/// share PgBouncer's few server connections, so a statement prepared by one
/// client runs on a server connection another client prepared things on.
/// Were PgBouncer in session mode (or bypassed), each client would keep a
/// backend of its own and this would see ten.
#[sqlx::test]
async fn the_clients_share_fewer_server_connections_than_they_are(direct: PgPool) {
    let pooled = through_pgbouncer(&direct).await;
    let mut held = Vec::new();
    for _ in 0..CLIENTS {
        held.push(pooled.acquire().await.unwrap());
    }
    let mut backends = std::collections::BTreeSet::new();
    for connection in &mut held {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut **connection)
            .await
            .unwrap();
        backends.insert(pid);
    }
    assert_eq!(held.len(), CLIENTS as usize);
    assert!(
        backends.len() <= PgBouncer::SERVER_CONNECTIONS as usize,
        "{} client connections ran on {} backends: {backends:?}",
        CLIENTS,
        backends.len()
    );
}

/// The statement timeout the server no longer sends (PgBouncer refuses it)
/// is set by PgBouncer on every server connection, so a stuck statement
/// still cannot hold a poll's lock forever.
#[sqlx::test]
async fn statements_through_pgbouncer_have_its_statement_timeout(direct: PgPool) {
    let pooled = through_pgbouncer(&direct).await;
    let timeout: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&pooled)
        .await
        .unwrap();
    assert_eq!(
        timeout,
        format!("{}s", PgBouncer::statement_timeout_ms() / 1000)
    );
    let error = sqlx::query("SELECT pg_sleep(10)")
        .execute(&pooled)
        .await
        .unwrap_err();
    let code = error
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(code.as_deref(), Some("57014"), "query_canceled: {error}");
}

/// A broadcaster whose listening connection goes through PgBouncer hears
/// nothing of its own `NOTIFY` (the `LISTEN` stays on a server connection
/// lent to others), and `round_trip` says so; with its listening connection
/// direct (`with_listener`, as `--database-session-url` makes it) and its
/// publishes still through PgBouncer, the round trip completes.
#[sqlx::test]
async fn a_notify_round_trip_fails_through_pgbouncer_and_works_from_a_direct_listener(
    direct: PgPool,
) {
    use polling_store_postgres::{PgBroadcaster, PgBroadcasterConfig};
    use std::time::Duration;

    let pooled = through_pgbouncer(&direct).await;
    let through = PgBroadcaster::new(&pooled);
    while !through.is_listening() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let error = through
        .round_trip(Duration::from_secs(2))
        .await
        .expect_err("no NOTIFY comes back through PgBouncer");
    assert_eq!(error.code(), "unavailable");
    drop(through);

    let split = PgBroadcaster::with_listener(
        &pooled,
        direct.connect_options().as_ref().clone(),
        &PgBroadcasterConfig::default(),
    );
    while !split.is_listening() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    split
        .round_trip(Duration::from_secs(5))
        .await
        .expect("a direct listener hears a NOTIFY published through PgBouncer");
}
