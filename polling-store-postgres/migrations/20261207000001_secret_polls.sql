-- Secret polls: who voted and what they voted, stored apart.
--
-- A secret poll's ballot is two rows written in the cast's transaction,
-- with nothing that links them:
--
-- * `secret_voters`: the poll and the keyed hash of the voter (HMAC-SHA256
--   of the voter id under a key made from the poll id; see
--   polling-core/src/domain/secrecy.rs), so a voter casts one ballot. No
--   time, no version, no sequence.
-- * `secret_ballots`: the poll, the marks, the minute the ballot was cast
--   in, under a random uuid drawn by the store; no voter, no version, no
--   finer time, no serial column. A batch inserts its ballots in the order
--   of their random keys and its voters in the order of their hashes, so
--   neither follows the order the ballots arrived in; exports read them by
--   minute, then marks.
--
-- Never in `ballots` (which ties a voter id to its choices) and never with
-- `allow_vote_change`: changing a vote needs the very link not kept. What a
-- database administrator can still learn is in SECURITY.md ("Secret
-- polls"): the physical order of rows and the transaction ids (`xmin`) of
-- both tables, the WAL and statement logs tie the rows of one transaction.
--
-- Both keys lead with the poll id, like every key here, and both tables
-- cascade with their poll. Not partitioned: they hold the ballots of
-- secret polls only; they can be hash-partitioned by poll like `ballots`.

ALTER TABLE polls
    ADD COLUMN secret boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT polls_secret_without_vote_change
        CHECK (NOT (secret AND allow_vote_change));

CREATE TABLE secret_voters (
    poll_id    uuid  NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    voter_hash bytea NOT NULL CHECK (length(voter_hash) = 32),
    PRIMARY KEY (poll_id, voter_hash)
);

CREATE TABLE secret_ballots (
    poll_id     uuid        NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    ballot_id   uuid        NOT NULL,
    choices     integer[]   NOT NULL,
    cast_minute timestamptz NOT NULL
        CHECK (cast_minute = date_trunc('minute', cast_minute AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'),
    PRIMARY KEY (poll_id, ballot_id)
);
