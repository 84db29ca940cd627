//! [`Connection`]: where the cache, the publisher and the rate limits send
//! their commands, one Redis node or a Redis Cluster, behind one
//! [`ConnectionLike`] so that every command is written once.

use polling_core::{PollError, Result};
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Client, Cmd, Pipeline, RedisFuture, Value};

use crate::config::RedisConfig;

/// A multiplexed, self-reconnecting connection to one Redis node or to a
/// Redis Cluster. Clones share it.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One node, through a [`ConnectionManager`].
    Node(ConnectionManager),
    /// A cluster, through a [`ClusterConnection`], which routes each command
    /// to the master owning its key's slot, follows `MOVED`/`ASK`, and
    /// refreshes the slot map and reconnects when a node fails over.
    Cluster(ClusterConnection),
}

impl Connection {
    /// Connects to the node at `url` with `config`'s timeouts.
    pub(crate) async fn node(url: &str, config: &RedisConfig) -> Result<Self> {
        let client = Client::open(url).map_err(PollError::unavailable)?;
        Self::node_with_client(client, config).await
    }

    /// Connects through `client` with `config`'s timeouts.
    pub(crate) async fn node_with_client(client: Client, config: &RedisConfig) -> Result<Self> {
        let manager =
            ConnectionManager::new_with_config(client, config.connection_manager_config())
                .await
                .map_err(PollError::unavailable)?;
        Ok(Self::Node(manager))
    }

    /// Connects to the cluster that `client` knows seed nodes of.
    pub(crate) async fn cluster(client: &ClusterClient) -> Result<Self> {
        let connection = client
            .get_async_connection()
            .await
            .map_err(PollError::unavailable)?;
        Ok(Self::Cluster(connection))
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Node(manager) => manager.req_packed_command(cmd),
            Self::Cluster(cluster) => cluster.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Node(manager) => manager.req_packed_commands(pipeline, offset, count),
            Self::Cluster(cluster) => cluster.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Node(manager) => manager.get_db(),
            Self::Cluster(cluster) => cluster.get_db(),
        }
    }
}
