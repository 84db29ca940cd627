//! The invites of invite-only polls: adding, listing and revoking them,
//! and the check a cast makes under the poll's row lock.

use std::collections::HashSet;

use polling_core::domain::VoterHash;
use polling_core::store_kit::{invite_hashes, invite_voters, mark_used};
use polling_core::{Ballot, Invite, InviteNonce, Poll, PollError, PollId, Result, VoterId};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};
use time::OffsetDateTime;

use crate::error::{corrupt, unavailable};
use crate::rows;

/// How many invites the poll holds, revoked ones included.
const HELD: &str = "SELECT count(*) FROM invites WHERE poll_id = $1";

/// Adds invites, one row each.
const ADD: &str = "INSERT INTO invites (poll_id, voter_id, nonce, created_at) \
     SELECT $1, i.voter_id, i.nonce, i.created_at \
       FROM unnest($2::text[], $3::text[], $4::timestamptz[]) AS i(voter_id, nonce, created_at)";

/// The poll's invites with whether each has a ballot (in a secret poll,
/// whose ballots name no voter, see [`PARTICIPATED`]); a poll without
/// invites gives one row of nulls, no poll no row. Every ballot lookup
/// names the poll, so it reads one partition.
const LIST: &str = "SELECT p.secret, i.voter_id, i.nonce, i.created_at, i.revoked_at, \
       EXISTS (SELECT 1 FROM ballots b WHERE b.poll_id = $1 AND b.voter_id = i.voter_id) AS used \
       FROM polls p LEFT JOIN invites i ON i.poll_id = p.id \
      WHERE p.id = $1 ORDER BY i.created_at, i.nonce";

/// The poll's row lock, the one every cast of the poll takes.
const LOCK_POLL: &str = "SELECT id FROM polls WHERE id = $1 FOR NO KEY UPDATE";

/// Which of the invites' voters (`$2`, their keyed hashes) took part in
/// the secret poll: one key lookup each.
const PARTICIPATED: &str = "SELECT voter_hash FROM secret_voters \
     WHERE poll_id = $1 AND voter_hash = ANY ($2::bytea[])";

/// One invite with whether it has a ballot or, in a secret poll, a
/// participation (`$3`, the voter's keyed hash); read after the lock.
const ONE: &str = "SELECT i.voter_id, i.nonce, i.created_at, i.revoked_at, \
       EXISTS (SELECT 1 FROM ballots b WHERE b.poll_id = $1 AND b.voter_id = i.voter_id) \
       OR EXISTS (SELECT 1 FROM secret_voters s WHERE s.poll_id = $1 AND s.voter_hash = $3) \
       AS used \
       FROM invites i WHERE i.poll_id = $1 AND i.voter_id = $2";

const REVOKE: &str = "UPDATE invites SET revoked_at = COALESCE(revoked_at, $3) \
      WHERE poll_id = $1 AND voter_id = $2 RETURNING revoked_at";

/// Of the batch's invite voters, those whose invite is not revoked.
const VALID: &str = "SELECT voter_id FROM invites \
      WHERE poll_id = $1 AND voter_id = ANY($2::text[]) AND revoked_at IS NULL";

/// Takes poll `poll`'s row lock in `tx`, or `NotFound`.
async fn lock_poll(tx: &mut PgConnection, poll: uuid::Uuid) -> Result<()> {
    sqlx::query(LOCK_POLL)
        .bind(poll)
        .fetch_optional(tx)
        .await
        .map_err(unavailable)?
        .map(|_| ())
        .ok_or(PollError::NotFound)
}

/// Stores `invites` for poll `id`; see `PollStore::add_invites`.
///
/// Under the poll's row lock, so that concurrent additions count each
/// other's invites against [`MAX_INVITES_PER_POLL`](polling_core::MAX_INVITES_PER_POLL).
pub(crate) async fn add(pool: &PgPool, id: PollId, invites: &[Invite]) -> Result<()> {
    let voters: Vec<&str> = invites.iter().map(|i| i.voter.as_str()).collect();
    let nonces: Vec<&str> = invites.iter().map(|i| i.nonce.as_str()).collect();
    let created: Vec<OffsetDateTime> = invites.iter().map(|i| i.created_at).collect();
    let poll = rows::uuid(id);
    let mut tx = pool.begin().await.map_err(unavailable)?;
    lock_poll(&mut tx, poll).await?;
    let held: i64 = sqlx::query_scalar(HELD)
        .bind(poll)
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
    polling_core::invite_room(usize::try_from(held).unwrap_or(usize::MAX), invites.len())?;
    sqlx::query(ADD)
        .bind(poll)
        .bind(&voters)
        .bind(&nonces)
        .bind(&created)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

/// The invites of poll `id`; see `PollStore::invites`.
pub(crate) async fn list(pool: &PgPool, id: PollId) -> Result<Vec<Invite>> {
    let rows = sqlx::query(LIST)
        .bind(rows::uuid(id))
        .fetch_all(pool)
        .await
        .map_err(unavailable)?;
    if rows.is_empty() {
        return Err(PollError::NotFound);
    }
    let mut invites = Vec::with_capacity(rows.len());
    for row in &rows {
        let voter: Option<String> = row.try_get("voter_id").map_err(unavailable)?;
        if voter.is_some() {
            invites.push(invite(row)?);
        }
    }
    let secret: bool = rows[0].try_get("secret").map_err(unavailable)?;
    if secret && !invites.is_empty() {
        // Read after the invites: a participation is never removed but with
        // its poll, so what this finds is at least as new as the list.
        let hashes: Vec<Vec<u8>> = invite_hashes(id, &invites)
            .iter()
            .map(|hash| hash.as_bytes().to_vec())
            .collect();
        let found: Vec<Vec<u8>> = sqlx::query_scalar(PARTICIPATED)
            .bind(rows::uuid(id))
            .bind(&hashes)
            .fetch_all(pool)
            .await
            .map_err(unavailable)?;
        mark_used(id, &mut invites, found);
    }
    Ok(invites)
}

/// Revokes the invite of poll `id` voting as `voter`, under the poll's
/// row lock; see `PollStore::revoke_invite`.
pub(crate) async fn revoke(
    pool: &PgPool,
    id: PollId,
    voter: &VoterId,
    at: OffsetDateTime,
) -> Result<Invite> {
    let poll = rows::uuid(id);
    let mut tx = pool.begin().await.map_err(unavailable)?;
    lock_poll(&mut tx, poll).await?;
    let row = sqlx::query(ONE)
        .bind(poll)
        .bind(voter.as_str())
        .bind(VoterHash::of(id, voter).as_bytes().as_slice())
        .fetch_optional(&mut *tx)
        .await
        .map_err(unavailable)?
        .ok_or(PollError::InviteNotFound)?;
    let mut found = invite(&row)?;
    if found.used {
        return Err(PollError::InviteUsed);
    }
    let row = sqlx::query(REVOKE)
        .bind(poll)
        .bind(voter.as_str())
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(unavailable)?;
    found.revoked_at = row.try_get("revoked_at").map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)?;
    Ok(found)
}

/// The voters of `ballots` whose invite of `poll` is not revoked, read
/// in the cast's transaction after the poll's row lock, so that no
/// revocation commits between this read and the ballots' commit.
pub(crate) async fn valid_voters(
    tx: &mut PgConnection,
    poll: &Poll,
    ballots: &[Ballot],
) -> Result<HashSet<VoterId>> {
    let voters = invite_voters(poll, ballots);
    if voters.is_empty() {
        return Ok(HashSet::new());
    }
    sqlx::query(VALID)
        .bind(rows::uuid(poll.id))
        .bind(&voters)
        .fetch_all(tx)
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| {
            let voter: String = row.try_get("voter_id").map_err(unavailable)?;
            VoterId::try_from(voter).map_err(|_| corrupt("invite voter id"))
        })
        .collect()
}

fn invite(row: &PgRow) -> Result<Invite> {
    let voter: String = row.try_get("voter_id").map_err(unavailable)?;
    let nonce: String = row.try_get("nonce").map_err(unavailable)?;
    Ok(Invite {
        voter: VoterId::try_from(voter).map_err(|_| corrupt("invite voter id"))?,
        nonce: InviteNonce::from_stored(nonce),
        created_at: row.try_get("created_at").map_err(unavailable)?,
        revoked_at: row.try_get("revoked_at").map_err(unavailable)?,
        used: row.try_get("used").map_err(unavailable)?,
    })
}
