//! Ballots hash-partitioned by poll: the migration's partitions and keys,
//! the existing ballots it moves, and a poll's deletion confined to its
//! partition.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::TryStreamExt;
use polling_core::testing::{assert_error, ballot, choices, sample_poll};
use polling_core::{
    AnonymousBallot, Ballot, ManageToken, Marks, Method, NewPoll, OptionId, Poll, PollDraft,
    PollId, PollStore, Results, VoteReceipt, VoterId,
};
use polling_store_postgres::{PgPollStore, MIGRATOR};
use sqlx::{Connection, PgConnection, PgPool};

/// The partitions the migration creates.
const PARTITIONS: i64 = 16;

/// The migration that adds secret polls, which today's store needs.
const SECRET_POLLS: &str = include_str!("../../migrations/20261207000001_secret_polls.sql");

/// The last migration before ballots were partitioned.
const BEFORE_PARTITIONING: i64 = 20261204000000;

fn voter(name: &str) -> VoterId {
    VoterId::try_from(name.to_owned()).unwrap()
}

fn method_poll(method: Method, options: usize, allow_vote_change: bool) -> Poll {
    let now = polling_core::now();
    let draft = PollDraft {
        question: format!("A {method} poll?"),
        options: (1..=options).map(|i| format!("Option {i}")).collect(),
        method,
        allow_vote_change,
        ..PollDraft::default()
    };
    let new = NewPoll::new(draft, now).expect("a valid poll");
    Poll::open(new, ManageToken::generate().hash(), now)
}

fn ranking(raw: &[u32]) -> Marks {
    Marks::ranking(raw.iter().copied().map(OptionId::new).collect()).unwrap()
}

fn scores(raw: &[u8]) -> Marks {
    Marks::scores(raw.to_vec()).unwrap()
}

async fn cast(store: &PgPollStore, poll: &Poll, name: &str, marks: Marks) {
    store
        .cast(&Ballot::with_marks(poll.id, voter(name), marks))
        .await
        .unwrap_or_else(|e| panic!("{name}'s ballot on a {} poll: {e:?}", poll.method));
}

#[sqlx::test]
async fn ballots_are_hash_partitioned_by_poll_into_16_partitions(pool: PgPool) {
    let (strategy, key): (String, String) = sqlx::query_as(
        "SELECT p.partstrat::text, a.attname::text FROM pg_partitioned_table p \
           JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] \
          WHERE p.partrelid = 'ballots'::regclass AND p.partnatts = 1",
    )
    .fetch_one(&pool)
    .await
    .expect("ballots is a partitioned table with one key column");
    assert_eq!((strategy.as_str(), key.as_str()), ("h", "poll_id"));

    let bounds: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i \
           JOIN pg_class c ON c.oid = i.inhrelid \
          WHERE i.inhparent = 'ballots'::regclass AND c.relkind = 'r' \
          ORDER BY c.relname",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: Vec<String> = (0..PARTITIONS)
        .map(|r| format!("FOR VALUES WITH (modulus {PARTITIONS}, remainder {r})"))
        .collect();
    assert_eq!(
        bounds, expected,
        "one partition per remainder, in name order"
    );

    let gone: Option<String> =
        sqlx::query_scalar("SELECT to_regclass('ballots_unpartitioned')::text")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(gone, None, "the old table is dropped");

    // The poll's deletion still cascades to its ballots.
    let cascades: Vec<(String, String)> = sqlx::query_as(
        "SELECT confrelid::regclass::text, confdeltype::text FROM pg_constraint \
          WHERE conrelid = 'ballots'::regclass AND contype = 'f'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(cascades, [("polls".to_owned(), "c".to_owned())]);
}

/// Every primary key, unique constraint, index and foreign key of the poll
/// tables leads with the poll id, so each distributes by it unchanged (on
/// Citus, co-located with `polls`); `idempotency_keys` is the one table
/// keyed otherwise.
#[sqlx::test]
async fn every_key_of_the_poll_tables_leads_with_the_poll_id(pool: PgPool) {
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT t.relname::text, i.relname::text, a.attname::text FROM pg_index x \
           JOIN pg_class t ON t.oid = x.indrelid \
           JOIN pg_class i ON i.oid = x.indexrelid \
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0] \
           JOIN pg_namespace n ON n.oid = t.relnamespace \
          WHERE n.nspname = current_schema() AND t.relname <> '_sqlx_migrations' \
          ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut tables = BTreeSet::new();
    for (table, index, first) in &indexes {
        tables.insert(table.as_str());
        let expected = match table.as_str() {
            "polls" => "id",
            "idempotency_keys" => continue,
            _ => "poll_id",
        };
        assert_eq!(
            first, expected,
            "{table}'s index {index} leads with the poll id"
        );
    }
    let partitions = (0..PARTITIONS).map(|r| format!("ballots_{r:02}"));
    let mut expected: BTreeSet<String> = partitions.collect();
    expected.extend(
        [
            "ballots",
            "idempotency_keys",
            "invites",
            "polls",
            "rankings",
            "secret_ballots",
            "secret_voters",
        ]
        .map(String::from),
    );
    assert_eq!(
        tables,
        expected.iter().map(String::as_str).collect(),
        "the tables with indexes"
    );

    let keys: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT c.conrelid::regclass::text, a.attname::text, \
                c.confrelid::regclass::text, r.attname::text FROM pg_constraint c \
           JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ALL (c.conkey) \
           JOIN pg_attribute r ON r.attrelid = c.confrelid AND r.attnum = ALL (c.confkey) \
          WHERE c.contype = 'f' AND c.conparentid = 0 ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let keys: Vec<_> = keys
        .iter()
        .map(|(t, c, rt, rc)| (t.as_str(), c.as_str(), rt.as_str(), rc.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("ballots", "poll_id", "polls", "id"),
            ("invites", "poll_id", "polls", "id"),
            ("rankings", "poll_id", "polls", "id"),
            ("secret_ballots", "poll_id", "polls", "id"),
            ("secret_voters", "poll_id", "polls", "id"),
        ],
        "single-column foreign keys on the poll id, to the poll"
    );
}

/// What the store and the table say of some polls: compared before and
/// after the migration.
#[derive(Debug, PartialEq)]
struct Snapshot {
    /// Every ballot row, in key order.
    rows: Vec<(uuid::Uuid, String, Vec<i32>, time::OffsetDateTime, i64)>,
    /// Every ranking row, in key order.
    rankings: Vec<(uuid::Uuid, Vec<i32>, i64)>,
    /// Per poll: what the store reads of it.
    polls: BTreeMap<PollId, PollReads>,
}

/// What the store reads of one poll.
#[derive(Debug, PartialEq)]
struct PollReads {
    results: Results,
    /// Each listed voter's receipt, `None` for one who did not vote.
    receipts: Vec<Option<VoteReceipt>>,
    /// The poll's export, in export order.
    export: Vec<AnonymousBallot>,
}

async fn snapshot(pool: &PgPool, store: &PgPollStore, polls: &[(&Poll, Vec<&str>)]) -> Snapshot {
    let rows = sqlx::query_as(
        "SELECT poll_id, voter_id, choices, cast_at, version FROM ballots \
          ORDER BY poll_id, voter_id",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let rankings =
        sqlx::query_as("SELECT poll_id, ranking, ballots FROM rankings ORDER BY poll_id, ranking")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut by_poll = BTreeMap::new();
    for (poll, voters) in polls {
        let results = store.results(poll.id).await.unwrap();
        let mut receipts = Vec::new();
        for name in voters {
            receipts.push(store.ballot(poll.id, &voter(name)).await.unwrap());
        }
        let export: Vec<AnonymousBallot> = store
            .ballot_stream(poll.id)
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        let reads = PollReads {
            results,
            receipts,
            export,
        };
        by_poll.insert(poll.id, reads);
    }
    Snapshot {
        rows,
        rankings,
        polls: by_poll,
    }
}

/// Adds (or drops) the poll columns of migrations after the partitioning,
/// which today's store reads and writes: the store writes the rows of the
/// schema before the partitioning with them, and they are dropped before
/// the remaining migrations add them for real.
async fn later_poll_columns(pool: &PgPool, change: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!("ALTER TABLE polls {change}")))
        .execute(pool)
        .await
        .expect("the later poll columns");
}

#[sqlx::test(migrations = false)]
async fn existing_ballots_move_into_the_partitions_unchanged(pool: PgPool) {
    MIGRATOR
        .run_to(BEFORE_PARTITIONING, &pool)
        .await
        .expect("the schema before partitioning");
    let partitioned: Option<String> =
        sqlx::query_scalar("SELECT partrelid::regclass::text FROM pg_partitioned_table")
            .fetch_optional(&pool)
            .await
            .unwrap();
    assert_eq!(partitioned, None, "ballots is one table before");
    later_poll_columns(
        &pool,
        "ADD COLUMN eligibility text NOT NULL DEFAULT 'anyone'",
    )
    .await;
    // Today's store reads and writes what the later secret-polls migration
    // adds: lent to the old schema here, taken back before migrating.
    sqlx::raw_sql(SECRET_POLLS)
        .execute(&pool)
        .await
        .expect("the secret-polls schema, lent");

    let store = PgPollStore::new(pool.clone());
    let plurality = sample_poll(3, false, None);
    let approval = method_poll(Method::Approval, 4, false);
    let ranked = method_poll(Method::Ranked, 3, true);
    let star = method_poll(Method::Star, 3, false);
    let empty = sample_poll(2, false, None);
    for poll in [&plurality, &approval, &ranked, &star, &empty] {
        store.create(poll).await.unwrap();
    }
    let many: Vec<String> = (0..40).map(|i| format!("p{i}")).collect();
    for (i, name) in many.iter().enumerate() {
        let b: Ballot = ballot(&plurality, &voter(name), &[(i % 3) as u32]);
        store.cast(&b).await.unwrap();
    }
    for (name, chosen) in [("a1", &[0, 2][..]), ("a2", &[1]), ("a3", &[0, 1, 3])] {
        cast(&store, &approval, name, choices(chosen)).await;
    }
    for (name, order) in [
        ("r1", &[0, 1, 2][..]),
        ("r2", &[1, 0]),
        ("r3", &[2]),
        ("r4", &[0, 1, 2]),
    ] {
        cast(&store, &ranked, name, ranking(order)).await;
    }
    // A changed vote: its row and the ranking counts move.
    cast(&store, &ranked, "r4", ranking(&[2, 1])).await;
    for (name, given) in [("s1", &[5, 3, 0][..]), ("s2", &[0, 4, 5])] {
        cast(&store, &star, name, scores(given)).await;
    }

    let polls = [
        (&plurality, many.iter().map(String::as_str).collect()),
        (&approval, vec!["a1", "a2", "a3", "nobody"]),
        (&ranked, vec!["r1", "r2", "r3", "r4"]),
        (&star, vec!["s1", "s2"]),
        (&empty, vec!["nobody"]),
    ];
    let before = snapshot(&pool, &store, &polls).await;
    assert_eq!(before.rows.len(), 40 + 3 + 4 + 2);
    let changed = &before.polls[&ranked.id].receipts[3];
    assert_eq!(
        changed.as_ref().map(|r| (r.marks.clone(), r.version)),
        Some((ranking(&[2, 1]), 5)),
        "r4's changed ballot"
    );

    later_poll_columns(&pool, "DROP COLUMN eligibility").await;
    sqlx::raw_sql("DROP TABLE secret_ballots, secret_voters; ALTER TABLE polls DROP COLUMN secret")
        .execute(&pool)
        .await
        .expect("the lent secret-polls schema, taken back");
    MIGRATOR
        .run(&pool)
        .await
        .expect("the partitioning migration");

    let after = snapshot(&pool, &store, &polls).await;
    assert_eq!(after, before, "every ballot, count, receipt and export");
    let outside: i64 = sqlx::query_scalar("SELECT count(*) FROM ONLY ballots")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(outside, 0, "every row sits in a partition");
    let counts: Vec<(PollId, i64)> = polls
        .iter()
        .map(|(p, _)| {
            (
                p.id,
                after.rows.iter().filter(|r| &r.0 == p.id.as_uuid()).count() as i64,
            )
        })
        .collect();
    assert_eq!(
        counts.iter().map(|c| c.1).collect::<Vec<_>>(),
        [40, 3, 4, 2, 0]
    );

    // The moved ballots still bind their voters: a repeat is a replay, a
    // change moves the counts, and a new voter is counted.
    assert_error(
        store.cast(&ballot(&plurality, &voter("p0"), &[1])).await,
        "already_voted",
        "p0 votes again on a poll without vote changes",
    );
    cast(&store, &ranked, "r1", ranking(&[1])).await;
    cast(&store, &plurality, "p40", choices(&[2])).await;
    let results = store.results(plurality.id).await.unwrap();
    assert_eq!((results.total, results.version), (41, 41));
    let ranked_results = store.results(ranked.id).await.unwrap();
    assert_eq!((ranked_results.total, ranked_results.version), (4, 6));
}

#[sqlx::test]
async fn deleting_a_poll_removes_only_its_ballots_from_its_partition(pool: PgPool) {
    let store = PgPollStore::new(pool.clone());
    // 17 polls: at least two share a partition.
    let mut polls = Vec::new();
    for _ in 0..=PARTITIONS {
        let poll = sample_poll(2, false, None);
        store.create(&poll).await.unwrap();
        for i in 0..5 {
            store
                .cast(&ballot(&poll, &voter(&format!("v{i}")), &[i % 2]))
                .await
                .unwrap();
        }
        polls.push(poll);
    }
    let placed: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "SELECT DISTINCT poll_id, tableoid::regclass::text FROM ballots ORDER BY 2, 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        placed.len(),
        polls.len(),
        "each poll's ballots in one partition"
    );
    let partition_of = |id: PollId| {
        placed
            .iter()
            .find(|(p, _)| p == id.as_uuid())
            .map(|(_, t)| t.clone())
            .unwrap()
    };
    let (doomed, neighbour) = polls
        .iter()
        .enumerate()
        .find_map(|(i, a)| {
            let b = polls[i + 1..]
                .iter()
                .find(|b| partition_of(b.id) == partition_of(a.id))?;
            Some((a.id, b.id))
        })
        .expect("two polls share a partition");
    let partition = partition_of(doomed);

    // The delete's cascade, on a new connection (no earlier statement's
    // statistics pending), in a transaction whose statistics name every
    // table it scanned or deleted from.
    let mut fresh = PgConnection::connect_with(&pool.connect_options())
        .await
        .unwrap();
    let mut tx = fresh.begin().await.unwrap();
    sqlx::query("DELETE FROM polls WHERE id = $1")
        .bind(doomed.as_uuid())
        .execute(&mut *tx)
        .await
        .unwrap();
    let touched: Vec<(String, i64)> = sqlx::query_as(
        "SELECT relname::text, n_tup_del FROM pg_stat_xact_user_tables \
          WHERE relname LIKE 'ballots%' AND (n_tup_del > 0 OR seq_scan > 0 OR idx_scan > 0)",
    )
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    assert_eq!(touched, [(partition.clone(), 5)], "only its partition");
    tx.rollback().await.unwrap();
    fresh.close().await.unwrap();

    store.delete(doomed).await.unwrap();
    let left: Vec<(uuid::Uuid, i64)> =
        sqlx::query_as("SELECT poll_id, count(*) FROM ballots GROUP BY 1")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(left.len(), polls.len() - 1);
    assert!(left.iter().all(|(p, n)| p != doomed.as_uuid() && *n == 5));
    let neighbours: i64 =
        sqlx::query_scalar("SELECT count(*) FROM ballots WHERE tableoid::regclass::text = $1")
            .bind(&partition)
            .fetch_one(&pool)
            .await
            .unwrap();
    let sharing = placed.iter().filter(|(_, t)| *t == partition).count() as i64;
    assert_eq!(
        neighbours,
        5 * (sharing - 1),
        "its partition keeps the others' ballots"
    );
    assert_eq!(store.results(neighbour).await.unwrap().total, 5);
}
