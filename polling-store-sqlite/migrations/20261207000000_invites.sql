-- Invite-only polls: who may vote (`eligibility`), and each poll's
-- invites; the same tables as the PostgreSQL store's migration of the same
-- name, in SQLite's types (times as integer microseconds).
--
-- An invite row holds no code: `voter_id` is the one-way hash of its code
-- that its ballot is kept under, and `nonce` the random value from which
-- the owner's manage token makes the code again. A cast checks its code in
-- its `BEGIN IMMEDIATE` transaction, and a revocation runs in one too: the
-- database's write lock orders them, so a revoked code never votes and a
-- code that voted is never revoked.

ALTER TABLE polls ADD COLUMN eligibility TEXT NOT NULL DEFAULT 'anyone'
    CHECK (eligibility IN ('anyone', 'invite'));

CREATE TABLE invites (
    poll_id    TEXT    NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    voter_id   TEXT    NOT NULL CHECK (voter_id LIKE 'inv\_%' ESCAPE '\'),
    nonce      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (poll_id, voter_id)
) WITHOUT ROWID;
