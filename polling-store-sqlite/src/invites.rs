//! The invites of invite-only polls: adding, listing and revoking them,
//! and the check a cast makes under the write lock.

use std::collections::HashSet;

use polling_core::store_kit::invite_voters;
use polling_core::{Ballot, Invite, InviteNonce, Poll, PollError, PollId, Result, VoterId};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};
use time::OffsetDateTime;

use crate::database::Database;
use crate::error::{corrupt, unavailable};
use crate::rows;

const POLL_EXISTS: &str = "SELECT 1 FROM polls WHERE id = ?1";

/// Adds invites (`?2`, a JSON array of `[voter, nonce, created_at]`).
const ADD: &str = "INSERT INTO invites (poll_id, voter_id, nonce, created_at) \
     SELECT ?1, i.value ->> 0, i.value ->> 1, i.value ->> 2 FROM json_each(?2) AS i";

/// The invites of a poll with whether each has a ballot.
const LIST: &str = "SELECT i.voter_id, i.nonce, i.created_at, i.revoked_at, \
       EXISTS (SELECT 1 FROM ballots b WHERE b.poll_id = ?1 AND b.voter_id = i.voter_id) AS used \
       FROM invites i WHERE i.poll_id = ?1 ORDER BY i.created_at, i.nonce";

const ONE: &str = "SELECT i.voter_id, i.nonce, i.created_at, i.revoked_at, \
       EXISTS (SELECT 1 FROM ballots b WHERE b.poll_id = ?1 AND b.voter_id = i.voter_id) AS used \
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
    exists(&mut tx, &poll).await?;
    sqlx::query(LIST)
        .bind(&poll)
        .fetch_all(&mut *tx)
        .await
        .map_err(unavailable)?
        .iter()
        .map(invite)
        .collect()
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

async fn exists(tx: &mut SqliteConnection, poll: &str) -> Result<()> {
    sqlx::query(POLL_EXISTS)
        .bind(poll)
        .fetch_optional(tx)
        .await
        .map_err(unavailable)?
        .map(|_| ())
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
