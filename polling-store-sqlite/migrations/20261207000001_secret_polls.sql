-- Secret polls: who voted and what they voted, stored apart (as in the
-- PostgreSQL store's migration of the same name; see
-- polling-core/src/domain/secrecy.rs and SECURITY.md, "Secret polls").
--
-- * `secret_voters`: the poll and the keyed hash of the voter (32 bytes),
--   so a voter casts one ballot; no time, no version, no sequence.
-- * `secret_ballots`: the poll, the marks (one byte each, as in
--   `ballots`), the minute it was cast in (microseconds, a whole minute),
--   under a random uuid drawn by the store; no voter, no version.
--
-- Both are WITHOUT ROWID: SQLite stores their rows in key order (the
-- voter's hash, the ballot's random key), never in the order they were
-- written, and neither has a rowid counting insertions. A secret poll
-- never allows changing a vote: that needs the link not kept.

ALTER TABLE polls ADD COLUMN secret INTEGER NOT NULL DEFAULT 0
    CHECK (secret IN (0, 1) AND NOT (secret = 1 AND allow_vote_change = 1));

CREATE TABLE secret_voters (
    poll_id    TEXT NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    voter_hash BLOB NOT NULL CHECK (length(voter_hash) = 32),
    PRIMARY KEY (poll_id, voter_hash)
) WITHOUT ROWID;

CREATE TABLE secret_ballots (
    poll_id     TEXT    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    ballot_id   TEXT    NOT NULL,
    marks       BLOB    NOT NULL,
    cast_minute INTEGER NOT NULL CHECK (cast_minute % 60000000 = 0),
    PRIMARY KEY (poll_id, ballot_id)
) WITHOUT ROWID;

-- Exports read a secret poll's ballots by minute, then marks.
CREATE INDEX secret_ballots_export ON secret_ballots (poll_id, cast_minute, marks);
