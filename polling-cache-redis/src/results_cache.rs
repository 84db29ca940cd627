//! [`RedisResultsCache`]: the [`ResultsCache`] in Redis, shared by every replica.

use std::fmt;
use std::sync::LazyLock;

use async_trait::async_trait;
use polling_core::{PollError, PollId, Result, Results, ResultsCache};
use redis::aio::ConnectionManager;
use redis::{Client, IntoConnectionInfo, Script};

use crate::config::RedisConfig;
use crate::connection::Connection;
use crate::keys::Keys;

/// The compare-and-set of [`RedisResultsCache::put`]; Redis keeps it by its
/// SHA1 after the first call (and reloads it if a restarted Redis forgot it).
static PUT_RESULTS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("put_results.lua")));

/// The tombstone of [`RedisResultsCache::invalidate`].
static FORGET_RESULTS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("forget_results.lua")));

/// A [`ResultsCache`] in Redis. Clones share the connection.
///
/// Each poll's results live in one hash, `{prefix}results:{poll_id}`, with
/// the field `v` (the version) and the field `json` (the [`Results`] as JSON),
/// and expire [`results_ttl`](RedisConfig::results_ttl) after their last
/// write.
///
/// * [`get`](ResultsCache::get) reads the `json` field.
/// * [`put`](ResultsCache::put) runs a Lua script that compares the version
///   with the cached one and writes only a higher one, all inside Redis, so
///   two replicas racing never leave an older version behind.
/// * [`invalidate`](ResultsCache::invalidate) replaces the hash with a
///   tombstone (the field `deleted`, living as long as an entry) that the
///   `put` script never overwrites.
/// * [`check`](ResultsCache::check) sends a `PING` (for readiness checks).
///
/// Every Redis failure is a [`PollError::Unavailable`]; the
/// [`CacheLayer`](polling_core::layer::CacheLayer) logs it and reads the
/// store instead. The connection is a [`ConnectionManager`]: commands fail
/// quickly while Redis is down (see
/// [`RedisConfig::connection_manager_config`]) and it reconnects on its own
/// when Redis is back.
///
/// # Redis Cluster
///
/// [`connect_cluster`](Self::connect_cluster) keeps the cache on a Redis
/// Cluster instead: the key becomes `{prefix}results:{<poll_id>}`, whose hash
/// tag puts it in the slot of the poll (the slot of its Pub/Sub channel too),
/// and each command goes to the master owning that slot. Each script touches
/// that one key only, so it runs on one shard. While a shard fails over,
/// the commands of its polls fail (each within the response timeout) and
/// the others' go on; once its replica is promoted, the cluster connection
/// learns the new master and caching resumes on its own.
///
/// # Deleted polls
///
/// A write can race the deletion of its poll: a vote batch that committed
/// just before the delete, or a results read that started before it, may
/// `put` after the delete's `invalidate`. The tombstone makes that `put` a
/// no-op on every replica sharing this Redis, so a deleted poll's results
/// never come back (and live sockets resyncing find the poll gone).
///
/// # Example
///
/// ```no_run
/// use polling_cache_redis::{RedisConfig, RedisResultsCache};
/// use polling_core::{PollId, ResultsCache};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> polling_core::Result<()> {
/// let cache = RedisResultsCache::connect("redis://127.0.0.1/", &RedisConfig::new()).await?;
/// let cached = cache.get(PollId::generate()).await?;
/// assert_eq!(cached, None);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisResultsCache {
    /// The multiplexed, self-reconnecting connection every command goes
    /// through: to one node, or to a cluster.
    connection: Connection,
    /// Names the results keys.
    keys: Keys,
    /// The time to live of an entry after a write, in milliseconds (as `PEXPIRE` takes it).
    ttl_millis: u64,
}

impl RedisResultsCache {
    /// Connects to the Redis at `url` (such as `redis://127.0.0.1:6379/`).
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when the URL is not a Redis URL or Redis
    /// cannot be reached.
    pub async fn connect(url: &str, config: &RedisConfig) -> Result<Self> {
        let client = Client::open(url).map_err(PollError::unavailable)?;
        Self::connect_with_client(client, config).await
    }

    /// Connects through `client`, with the timeouts of `config`.
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when Redis cannot be reached.
    pub async fn connect_with_client(client: Client, config: &RedisConfig) -> Result<Self> {
        let connection = Connection::node_with_client(client, config).await?;
        Ok(Self::with_connection(
            connection,
            Keys::new(config.key_prefix()),
            config,
        ))
    }

    /// Connects to the Redis Cluster that `nodes` (`redis://` URLs of some of
    /// its nodes) belong to, with the client of
    /// [`RedisConfig::cluster_client_builder`] (see [Redis
    /// Cluster](Self#redis-cluster)).
    ///
    /// # Errors
    ///
    /// [`PollError::Unavailable`] when a URL is not a Redis URL or no node
    /// can be reached.
    pub async fn connect_cluster<T: IntoConnectionInfo>(
        nodes: impl IntoIterator<Item = T>,
        config: &RedisConfig,
    ) -> Result<Self> {
        let client = config.cluster_client(nodes)?;
        let connection = Connection::cluster(&client).await?;
        let keys = Keys::hash_tagged(config.key_prefix());
        Ok(Self::with_connection(connection, keys, config))
    }

    /// Uses an existing connection manager (built with
    /// [`RedisConfig::connection_manager_config`] for the timeouts this crate
    /// expects); only the key prefix and TTL of `config` apply.
    pub fn from_manager(connection: ConnectionManager, config: &RedisConfig) -> Self {
        let keys = Keys::new(config.key_prefix());
        Self::with_connection(Connection::Node(connection), keys, config)
    }

    fn with_connection(connection: Connection, keys: Keys, config: &RedisConfig) -> Self {
        let ttl_millis = u64::try_from(config.results_ttl().as_millis()).unwrap_or(u64::MAX);
        Self {
            connection,
            keys,
            ttl_millis,
        }
    }
}

impl fmt::Debug for RedisResultsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisResultsCache")
            .field("keys", &self.keys)
            .field("ttl_millis", &self.ttl_millis)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl ResultsCache for RedisResultsCache {
    async fn get(&self, poll: PollId) -> Result<Option<Results>> {
        let mut connection = self.connection.clone();
        let json: Option<String> = redis::cmd("HGET")
            .arg(self.keys.results(poll))
            .arg("json")
            .query_async(&mut connection)
            .await
            .map_err(PollError::unavailable)?;
        let Some(json) = json else {
            return Ok(None);
        };
        let results: Results = serde_json::from_str(&json).map_err(PollError::unavailable)?;
        if results.poll_id != poll {
            return Err(PollError::unavailable(format!(
                "the cache entry of poll {poll} holds the results of poll {}",
                results.poll_id
            )));
        }
        Ok(Some(results))
    }

    async fn put(&self, results: &Results) -> Result<()> {
        let json = serde_json::to_string(results).map_err(PollError::unavailable)?;
        let mut connection = self.connection.clone();
        let written: i64 = PUT_RESULTS
            .key(self.keys.results(results.poll_id))
            .arg(results.version)
            .arg(json)
            .arg(self.ttl_millis)
            .invoke_async(&mut connection)
            .await
            .map_err(PollError::unavailable)?;
        tracing::trace!(
            poll_id = %results.poll_id,
            version = results.version,
            written = written == 1,
            "results cache put"
        );
        Ok(())
    }

    async fn invalidate(&self, poll: PollId) -> Result<()> {
        let mut connection = self.connection.clone();
        FORGET_RESULTS
            .key(self.keys.results(poll))
            .arg(self.ttl_millis)
            .invoke_async::<i64>(&mut connection)
            .await
            .map_err(PollError::unavailable)?;
        Ok(())
    }

    /// A `PING` (on a cluster, to the master of every slot): `Unavailable`
    /// when Redis does not answer within the response timeout, or a shard
    /// of the cluster has no master that answers.
    async fn check(&self) -> Result<()> {
        self.connection.check().await
    }
}
