-- The whole schema of the SQLite store: polls with their running sums, one
-- ballot per voter per poll, a ranked poll's distinct rankings, and
-- idempotency keys. It mirrors the PostgreSQL store's schema (see
-- polling-store-postgres/migrations/), in SQLite's types:
--
-- * ids are the canonical hyphenated text of their UUID (which sorts as
--   the UUID's bytes do, so `ORDER BY id DESC` is newest first);
-- * times are INTEGER microseconds since the Unix epoch, in UTC (the
--   domain's precision), so they compare and truncate to the minute as
--   numbers;
-- * arrays (a poll's options and sums) are JSON arrays in TEXT;
-- * a ballot's marks are a BLOB of one byte per mark (option ids below
--   20, scores 0 to 5), so that SQLite's byte-wise BLOB order is the
--   domain's order of marks, which exports sort by.
--
-- Every write to a poll's sums happens in one `BEGIN IMMEDIATE`
-- transaction holding SQLite's write lock, so writers of one database
-- file take turns, in this process or another.

CREATE TABLE polls (
    id                TEXT    PRIMARY KEY,
    question          TEXT    NOT NULL,
    options           TEXT    NOT NULL CHECK (json_array_length(options) BETWEEN 1 AND 100),
    method            TEXT    NOT NULL
        CHECK (method IN ('plurality', 'approval', 'ranked', 'star')),
    multiple          INTEGER NOT NULL CHECK (multiple IN (0, 1)),
    max_choices       INTEGER NOT NULL CHECK (max_choices >= 1),
    closes_at         INTEGER,
    closed_at         INTEGER,
    created_at        INTEGER NOT NULL,
    manage_token_hash TEXT    NOT NULL,
    visibility        TEXT    NOT NULL
        CHECK (visibility IN ('always', 'after_vote', 'after_close')),
    allow_vote_change INTEGER NOT NULL CHECK (allow_vote_change IN (0, 1)),
    -- Grows by one with every ballot recorded (new or changed).
    version           INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
    -- Voters who hold a ballot.
    total             INTEGER NOT NULL DEFAULT 0 CHECK (total >= 0),
    -- Votes, approvals, first preferences or score totals, by option id.
    votes             TEXT    NOT NULL,
    -- STAR only: the n x n matrix (entry a*n+b: ballots scoring a above b;
    -- a*n+a: ballots giving a the top score); `[]` for other methods.
    pairwise          TEXT    NOT NULL DEFAULT '[]',
    CHECK (json_array_length(votes) = json_array_length(options)),
    CHECK (json_array_length(pairwise) IN (0, json_array_length(votes) * json_array_length(votes)))
);

CREATE TABLE ballots (
    poll_id  TEXT    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    voter_id TEXT    NOT NULL,
    -- The marks as integers, one byte each: the chosen option ids
    -- (plurality, approval: sorted), the ranking (most preferred first) or
    -- one score per option (STAR).
    marks    BLOB    NOT NULL,
    cast_at  INTEGER NOT NULL,
    version  INTEGER NOT NULL,
    PRIMARY KEY (poll_id, voter_id)
) WITHOUT ROWID;

-- Exports read a poll's ballots by minute, then marks.
CREATE INDEX ballots_export ON ballots (poll_id, cast_at / 60000000, marks);

-- How many ballots hold each distinct ranking of a ranked poll: an instant
-- runoff reads one row per distinct ranking, never one per ballot.
CREATE TABLE rankings (
    poll_id TEXT    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    -- The option ids, comma-separated, most preferred first.
    ranking TEXT    NOT NULL,
    ballots INTEGER NOT NULL CHECK (ballots > 0),
    PRIMARY KEY (poll_id, ranking)
) WITHOUT ROWID;

-- Idempotency keys (the Idempotency-Key header): one row per scoped key.
-- While the first request runs, `status` is NULL and `expires_at` is the end
-- of its lease; once it completed, the row holds the response to replay
-- until `expires_at`. Expired rows count as absent and are deleted a few at
-- a time by later claims.
CREATE TABLE idempotency_keys (
    key         TEXT    PRIMARY KEY,
    fingerprint BLOB    NOT NULL CHECK (length(fingerprint) = 32),
    token       TEXT    NOT NULL,
    status      INTEGER CHECK (status BETWEEN 100 AND 599),
    -- A JSON array of [name, value] pairs, in order.
    headers     TEXT,
    body        BLOB,
    expires_at  INTEGER NOT NULL,
    CHECK ((status IS NULL) = (body IS NULL))
);

CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
