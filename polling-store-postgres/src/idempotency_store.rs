//! [`PgIdempotencyStore`]: the [`IdempotencyStore`] on PostgreSQL.

use async_trait::async_trait;
use polling_core::idempotency::{
    Begun, Claim, Fingerprint, IdempotencyStore, Lease, StoredResponse,
};
use polling_core::{PollError, Result};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};
use time::OffsetDateTime;

use crate::error::{corrupt, unavailable};

/// The most expired keys one `begin` deletes.
const SWEEP_LIMIT: i64 = 64;

/// Takes the key when no live row holds it: inserts, or replaces an expired
/// row. Returns a row only when the key was taken. In the same round trip,
/// deletes up to `$6` other expired rows (rows another transaction holds
/// are skipped, so concurrent sweeps never wait for each other).
const TAKE: &str = "WITH swept AS ( \
         DELETE FROM idempotency_keys WHERE key IN \
             (SELECT key FROM idempotency_keys WHERE expires_at <= $5 AND key <> $1 \
              ORDER BY expires_at LIMIT $6 FOR UPDATE SKIP LOCKED)) \
     INSERT INTO idempotency_keys AS k (key, fingerprint, token, expires_at) \
     VALUES ($1, $2, $3, $4) \
     ON CONFLICT (key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
         token = EXCLUDED.token, status = NULL, header_names = NULL, \
         header_values = NULL, body = NULL, expires_at = EXCLUDED.expires_at \
     WHERE k.expires_at <= $5 \
     RETURNING token";

const READ: &str = "SELECT fingerprint, status, header_names, header_values, body \
     FROM idempotency_keys WHERE key = $1 AND expires_at > $2";

const COMPLETE: &str = "UPDATE idempotency_keys \
     SET status = $3, header_names = $4, header_values = $5, body = $6, expires_at = $7 \
     WHERE key = $1 AND token = $2 AND status IS NULL";

const ABANDON: &str =
    "DELETE FROM idempotency_keys WHERE key = $1 AND token = $2 AND status IS NULL";

/// How often `begin` tries again when the row it lost to vanished before it
/// could read it (abandoned or expired in between).
const ATTEMPTS: usize = 3;

/// Idempotency keys and their responses in PostgreSQL, shared by every
/// replica on the same database. Run [`migrate`](crate::migrate) first.
///
/// ```no_run
/// use polling_store_postgres::{PgConfig, PgIdempotencyStore};
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let pool = PgConfig::new("postgres://postgres@127.0.0.1/polling").connect().await?;
/// polling_store_postgres::migrate(&pool).await?;
/// let keys = PgIdempotencyStore::new(pool);
/// # let _ = keys;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PgIdempotencyStore {
    /// Every query's connections.
    pool: PgPool,
}

impl PgIdempotencyStore {
    /// A store on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl IdempotencyStore for PgIdempotencyStore {
    async fn begin(&self, claim: &Claim) -> Result<Begun> {
        for _ in 0..ATTEMPTS {
            let lease = Lease::generate(claim.key.clone());
            let taken = sqlx::query(TAKE)
                .bind(&claim.key)
                .bind(&claim.fingerprint.as_bytes()[..])
                .bind(lease.token())
                .bind(claim.at + claim.lease)
                .bind(claim.at)
                .bind(SWEEP_LIMIT)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
            if taken.is_some() {
                return Ok(Begun::Fresh(lease));
            }
            let row = sqlx::query(READ)
                .bind(&claim.key)
                .bind(claim.at)
                .fetch_optional(&self.pool)
                .await
                .map_err(unavailable)?;
            if let Some(row) = row {
                return held(&row, &claim.fingerprint);
            }
        }
        // The key keeps changing hands: as good as running.
        Ok(Begun::InProgress)
    }

    async fn complete(
        &self,
        lease: &Lease,
        response: &StoredResponse,
        expires_at: OffsetDateTime,
    ) -> Result<()> {
        let (names, values): (Vec<&str>, Vec<&str>) = response
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .unzip();
        let status = i16::try_from(response.status)
            .map_err(|_| PollError::unavailable("an HTTP status beyond smallint"))?;
        sqlx::query(COMPLETE)
            .bind(lease.key())
            .bind(lease.token())
            .bind(status)
            .bind(&names)
            .bind(&values)
            .bind(&response.body)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn abandon(&self, lease: &Lease) -> Result<()> {
        sqlx::query(ABANDON)
            .bind(lease.key())
            .bind(lease.token())
            .execute(&self.pool)
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}

/// What a live row held by another request means for `fingerprint`.
fn held(row: &PgRow, fingerprint: &Fingerprint) -> Result<Begun> {
    let stored: Vec<u8> = row.try_get("fingerprint").map_err(unavailable)?;
    if stored.as_slice() != fingerprint.as_bytes() {
        return Ok(Begun::Mismatch);
    }
    let status: Option<i16> = row.try_get("status").map_err(unavailable)?;
    let Some(status) = status else {
        return Ok(Begun::InProgress);
    };
    let names: Vec<String> = row
        .try_get::<Option<Vec<String>>, _>("header_names")
        .map_err(unavailable)?
        .unwrap_or_default();
    let values: Vec<String> = row
        .try_get::<Option<Vec<String>>, _>("header_values")
        .map_err(unavailable)?
        .unwrap_or_default();
    let body: Option<Vec<u8>> = row.try_get("body").map_err(unavailable)?;
    Ok(Begun::Replay(StoredResponse {
        status: u16::try_from(status).map_err(|_| corrupt("negative HTTP status"))?,
        headers: names.into_iter().zip(values).collect(),
        body: body.unwrap_or_default(),
    }))
}
