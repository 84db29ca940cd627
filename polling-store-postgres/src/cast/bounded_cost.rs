//! The hot-poll writer's statements cost what their batch costs, not what
//! the poll holds: measured with `EXPLAIN (ANALYZE, BUFFERS)` of the exact
//! statements on a poll of 200,000 ballots that was never analysed, under
//! the plans a new poll gets (a generic plan cached while the table was
//! empty) and under custom plans. The ballots are partitioned by poll: a
//! generic plan of the lookup removes every other partition when it starts.

use polling_core::testing::sample_poll;
use polling_core::PollStore;
use serde_json::Value;
use sqlx::{AssertSqlSafe, PgConnection, PgPool, Row};

use super::transaction::{EARLIER_BALLOTS, RECORD};
use crate::PgPollStore;

/// Ballots already in the poll when the batch arrives.
const BALLOTS_IN_POLL: u32 = 200_000;

/// The ballots table's partitions.
const PARTITIONS: u64 = 16;

/// Voters in the measured batch.
const BATCH: usize = 64;

/// What a batch may touch: the index and heap pages of each of its ballots
/// (about 9 to insert one, 3 to look one up), plus the poll row. Reading the
/// poll's ballots takes about 4,600 pages at 200,000 ballots, so a plan that
/// does cannot meet it.
const MAX_BUFFERS: u64 = 16 * BATCH as u64 + 64;

/// Rows a scan of the ballots may produce for the batch: its own, and the
/// dead index entries the measured statements leave when rolled back (a
/// scan of the poll produces 200,000).
const MAX_ROWS: u64 = 4 * BATCH as u64;

#[sqlx::test]
async fn the_writers_statements_read_a_batch_not_the_poll(pool: PgPool) {
    let store = PgPollStore::new(pool.clone());
    let poll = sample_poll(2, false, None);
    store.create(&poll).await.unwrap();
    let id = poll.id.to_string();

    let mut conn = pool.acquire().await.unwrap();
    // Storage parameters belong to the partitions, not to the partitioned table.
    run(
        &mut conn,
        "DO $$ DECLARE p regclass; BEGIN \
           FOR p IN SELECT inhrelid::regclass FROM pg_inherits \
                     WHERE inhparent = 'ballots'::regclass LOOP \
             EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = false)', p); \
           END LOOP; END $$",
    )
    .await;
    // A generic plan made while the poll is empty, kept as the poll grows:
    // what a pooled connection that served the poll's first votes holds.
    run(&mut conn, "SET plan_cache_mode = force_generic_plan").await;
    run(&mut conn, &format!("PREPARE lookup AS {EARLIER_BALLOTS}")).await;
    run(&mut conn, &format!("PREPARE record AS {RECORD}")).await;
    let early = voters("early-", 0..BATCH);
    run(&mut conn, &lookup(&id, &early)).await;
    run(&mut conn, "BEGIN").await;
    run(&mut conn, &record(&id, &early)).await;
    run(&mut conn, "ROLLBACK").await;

    run(
        &mut conn,
        &format!(
            "INSERT INTO ballots (poll_id, voter_id, choices, cast_at, version) \
             SELECT '{id}', 'bulk-' || g, '{{0}}', now(), g \
               FROM generate_series(1, {BALLOTS_IN_POLL}) AS g"
        ),
    )
    .await;
    let analysed: Option<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class \
          WHERE (relname = 'ballots' OR oid IN (SELECT inhrelid FROM pg_inherits \
                  WHERE inhparent = 'ballots'::regclass)) AND reltuples >= 0 LIMIT 1",
    )
    .fetch_optional(&mut *conn)
    .await
    .unwrap();
    assert_eq!(analysed, None, "no ballots partition has statistics");

    // Half the batch voted before (changes), half are new.
    let mut batch = voters("bulk-", 1..BATCH / 2 + 1);
    batch.extend(voters("new-", 0..BATCH / 2));

    for mode in ["force_generic_plan", "force_custom_plan"] {
        run(&mut conn, &format!("SET plan_cache_mode = {mode}")).await;

        let plan = explain(&mut conn, &lookup(&id, &batch)).await;
        assert_bounded(&plan, &format!("earlier ballots ({mode})"));
        let pruned_at_start = mode == "force_generic_plan";
        assert_one_partition(&plan, &format!("earlier ballots ({mode})"), pruned_at_start);
        let count = format!("SELECT count(*) FROM ({EARLIER_BALLOTS}) AS earlier");
        let returned = sqlx::query(AssertSqlSafe(count))
            .bind(crate::rows::uuid(poll.id))
            .bind(&batch)
            .fetch_one(&mut *conn)
            .await
            .unwrap()
            .get::<i64, _>(0);
        assert_eq!(returned, BATCH as i64 / 2, "the voters who voted before");

        run(&mut conn, "BEGIN").await;
        let plan = explain(&mut conn, &record(&id, &batch)).await;
        assert_bounded(&plan, &format!("record ({mode})"));
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM ballots WHERE poll_id = $1")
            .bind(crate::rows::uuid(poll.id))
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(
            stored,
            i64::from(BALLOTS_IN_POLL) + BATCH as i64 / 2,
            "the changes updated their rows, the new voters got one each"
        );
        run(&mut conn, "ROLLBACK").await;
    }
}

/// `count` voter ids `{prefix}{i}` for `i` in `range`.
fn voters(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i}")).collect()
}

/// A text array literal of `items` (plain identifiers, no quoting needed).
fn array(items: &[String]) -> String {
    format!("'{{{}}}'", items.join(","))
}

fn lookup(poll: &str, voters: &[String]) -> String {
    format!("EXECUTE lookup('{poll}', {})", array(voters))
}

/// The batch `voters`, each choosing option 1, at versions after the bulk.
fn record(poll: &str, voters: &[String]) -> String {
    let ones = vec!["1".to_owned(); voters.len()];
    let versions: Vec<String> = (1..=voters.len())
        .map(|v| (u64::from(BALLOTS_IN_POLL) + v as u64).to_string())
        .collect();
    let last = versions.last().cloned().unwrap_or_default();
    format!(
        "EXECUTE record('{poll}', {}, {}, now(), {}, {last}, {last}, '{{0,{last}}}', '{{}}', '{{}}', '{{}}')",
        array(voters),
        array(&ones),
        array(&versions),
    )
}

async fn run(conn: &mut PgConnection, sql: &str) {
    // The test's own statements, built from constants and generated ids.
    sqlx::raw_sql(AssertSqlSafe(sql))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn explain(conn: &mut PgConnection, execute: &str) -> Value {
    let sql = format!("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {execute}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    let text: String = row.try_get_unchecked(0).unwrap();
    let explained: Value = serde_json::from_str(&text).unwrap();
    explained[0]["Plan"].clone()
}

/// Every node of `plan` (each node's figures include its children's).
fn nodes(plan: &Value) -> Vec<&Value> {
    let mut all = vec![plan];
    if let Some(children) = plan["Plans"].as_array() {
        all.extend(children.iter().flat_map(nodes));
    }
    all
}

fn assert_bounded(plan: &Value, statement: &str) {
    let count = |node: &Value, key: &str| node[key].as_u64().unwrap_or(0);
    for node in nodes(plan) {
        let buffers = count(node, "Shared Hit Blocks") + count(node, "Shared Read Blocks");
        assert!(
            buffers <= MAX_BUFFERS,
            "{statement}: a {} node touched {buffers} buffers (bound {MAX_BUFFERS}): {plan:#}",
            node["Node Type"]
        );
        let on_ballots = node["Relation Name"]
            .as_str()
            .is_some_and(|r| r.starts_with("ballots"))
            || node["Index Name"]
                .as_str()
                .is_some_and(|i| i.starts_with("ballots"));
        if on_ballots {
            let rows = count(node, "Actual Rows") * count(node, "Actual Loops").max(1);
            assert!(
                rows <= MAX_ROWS,
                "{statement}: a {} node read {rows} rows for a batch of {BATCH}: {plan:#}",
                node["Node Type"]
            );
        }
    }
}

/// Asserts that `plan` reads ballots from one partition only: the others
/// pruned when it started (`at_start`: a generic plan, whose append node
/// counts them as removed) or when it was planned (a custom plan).
fn assert_one_partition(plan: &Value, statement: &str, at_start: bool) {
    let all = nodes(plan);
    let scanned: std::collections::BTreeSet<&str> = all
        .iter()
        .filter_map(|node| node["Relation Name"].as_str())
        .filter(|relation| relation.starts_with("ballots"))
        .collect();
    assert_eq!(
        scanned.len(),
        1,
        "{statement}: scans the ballots partitions {scanned:?}: {plan:#}"
    );
    let removed: u64 = all
        .iter()
        .filter_map(|node| node["Subplans Removed"].as_u64())
        .sum();
    let expected = if at_start { PARTITIONS - 1 } else { 0 };
    assert_eq!(
        removed, expected,
        "{statement}: partitions removed when the plan started: {plan:#}"
    );
}
