//! What a restart, a concurrent start-up and a lost database do to the store.

use std::time::Duration;

use polling_core::testing::{ballot, sample_poll};
use polling_core::{OptionId, PollError, PollStore, VoterId};
use polling_store_postgres::{migrate, PgPollStore};
use polling_testkit::TcpProxy;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

#[sqlx::test]
async fn votes_survive_a_new_pool(options: PgPoolOptions, connect: PgConnectOptions) {
    let before = options.clone().connect_with(connect.clone()).await.unwrap();
    let store = PgPollStore::new(before.clone());
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();
    let voter = VoterId::generate();
    let cast = store.cast(&ballot(&poll, &voter, &[1])).await.unwrap();
    before.close().await;

    let after = PgPollStore::new(options.connect_with(connect).await.unwrap());
    assert_eq!(after.get(poll.id).await.unwrap(), poll);
    let results = after.results(poll.id).await.unwrap();
    assert_eq!(results, cast.results);
    assert_eq!(results.votes(OptionId::new(1)), Some(1));
    let replay = after.cast(&ballot(&poll, &voter, &[1])).await.unwrap();
    assert!(!replay.is_new());
    assert_eq!(replay.receipt, cast.receipt);
}

#[sqlx::test(migrations = false)]
async fn replicas_migrating_at_once_apply_each_migration_once(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut pools = Vec::new();
    for _ in 0..3 {
        pools.push(options.clone().connect_with(connect.clone()).await.unwrap());
    }
    let runs = futures_util::future::join_all(pools.iter().map(migrate)).await;
    for run in runs {
        run.expect("every replica's migration run succeeds");
    }
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&pools[0])
        .await
        .unwrap();
    assert_eq!(
        applied as usize,
        polling_store_postgres::MIGRATOR.iter().count()
    );
    let store = PgPollStore::new(pools[0].clone());
    store.create(&sample_poll(2, false, None)).await.unwrap();
}

#[sqlx::test]
async fn a_lost_database_is_unavailable_then_recovers_by_itself(
    options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let mut proxy = TcpProxy::start(pg_addr(&connect)).await.unwrap();
    let pool = options
        .max_connections(2)
        .acquire_timeout(Duration::from_millis(500))
        .connect_with(connect.host("127.0.0.1").port(proxy.addr().port()))
        .await
        .unwrap();
    let store = PgPollStore::new(pool);
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();

    proxy.cut().await;
    let cast = tokio::time::timeout(
        Duration::from_secs(10),
        store.cast(&ballot(&poll, &VoterId::generate(), &[0])),
    )
    .await
    .expect("a lost database fails fast, not never");
    assert!(matches!(cast, Err(PollError::Unavailable(_))), "{cast:?}");
    assert!(matches!(
        store.results(poll.id).await,
        Err(PollError::Unavailable(_))
    ));

    proxy.restore().await.unwrap();
    let mut recovered = None;
    for _ in 0..50 {
        match store.cast(&ballot(&poll, &VoterId::generate(), &[0])).await {
            Ok(outcome) => {
                recovered = Some(outcome);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let outcome = recovered.expect("the store recovers without a restart");
    assert_eq!(
        outcome.results.version, 1,
        "the failed ballot was not recorded"
    );
}

fn pg_addr(connect: &PgConnectOptions) -> std::net::SocketAddr {
    let host = match connect.get_host() {
        "localhost" => "127.0.0.1",
        host if host.starts_with('/') => "127.0.0.1",
        host => host,
    };
    format!("{host}:{}", connect.get_port()).parse().unwrap()
}

#[sqlx::test]
async fn the_configured_statement_timeout_stops_a_stuck_statement(
    _options: PgPoolOptions,
    connect: PgConnectOptions,
) {
    let url = format!(
        "postgres://{}@127.0.0.1:{}/{}",
        connect.get_username(),
        connect.get_port(),
        connect.get_database().unwrap()
    );
    let config = polling_store_postgres::PgConfig {
        statement_timeout: Some(Duration::from_millis(100)),
        ..polling_store_postgres::PgConfig::new(url)
    };
    let pool = config.connect().await.unwrap();
    let shown: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(shown, "100ms");
    let stuck = sqlx::query("SELECT pg_sleep(5)").execute(&pool).await;
    let error = stuck.expect_err("a 5 s statement is cancelled after 100 ms");
    assert!(error.to_string().contains("statement timeout"), "{error}");
}
