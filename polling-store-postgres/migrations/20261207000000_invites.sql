-- Invite-only polls: who may vote (`eligibility`), and each poll's invites.
--
-- An invite row holds no code: `voter_id` is the one-way hash of its code
-- that its ballot is kept under (`inv_` and 32 hex digits), and `nonce` the
-- random value from which the owner's manage token makes the code again
-- (see polling-core's `domain/invite.rs`). So a ballot cast with a code is
-- the ballots row (poll_id, voter_id), and the primary key of ballots makes
-- each code count once, across every replica.
--
-- A cast checks its code under the poll's row lock (`FOR NO KEY UPDATE`),
-- and a revocation takes the same lock before it looks for the code's
-- ballot: the two are ordered, so a revoked code never votes and a code
-- that voted is never revoked.
--
-- The key leads with the poll id, like every key here. Not partitioned:
-- the table grows with the invites owners issue, not with votes, and a
-- cast reads it by primary key only.

ALTER TABLE polls
    ADD COLUMN eligibility text NOT NULL DEFAULT 'anyone'
        CHECK (eligibility IN ('anyone', 'invite'));

CREATE TABLE invites (
    poll_id    uuid        NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    voter_id   text        NOT NULL CHECK (voter_id LIKE 'inv\_%'),
    nonce      text        NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz,
    PRIMARY KEY (poll_id, voter_id)
);
