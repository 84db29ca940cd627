-- Who sees a poll's counts and when, and whether voters may change their vote.
--
-- A changed ballot is an UPDATE of its row (new choices, cast_at, version) in
-- the same transaction that moves the poll's counts, under the poll's row
-- lock, so the ballots table needs no new column: its row always holds the
-- voter's current ballot.

ALTER TABLE polls
    ADD COLUMN visibility text NOT NULL DEFAULT 'always'
        CHECK (visibility IN ('always', 'after_vote', 'after_close')),
    ADD COLUMN allow_vote_change boolean NOT NULL DEFAULT false;
