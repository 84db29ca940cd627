//! [`Connection`]: where the cache, the publisher and the rate limits send
//! their commands, one Redis node or a Redis Cluster, behind one
//! [`ConnectionLike`] so that every command is written once.

use std::collections::BTreeSet;

use futures_util::future::try_join_all;
use polling_core::{PollError, Result};
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
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

    /// Whether Redis answers: a `PING` to the node; on a cluster, a `PING`
    /// to the master of every slot range `CLUSTER SLOTS` lists, through this
    /// connection's own connection to it, and every slot served.
    ///
    /// A plain `PING` on a cluster connection is not enough: it goes to the
    /// masters the connection is connected to, and passes while one of them
    /// is down and its replica not promoted yet (the polls of that shard can
    /// be neither cached nor published then).
    pub(crate) async fn check(&self) -> Result<()> {
        match self {
            Self::Node(manager) => {
                redis::cmd("PING")
                    .query_async::<String>(&mut manager.clone())
                    .await
                    .map_err(PollError::unavailable)?;
            }
            Self::Cluster(cluster) => {
                let slots: Value = redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query_async(&mut cluster.clone())
                    .await
                    .map_err(PollError::unavailable)?;
                let (masters, covered) = masters_of(&slots);
                if covered != SLOTS {
                    return Err(PollError::unavailable(format!(
                        "the redis cluster serves {covered} of its {SLOTS} slots"
                    )));
                }
                try_join_all(masters.into_iter().map(|(host, port)| {
                    let mut cluster = cluster.clone();
                    async move {
                        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
                            host,
                            port,
                        });
                        cluster.route_command(redis::cmd("PING"), routing).await
                    }
                }))
                .await
                .map_err(PollError::unavailable)?;
            }
        }
        Ok(())
    }
}

/// How many hash slots a Redis Cluster has.
const SLOTS: u64 = 16_384;

/// The masters (host, port) of a `CLUSTER SLOTS` reply, and how many slots
/// its ranges cover.
fn masters_of(slots: &Value) -> (BTreeSet<(String, u16)>, u64) {
    let mut masters = BTreeSet::new();
    let mut covered = 0;
    let Value::Array(ranges) = slots else {
        return (masters, covered);
    };
    for range in ranges {
        let Value::Array(range) = range else { continue };
        let (Some(Value::Int(first)), Some(Value::Int(last)), Some(Value::Array(master))) =
            (range.first(), range.get(1), range.get(2))
        else {
            continue;
        };
        let host = match master.first() {
            Some(Value::BulkString(host)) => String::from_utf8_lossy(host).into_owned(),
            Some(Value::SimpleString(host)) => host.clone(),
            _ => continue,
        };
        let Some(Value::Int(port)) = master.get(1) else {
            continue;
        };
        let Ok(port) = u16::try_from(*port) else {
            continue;
        };
        covered += u64::try_from(last - first + 1).unwrap_or(0);
        masters.insert((host, port));
    }
    (masters, covered)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"id".to_vec()),
        ])
    }

    #[test]
    fn cluster_slots_name_each_ranges_master_and_the_slots_covered() {
        let slots = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node("127.0.0.1", 7000),
                node("127.0.0.1", 7003),
            ]),
            Value::Array(vec![
                Value::Int(5461),
                Value::Int(5461),
                node("127.0.0.1", 7000),
            ]),
            Value::Array(vec![
                Value::Int(5462),
                Value::Int(10922),
                node("10.0.0.2", 7001),
            ]),
        ]);
        let (masters, covered) = masters_of(&slots);
        assert_eq!(
            masters.into_iter().collect::<Vec<_>>(),
            vec![
                ("10.0.0.2".to_owned(), 7001),
                ("127.0.0.1".to_owned(), 7000)
            ],
            "replicas are not masters, and a master is named once"
        );
        assert_eq!(covered, 10_923);
        assert_eq!(masters_of(&Value::Nil), (BTreeSet::new(), 0));
    }
}
