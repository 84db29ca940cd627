//! [`SqliteIdempotencyStore`]: the [`IdempotencyStore`] on SQLite.

use async_trait::async_trait;
use polling_core::idempotency::{
    Begun, Claim, Fingerprint, IdempotencyStore, Lease, StoredResponse,
};
use polling_core::{PollError, Result};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use time::OffsetDateTime;

use crate::error::{corrupt, unavailable};
use crate::rows::micros;

/// The most expired keys one `begin` deletes.
const SWEEP_LIMIT: i64 = 64;

/// Deletes up to `?3` expired rows other than the claimed key's.
const SWEEP: &str = "DELETE FROM idempotency_keys WHERE key IN \
     (SELECT key FROM idempotency_keys WHERE expires_at <= ?2 AND key <> ?1 \
      ORDER BY expires_at LIMIT ?3)";

/// The live row of a key.
const READ: &str = "SELECT fingerprint, status, headers, body \
     FROM idempotency_keys WHERE key = ?1 AND expires_at > ?2";

/// Takes the key: inserts, or replaces the expired row (a live one was read
/// first, under the same write lock).
const TAKE: &str = "INSERT INTO idempotency_keys (key, fingerprint, token, expires_at) \
     VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT (key) DO UPDATE SET fingerprint = excluded.fingerprint, \
         token = excluded.token, status = NULL, headers = NULL, body = NULL, \
         expires_at = excluded.expires_at";

const COMPLETE: &str = "UPDATE idempotency_keys \
     SET status = ?3, headers = ?4, body = ?5, expires_at = ?6 \
     WHERE key = ?1 AND token = ?2 AND status IS NULL";

const ABANDON: &str =
    "DELETE FROM idempotency_keys WHERE key = ?1 AND token = ?2 AND status IS NULL";

/// Idempotency keys and their responses in SQLite. Run
/// [`migrate`](crate::migrate) first.
///
/// A claim is one `BEGIN IMMEDIATE` transaction: it reads the key's row
/// and takes the key under SQLite's write lock, so two claims of one key
/// never both get it.
///
/// ```no_run
/// use polling_store_sqlite::{SqliteConfig, SqliteIdempotencyStore};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = SqliteConfig::new("sqlite://polling.db").connect().await?;
/// polling_store_sqlite::migrate(&pool).await?;
/// let keys = SqliteIdempotencyStore::new(pool);
/// # let _ = keys;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct SqliteIdempotencyStore {
    /// Every query's connections.
    pool: SqlitePool,
}

impl SqliteIdempotencyStore {
    /// A store on `pool`.
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl IdempotencyStore for SqliteIdempotencyStore {
    async fn begin(&self, claim: &Claim) -> Result<Begun> {
        let at = micros(claim.at)?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(unavailable)?;
        sqlx::query(SWEEP)
            .bind(&claim.key)
            .bind(at)
            .bind(SWEEP_LIMIT)
            .execute(&mut *tx)
            .await
            .map_err(unavailable)?;
        let held_by = sqlx::query(READ)
            .bind(&claim.key)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await
            .map_err(unavailable)?;
        let begun = match held_by {
            Some(row) => held(&row, &claim.fingerprint)?,
            None => {
                let lease = Lease::generate(claim.key.clone());
                sqlx::query(TAKE)
                    .bind(&claim.key)
                    .bind(&claim.fingerprint.as_bytes()[..])
                    .bind(lease.token().to_string())
                    .bind(micros(claim.at + claim.lease)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
                Begun::Fresh(lease)
            }
        };
        tx.commit().await.map_err(unavailable)?;
        Ok(begun)
    }

    async fn complete(
        &self,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let headers = serde_json::to_string(&response.headers)
            .map_err(|_| PollError::unavailable("headers that are not JSON"))?;
        sqlx::query(COMPLETE)
            .bind(lease.key())
            .bind(lease.token().to_string())
            .bind(i64::from(response.status))
            .bind(headers)
            .bind(&response.body)
            .bind(micros(expires_at)?)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn abandon(&self, lease: &Lease) -> Result<()> {
        sqlx::query(ABANDON)
            .bind(lease.key())
            .bind(lease.token().to_string())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// What a live row held by another request means for `fingerprint`.
fn held(row: &SqliteRow, fingerprint: &Fingerprint) -> Result<Begun> {
    let stored: Vec<u8> = row.try_get("fingerprint").map_err(unavailable)?;
    if stored.as_slice() != fingerprint.as_bytes() {
        return Ok(Begun::Mismatch);
    }
    let status: Option<i64> = row.try_get("status").map_err(unavailable)?;
    let Some(status) = status else {
        return Ok(Begun::InProgress);
    };
    let headers: Option<String> = row.try_get("headers").map_err(unavailable)?;
    let headers: Vec<(String, String)> = match headers {
        Some(text) => serde_json::from_str(&text).map_err(|_| corrupt("stored headers"))?,
        None => Vec::new(),
    };
    let body: Option<Vec<u8>> = row.try_get("body").map_err(unavailable)?;
    Ok(Begun::Replay(StoredResponse {
        status: u16::try_from(status).map_err(|_| corrupt("an HTTP status"))?,
        headers,
        body: body.unwrap_or_default(),
    }))
}
