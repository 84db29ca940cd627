//! [`RedisCluster`]: a Redis Cluster of a test's own, three masters with a
//! replica each, to spread polls over and to fail over.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::redis_server::{free_port, wait_for_port};

/// How many nodes the cluster has: three masters, one replica each.
const NODES: usize = 6;

/// How long a node may be unreachable before the others count it as failed
/// and its replica takes over, in milliseconds (Redis' default is 15 s; a
/// test waits for the failover).
const NODE_TIMEOUT_MILLIS: u64 = 2_000;

/// The longest wait for the cluster to form, or to heal after a failover.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Makes the data directories of clusters in one process distinct.
static CLUSTERS: AtomicU32 = AtomicU32::new(0);

/// A local Redis Cluster: six `redis-server` child processes on free ports
/// (no persistence, cluster bus on port + 10000), joined by `redis-cli
/// --cluster create` into three masters with one replica each. Every node is
/// killed, and its directory removed, when this is dropped.
///
/// [`start`](Self::start) returns once every node reports `cluster_state:ok`
/// and every replica is in sync with its master, so a master can be
/// [killed](Self::kill) and its replica promoted at once.
///
/// # Example
///
/// ```no_run
/// use polling_testkit::RedisCluster;
///
/// let mut cluster = RedisCluster::start();
/// let seeds = cluster.urls(); // redis://127.0.0.1:PORT/, one per node
/// let port = cluster.master_of("polling:poll:some-poll");
/// cluster.kill(port); // SIGKILL: its replica takes over
/// cluster.wait_until_healed();
/// assert_ne!(cluster.master_of("polling:poll:some-poll"), port);
/// # let _ = seeds;
/// ```
#[derive(Debug)]
pub struct RedisCluster {
    /// Every node's port, in start order.
    ports: Vec<u16>,
    /// The running nodes by port; a killed node is gone from here.
    children: BTreeMap<u16, Child>,
    /// Holds the nodes' `nodes.conf` files; removed on drop.
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts the six nodes, creates the cluster and waits until it serves
    /// every slot with every replica in sync.
    ///
    /// # Panics
    ///
    /// When `redis-server` or `redis-cli` is not on `PATH`, or the cluster
    /// does not form within 60 s.
    pub fn start() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "polling-redis-cluster-{}-{}",
            std::process::id(),
            CLUSTERS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the cluster's directory");
        let mut cluster = Self {
            ports: Vec::with_capacity(NODES),
            children: BTreeMap::new(),
            dir,
        };
        while cluster.ports.len() < NODES {
            // A port freed by one probe can come back from the next: a node
            // asked to take a port (or bus port) another node has would fail
            // to bind, the cluster would form with five, and the first
            // node's handle would be lost, leaving it running after the test
            // (seen once in CI).
            let port = cluster_port();
            if collides(&cluster.ports, port) {
                continue;
            }
            cluster.spawn(port);
            cluster.ports.push(port);
        }
        for &port in &cluster.ports {
            wait_for_port(port, "redis-server (cluster node)");
        }
        let nodes: Vec<String> = cluster
            .ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run redis-cli --cluster create (is redis-cli on PATH?)");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        cluster.wait_until_healed();
        cluster
    }

    fn spawn(&mut self, port: u16) {
        let config_file = self.dir.join(format!("nodes-{port}.conf"));
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes"])
            .arg("--cluster-config-file")
            .arg(&config_file)
            .args(["--cluster-node-timeout", &NODE_TIMEOUT_MILLIS.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (is it on PATH?)");
        if let Some(mut replaced) = self.children.insert(port, child) {
            // Never two handles for one port: the old node goes, not leaks.
            let _ = replaced.kill();
            let _ = replaced.wait();
        }
    }

    /// The URLs of every node still running (`redis://127.0.0.1:PORT/`): the
    /// seed nodes to give a cluster client.
    pub fn urls(&self) -> Vec<String> {
        self.children
            .keys()
            .map(|port| format!("redis://127.0.0.1:{port}/"))
            .collect()
    }

    /// The ports of every node started, killed or not.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// The ports of the nodes that are masters serving slots now, as a
    /// living node sees it.
    pub fn masters(&self) -> Vec<u16> {
        let mut masters: Vec<u16> = self
            .nodes_table()
            .into_iter()
            .filter(|node| node.master && !node.failed && node.slot_count() > 0)
            .map(|node| node.port)
            .collect();
        masters.sort_unstable();
        masters
    }

    /// The hash slot of `key`, as `CLUSTER KEYSLOT` computes it.
    pub fn keyslot(&self, key: &str) -> u16 {
        let reply = self.cli(self.any_port(), &["CLUSTER", "KEYSLOT", key]);
        reply
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("CLUSTER KEYSLOT answered {reply:?}"))
    }

    /// The port of the master that serves `key`'s slot now.
    pub fn master_of(&self, key: &str) -> u16 {
        let slot = self.keyslot(key);
        self.nodes_table()
            .into_iter()
            .find(|node| node.master && !node.failed && node.serves(slot))
            .unwrap_or_else(|| panic!("no master serves slot {slot}"))
            .port
    }

    /// Kills the node on `port` (SIGKILL: no goodbye to its clients, nor to
    /// the other nodes) and waits for it. A master's replica takes over once
    /// the other nodes count it as failed (about two seconds).
    ///
    /// # Panics
    ///
    /// When no node of this cluster runs on `port`.
    pub fn kill(&mut self, port: u16) {
        let mut child = self
            .children
            .remove(&port)
            .unwrap_or_else(|| panic!("no running node on port {port}"));
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Moves hash slot `slot`, and its keys, from the master serving it to
    /// the master on `to`, as `redis-cli --cluster reshard` moves slots
    /// (`CLUSTER SETSLOT … IMPORTING`/`MIGRATING`, `MIGRATE` of each key, then
    /// `CLUSTER SETSLOT … NODE` on every master), and waits until every
    /// living node sees `to` serve it.
    ///
    /// # Panics
    ///
    /// When a step fails, or the nodes do not agree within 60 s.
    pub fn move_slot(&self, slot: u16, to: u16) {
        let from = self
            .nodes_table()
            .into_iter()
            .find(|node| node.master && !node.failed && node.serves(slot))
            .unwrap_or_else(|| panic!("no master serves slot {slot}"))
            .port;
        if from == to {
            return;
        }
        let id = |port: u16| self.cli(port, &["CLUSTER", "MYID"]).trim().to_owned();
        let (from_id, to_id) = (id(from), id(to));
        let slot_arg = slot.to_string();
        let ok = |port: u16, args: &[&str]| {
            let reply = self.cli(port, args);
            assert!(reply.contains("OK"), "{args:?} on {port}: {reply:?}");
        };
        ok(
            to,
            &["CLUSTER", "SETSLOT", &slot_arg, "IMPORTING", &from_id],
        );
        ok(
            from,
            &["CLUSTER", "SETSLOT", &slot_arg, "MIGRATING", &to_id],
        );
        loop {
            let keys = self.cli(from, &["CLUSTER", "GETKEYSINSLOT", &slot_arg, "100"]);
            let keys: Vec<&str> = keys.lines().filter(|key| !key.is_empty()).collect();
            if keys.is_empty() {
                break;
            }
            for key in keys {
                let port = to.to_string();
                ok(from, &["MIGRATE", "127.0.0.1", &port, key, "0", "5000"]);
            }
        }
        for master in self.masters() {
            ok(master, &["CLUSTER", "SETSLOT", &slot_arg, "NODE", &to_id]);
        }
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        while !self.children.keys().all(|&port| {
            self.nodes_table_of(port)
                .iter()
                .any(|node| node.port == to && node.serves(slot))
        }) {
            assert!(
                Instant::now() < deadline,
                "the nodes did not agree that {to} serves slot {slot} within {SETTLE_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until every living node reports `cluster_state:ok`, every slot is
    /// served by a living master, and every living replica is in sync with
    /// its master: after [`start`](Self::start), or after a master was
    /// [killed](Self::kill) and its replica promoted.
    ///
    /// # Panics
    ///
    /// When that takes more than 60 s.
    pub fn wait_until_healed(&self) {
        let deadline = Instant::now() + SETTLE_TIMEOUT;
        loop {
            match self.unhealthy() {
                None => return,
                Some(why) => assert!(
                    Instant::now() < deadline,
                    "the Redis cluster did not heal within {SETTLE_TIMEOUT:?}: {why}"
                ),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What is still wrong with the cluster, if anything, as any living
    /// node sees it.
    fn unhealthy(&self) -> Option<String> {
        for &port in self.children.keys() {
            let info = self.cli(port, &["CLUSTER", "INFO"]);
            if !info.contains("cluster_state:ok") {
                return Some(format!("node {port} is not ok yet"));
            }
            let nodes = self.nodes_table_of(port);
            for node in &nodes {
                let living = self.children.contains_key(&node.port);
                if living && node.failed {
                    return Some(format!("{port} counts living node {} as failed", node.port));
                }
                if !living && !node.failed {
                    return Some(format!(
                        "{port} does not count dead node {} as failed yet",
                        node.port
                    ));
                }
                if living && node.master && node.slot_count() == 0 {
                    return Some(format!(
                        "{port} sees node {} as a master without slots",
                        node.port
                    ));
                }
            }
            let served: usize = nodes
                .iter()
                .filter(|node| node.master && !node.failed)
                .map(Node::slot_count)
                .sum();
            if served != 16_384 {
                return Some(format!(
                    "{port} sees living masters serve {served} of 16384 slots"
                ));
            }
            if nodes
                .iter()
                .filter(|node| self.children.contains_key(&node.port))
                .count()
                != self.children.len()
            {
                return Some(format!("{port} does not know every living node yet"));
            }
        }
        for node in self.nodes_table() {
            if node.master || node.failed || !self.children.contains_key(&node.port) {
                continue;
            }
            let replication = self.cli(node.port, &["INFO", "replication"]);
            if !replication.contains("master_link_status:up") {
                return Some(format!("replica {} is not in sync yet", node.port));
            }
        }
        None
    }

    /// `CLUSTER NODES` as a living node sees it.
    fn nodes_table(&self) -> Vec<Node> {
        self.nodes_table_of(self.any_port())
    }

    /// `CLUSTER NODES` as the node on `port` sees it.
    fn nodes_table_of(&self, port: u16) -> Vec<Node> {
        self.cli(port, &["CLUSTER", "NODES"])
            .lines()
            .filter_map(Node::parse)
            .collect()
    }

    /// A node still running.
    fn any_port(&self) -> u16 {
        *self
            .children
            .keys()
            .next()
            .expect("at least one node of the cluster runs")
    }

    /// The reply of `redis-cli -p port args...`.
    fn cli(&self, port: u16, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .expect("run redis-cli (is it on PATH?)");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.children) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A line of `CLUSTER NODES`: `id addr flags master ping pong epoch link slots...`.
#[derive(Debug)]
struct Node {
    /// Its client port.
    port: u16,
    /// Whether it is a master.
    master: bool,
    /// Whether the cluster counts it as failed (`fail` or `fail?`).
    failed: bool,
    /// The slot ranges it serves, inclusive.
    slots: Vec<(u16, u16)>,
}

impl Node {
    fn parse(line: &str) -> Option<Self> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let address = fields.get(1)?;
        let port = address
            .split(['@', ','])
            .next()?
            .rsplit(':')
            .next()?
            .parse()
            .ok()?;
        let flags = fields.get(2)?;
        let slots = fields
            .iter()
            .skip(8)
            .filter(|range| !range.starts_with('['))
            .filter_map(|range| match range.split_once('-') {
                Some((first, last)) => Some((first.parse().ok()?, last.parse().ok()?)),
                None => range.parse().ok().map(|slot| (slot, slot)),
            })
            .collect();
        Some(Self {
            port,
            master: flags.split(',').any(|flag| flag == "master"),
            failed: flags
                .split(',')
                .any(|flag| flag == "fail" || flag == "fail?"),
            slots,
        })
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots
            .iter()
            .any(|&(first, last)| (first..=last).contains(&slot))
    }

    fn slot_count(&self) -> usize {
        self.slots
            .iter()
            .map(|&(first, last)| usize::from(last - first) + 1)
            .sum()
    }
}

/// A free port whose cluster bus port (port + 10000) is free too.
/// Whether a node on `port` would want a port (its own or its bus port,
/// 10,000 above) that a node on one of `taken` has.
fn collides(taken: &[u16], port: u16) -> bool {
    let bus = |port: u16| u32::from(port) + 10_000;
    taken.iter().any(|&other| {
        other == port || u32::from(other) == bus(port) || bus(other) == u32::from(port)
    })
}

fn cluster_port() -> u16 {
    loop {
        let port = free_port();
        let Some(bus) = port.checked_add(10_000) else {
            continue;
        };
        if TcpListener::bind((Ipv4Addr::LOCALHOST, bus)).is_ok() {
            return port;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_or_bus_port_of_another_node_is_refused() {
        let taken = [30_000, 31_000];
        assert!(collides(&taken, 30_000), "the same port");
        assert!(collides(&taken, 20_000), "its bus port is a node's port");
        assert!(collides(&taken, 40_000), "its port is a node's bus port");
        assert!(!collides(&taken, 30_001));
        assert!(!collides(&[], 30_000));
    }

    #[test]
    fn a_cluster_nodes_line_gives_port_role_and_slots() {
        let master = Node::parse(
            "07c3 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 5462 [5463->-e7d1]",
        )
        .unwrap();
        assert_eq!(master.port, 30001);
        assert!(master.master && !master.failed);
        assert_eq!(master.slots, vec![(0, 5460), (5462, 5462)]);
        assert!(master.serves(5462) && !master.serves(5461));
        assert_eq!(master.slot_count(), 5462);
        let replica =
            Node::parse("e7d1 127.0.0.1:30004@40004 slave,fail 07c3 0 0 1 disconnected").unwrap();
        assert!(!replica.master && replica.failed);
        assert!(replica.slots.is_empty());
    }
}
