-- Polls with their running counts, and one ballot per voter per poll.
--
-- A poll's options and counts live on its row, as arrays indexed by option id:
-- the options never change after creation, and every vote must lock the poll
-- row anyway (SELECT ... FOR UPDATE) to serialize votes on one poll across
-- every replica. Keeping the counts on that row makes a vote update one row,
-- and the locking read returns the freshest counts (PostgreSQL re-reads a row
-- it waited for), which a join or subquery on another table would not.

CREATE TABLE polls (
    id                uuid        PRIMARY KEY,
    question          text        NOT NULL,
    options           text[]      NOT NULL,
    multiple          boolean     NOT NULL,
    max_choices       integer     NOT NULL CHECK (max_choices >= 1),
    closes_at         timestamptz,
    closed_at         timestamptz,
    created_at        timestamptz NOT NULL,
    manage_token_hash text        NOT NULL,
    version           bigint      NOT NULL DEFAULT 0 CHECK (version >= 0),
    total             bigint      NOT NULL DEFAULT 0 CHECK (total >= 0),
    votes             bigint[]    NOT NULL,
    CHECK (cardinality(options) BETWEEN 1 AND 100),
    CHECK (cardinality(votes) = cardinality(options))
);

CREATE TABLE ballots (
    poll_id  uuid        NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    voter_id text        NOT NULL,
    choices  integer[]   NOT NULL,
    cast_at  timestamptz NOT NULL,
    version  bigint      NOT NULL,
    PRIMARY KEY (poll_id, voter_id)
);
