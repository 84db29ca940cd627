//! The invites of invite-only polls: adding, listing and revoking them,
//! and the check a cast makes under the write lock.

use std::collections::HashSet;

use polling_core::domain::VoterHash;
use polling_core::store_kit::{invite_hashes, invite_voters, mark_used};
use polling_core::{Ballot, Invite, InviteNonce, Poll, PollError, PollId, Result, VoterId};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

use crate::database::Database;
use crate::error::{corrupt, unavailable};
use crate::rows;

const POLL_EXISTS: &str = "SELECT secret FROM polls WHERE id = ?1";

/// Adds invites (`?2`, a JSON array of `[voter, nonce, created_at]`).
/// How many invites the poll holds, revoked ones included.
const HELD: &str = "SELECT count(*) FROM invites WHERE poll_id = ?1";

const ADD: &str = "INSERT INTO invites (poll_id, voter_id, nonce, created_at) \
     SELECT ?1, i.value ->> 0, i.value ->> 1, i.value ->> 2 FROM json_each(?2) AS i";

/// The invites of a poll with whether each has a ballot (in a secret
/// poll, whose ballots name no voter, see [`PARTICIPATED`]).
const LIST: &str = "SELECT i.voter_id, i.nonce, i.created_at, i.revoked_at, \
       EXISTS (SELECT 1 FROM ballots b WHERE b.poll_id = ?1 AND b.voter_id = i.voter_id) AS used \
       FROM invites i WHERE i.poll_id = ?1 ORDER BY i.created_at, i.nonce";

/// Which of the invites' voters (`?2`, a JSON array of their keyed hashes
/// in hexadecimal) took part in the secret poll: one key lookup each.
const PARTICIPATED: &str = "SELECT voter_hash FROM secret_voters \
     WHERE poll_id = ?1 AND voter_hash IN (SELECT unhex(value) FROM json_each(?2))";

/// One invite with whether it has a ballot or, in a secret poll, a
/// participation (`?3`, the voter's keyed hash).
const ONE: &str = "SELECT i.voter_id, i.nonce, i.created_at, i.revoked_at, \
       EXISTS (SELECT 1 FROM ballots b WHERE b.poll_id = ?1 AND b.voter_id = i.voter_id) \
       OR EXISTS (SELECT 1 FROM secret_voters s WHERE s.poll_id = ?1 AND s.voter_hash = ?3) \
       AS used \
       FROM invites i WHERE i.poll_id = ?1 AND i.voter_id = ?2";

const REVOKE: &str = "UPDATE invites SET revoked_at = COALESCE(revoked_at, ?3) \
      WHERE poll_id = ?1 AND voter_id = ?2 RETURNING revoked_at";

/// Of the voters `?2` (a JSON array), those whose invite is not revoked.
const VALID: &str = "SELECT voter_id FROM invites WHERE poll_id = ?1 \
      AND voter_id IN (SELECT value FROM json_each(?2)) AND revoked_at IS NULL";

/// Stores `invites` for poll `id`; see `PollStore::add_invites`.
pub(crate) async fn add(database: &Database, id: PollId, invites: &[Invite]) -> Result<()> {
    let rows = invites
        .iter()
        .map(|i| {
            Ok(json!([
                i.voter.as_str(),
                i.nonce.as_str(),
                rows::micros(i.created_at)?
            ]))
        })
        .collect::<Result<Vec<Value>>>()?;
    let poll = rows::id(id);
    let mut write = database.write().await?;
    exists(&mut write.tx, &poll).await?;
    // The one writer: no other addition runs until this one commits.
    let held: i64 = sqlx::query_scalar(HELD)
        .bind(&poll)
        .fetch_one(&mut *write.tx)
        .await
        .map_err(unavailable)?;
    polling_core::invite_room(usize::try_from(held).unwrap_or(usize::MAX), invites.len())?;
    sqlx::query(ADD)
        .bind(&poll)
        .bind(Value::from(rows).to_string())
        .execute(&mut *write.tx)
        .await
        .map_err(unavailable)?;
    write.tx.commit().await.map_err(unavailable)
}

/// The invites of poll `id`; see `PollStore::invites`.
pub(crate) async fn list(database: &Database, id: PollId) -> Result<Vec<Invite>> {
    let poll = rows::id(id);
    // One read transaction: the poll and its invites from one snapshot.
    let mut tx = database.pool.begin().await.map_err(unavailable)?;
    let secret = exists(&mut tx, &poll).await?;
    let mut invites = sqlx::query(LIST)
        .bind(&poll)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?
        .iter()
        .map(invite)
        .collect::<Result<Vec<Invite>>>()?;
    if secret && !invites.is_empty() {
        let hashes: Vec<String> = invite_hashes(id, &invites)
            .iter()
            .map(VoterHash::to_hex)
            .collect();
        let found: Vec<Vec<u8>> = sqlx::query_scalar(PARTICIPATED)
            .bind(&poll)
            .bind(Value::from(hashes).to_string())
            .fetch_all(&mut *tx)
            .await
            .map_err(unavailable)?;
        mark_used(id, &mut invites, found);
    }
    Ok(invites)
}

/// Revokes the invite of poll `id` voting as `voter`, under the write
/// lock; see `PollStore::revoke_invite`.
pub(crate) async fn revoke(
    database: &Database,
    id: PollId,
    voter: &VoterId,
    at: OffsetDateTime,
) -> Result<Invite> {
    let poll = rows::id(id);
    let mut write = database.write().await?;
    exists(&mut write.tx, &poll).await?;
    let row = sqlx::query(ONE)
        .bind(&poll)
        .bind(voter.as_str())
        .bind(VoterHash::of(id, voter).as_bytes().as_slice())
        .fetch_optional(&mut *write.tx)
        .await
        .map_err(unavailable)?
        .ok_or(PollError::InviteNotFound)?;
    let mut found = invite(&row)?;
    if found.used {
        return Err(PollError::InviteUsed);
    }
    let row = sqlx::query(REVOKE)
        .bind(&poll)
        .bind(voter.as_str())
        .bind(rows::micros(at)?)
        .fetch_one(&mut *write.tx)
        .await
        .map_err(unavailable)?;
    found.revoked_at = revoked_at(&row)?;
    write.tx.commit().await.map_err(unavailable)?;
    Ok(found)
}

/// The voters of `ballots` whose invite of poll `id` is not revoked, read
/// in the cast's write transaction.
pub(crate) async fn valid_voters(
    tx: &mut SqliteConnection,
    poll: &Poll,
    ballots: &[Ballot],
) -> Result<HashSet<VoterId>> {
    let voters = invite_voters(poll, ballots);
    if voters.is_empty() {
        return Ok(HashSet::new());
    }
    sqlx::query(VALID)
        .bind(rows::id(poll.id))
        .bind(Value::from(voters).to_string())
        .fetch_all(tx)
        .await
        .map_err(unavailable)?
        .iter()
        .map(voter_id)
        .collect()
}

/// Whether poll `poll` is secret, or `NotFound`.
async fn exists(tx: &mut SqliteConnection, poll: &str) -> Result<bool> {
    sqlx::query_scalar(POLL_EXISTS)
        .bind(poll)
        .fetch_optional(tx)
        .await
        .map_err(unavailable)?
        .ok_or(PollError::NotFound)
}

fn voter_id(row: &SqliteRow) -> Result<VoterId> {
    let voter: String = row.try_get("voter_id").map_err(unavailable)?;
    VoterId::try_from(voter).map_err(|_| corrupt("invite voter id"))
}

fn revoked_at(row: &SqliteRow) -> Result<Option<OffsetDateTime>> {
    let at: Option<i64> = row.try_get("revoked_at").map_err(unavailable)?;
    at.map(rows::time).transpose()
}

fn invite(row: &SqliteRow) -> Result<Invite> {
    let nonce: String = row.try_get("nonce").map_err(unavailable)?;
    Ok(Invite {
        voter: voter_id(row)?,
        nonce: InviteNonce::from_stored(nonce),
        created_at: rows::time(row.try_get("created_at").map_err(unavailable)?)?,
        revoked_at: revoked_at(row)?,
        used: row.try_get("used").map_err(unavailable)?,
    })
}
