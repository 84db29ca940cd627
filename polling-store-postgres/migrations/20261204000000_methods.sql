-- Voting methods: plurality (every poll so far), approval, ranked (instant
-- runoff) and STAR.
--
-- A ballot row's `choices` holds its marks as integers: the chosen option
-- ids (plurality, approval, kept sorted), the ranking (ranked, most
-- preferred first) or one score per option (STAR).
--
-- The poll row keeps every sum a vote updates, under the same row lock as
-- before: `votes` holds votes, approvals, first preferences or score totals
-- by method, and `pairwise` the n x n matrix a STAR runoff needs (entry
-- a*n+b: ballots scoring a above b; a*n+a: ballots giving a the top score;
-- empty for other methods).
--
-- An instant runoff needs every ballot's ranking, not a fixed set of sums:
-- `rankings` keeps how many ballots hold each distinct ranking, updated in
-- the cast's transaction, so a count reads one row per distinct ranking,
-- never one per ballot. Its key leads with the poll id, like every key here.

ALTER TABLE polls
    ADD COLUMN method text NOT NULL DEFAULT 'plurality'
        CHECK (method IN ('plurality', 'approval', 'ranked', 'star')),
    ADD COLUMN pairwise bigint[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(pairwise) IN (0, cardinality(votes) * cardinality(votes)));

CREATE TABLE rankings (
    poll_id uuid      NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    ranking integer[] NOT NULL,
    ballots bigint    NOT NULL CHECK (ballots > 0),
    PRIMARY KEY (poll_id, ranking)
);
