-- Ballots hash-partitioned by poll: 16 partitions, so that vacuum, index
-- builds and a poll's deletion each work on one partition's rows, not on
-- every vote ever cast.
--
-- Every statement on ballots names one poll (`WHERE poll_id = $1`), so the
-- planner keeps one partition, and a cached generic plan removes the others
-- when it starts. Few partitions keep that cheap: a generic plan still
-- locks every partition before pruning, and a backend's locks beyond 16
-- leave PostgreSQL's fast path for the shared lock table. A partition can
-- be split later without touching the others (detach it, attach
-- remainders r and r + 16 of modulus 32, copy its rows back): moduli need
-- only divide each other.
--
-- The primary key leads with the poll id, the partition key, like every key
-- here: the same schema distributes unchanged on Citus by poll id (see
-- ARCHITECTURE.md, "Storage schema").
--
-- The existing rows move in this migration's transaction, holding the table
-- for as long as the copy takes; the key and the foreign key are built
-- after the copy, once per partition, rather than checked row by row.
--
-- `rankings` stays one table: it grows with a ranked poll's distinct
-- rankings, not with its votes, and a cast updates its rows in place.

ALTER TABLE ballots RENAME TO ballots_unpartitioned;

CREATE TABLE ballots (
    poll_id  uuid        NOT NULL,
    voter_id text        NOT NULL,
    choices  integer[]   NOT NULL,
    cast_at  timestamptz NOT NULL,
    version  bigint      NOT NULL
) PARTITION BY HASH (poll_id);

DO $$
BEGIN
    FOR remainder IN 0..15 LOOP
        EXECUTE format(
            'CREATE TABLE %I PARTITION OF ballots FOR VALUES WITH (MODULUS 16, REMAINDER %s)',
            'ballots_' || lpad(remainder::text, 2, '0'),
            remainder
        );
    END LOOP;
END
$$;

INSERT INTO ballots (poll_id, voter_id, choices, cast_at, version)
SELECT poll_id, voter_id, choices, cast_at, version FROM ballots_unpartitioned;

DROP TABLE ballots_unpartitioned;

ALTER TABLE ballots
    ADD CONSTRAINT ballots_pkey PRIMARY KEY (poll_id, voter_id),
    ADD CONSTRAINT ballots_poll_id_fkey
        FOREIGN KEY (poll_id) REFERENCES polls (id) ON DELETE CASCADE;
