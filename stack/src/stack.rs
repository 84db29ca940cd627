//! [`Stack`]: the compose stack's programs, run natively.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use polling_testkit::RedisCluster;

use crate::process::Program;
use crate::render::{self, NginxLocal};

/// What a [`Stack`] runs against.
#[derive(Clone, Debug)]
pub struct StackOptions {
    /// The `polling-server` binary.
    pub server_bin: PathBuf,
    /// The PostgreSQL database every replica shares.
    pub database_url: String,
    /// The Redis every replica shares (unless `redis_cluster`).
    pub redis_url: String,
    /// Start a Redis Cluster of the stack's own (3 masters with a replica
    /// each, on free ports) and put the replicas on it, with sharded
    /// Pub/Sub, instead of `redis_url`.
    pub redis_cluster: bool,
    /// The Redis key prefix of this stack (so stacks can share one Redis).
    pub redis_prefix: String,
    /// How many replicas (the compose file runs 3).
    pub replicas: usize,
    /// A directory of the stack's own: rendered configs, logs, Prometheus data.
    pub scratch: PathBuf,
}

/// One `polling-server` process.
#[derive(Debug)]
pub struct Replica {
    child: Option<Program>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its `--instance` name (`replica-1`...).
    pub instance: String,
}

/// Replicas, nginx in front of them and Prometheus scraping them, with the
/// compose stack's nginx and Prometheus configs rendered for local
/// addresses. Everything is stopped when the stack is dropped, nginx's
/// workers included: no process of the stack outlives it.
#[derive(Debug)]
pub struct Stack {
    replicas: Vec<Replica>,
    /// The stack's own Redis Cluster, with `redis_cluster`.
    redis_cluster: Option<RedisCluster>,
    nginx: Option<Program>,
    prometheus: Option<Program>,
    /// Where nginx listens: the stack's front door.
    pub nginx_addr: SocketAddr,
    /// Where Prometheus listens.
    pub prometheus_addr: SocketAddr,
}

impl Stack {
    /// Starts the replicas, then nginx and Prometheus, and waits until each
    /// answers.
    ///
    /// # Errors
    ///
    /// When a program cannot start or does not become ready within 30 s.
    pub fn start(options: &StackOptions) -> io::Result<Self> {
        fs::create_dir_all(&options.scratch)?;
        let redis_cluster = match options.redis_cluster {
            true => Some(start_redis_cluster()?),
            false => None,
        };
        let redis = match &redis_cluster {
            Some(cluster) => ("POLLING_REDIS_CLUSTER_NODES", cluster.urls().join(",")),
            None => ("REDIS_URL", options.redis_url.clone()),
        };
        let mut stack = Self {
            replicas: Vec::new(),
            redis_cluster,
            nginx: None,
            prometheus: None,
            nginx_addr: free_addr()?,
            prometheus_addr: free_addr()?,
        };
        for n in 1..=options.replicas {
            stack.replicas.push(start_replica(options, &redis, n)?);
        }
        for replica in &stack.replicas {
            wait_until_ok(replica.addr, "/readyz")?;
        }
        let addresses: Vec<SocketAddr> = stack.replicas.iter().map(|r| r.addr).collect();

        let nginx_conf = fs::read_to_string(crate::compose_dir().join("nginx/nginx.conf"))?;
        let nginx_scratch = options.scratch.join("nginx");
        fs::create_dir_all(&nginx_scratch)?;
        let local = NginxLocal {
            replicas: addresses.clone(),
            listen: stack.nginx_addr,
            root: crate::repo_root().join("frontend"),
            scratch: nginx_scratch.clone(),
        };
        let rendered = render::nginx(&nginx_conf, &local).map_err(io::Error::other)?;
        let nginx_conf = nginx_scratch.join("nginx.conf");
        fs::write(&nginx_conf, rendered)?;
        stack.nginx = Some(Program::spawn(
            Command::new("nginx")
                .arg("-p")
                .arg(&nginx_scratch)
                .arg("-c")
                .arg(&nginx_conf)
                .args(["-g", "daemon off;"])
                .stdout(log_file(options, "nginx.log")?)
                .stderr(log_file(options, "nginx.err")?),
        )?);

        let prom_conf = fs::read_to_string(crate::compose_dir().join("prometheus/prometheus.yml"))?;
        let rendered = render::prometheus(&prom_conf, &addresses).map_err(io::Error::other)?;
        let prom_conf = options.scratch.join("prometheus.yml");
        fs::write(&prom_conf, rendered)?;
        stack.prometheus = Some(Program::spawn(
            Command::new("prometheus")
                .arg(format!("--config.file={}", prom_conf.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    options.scratch.join("prometheus-data").display()
                ))
                .arg(format!("--web.listen-address={}", stack.prometheus_addr))
                .stdout(Stdio::null())
                .stderr(log_file(options, "prometheus.log")?),
        )?);
        wait_until_ok(stack.nginx_addr, "/api/polls")?;
        wait_until_ok(stack.prometheus_addr, "/-/ready")?;
        Ok(stack)
    }

    /// The replicas, in start order.
    pub fn replicas(&self) -> &[Replica] {
        &self.replicas
    }

    /// Kills replica `index` with SIGKILL: no graceful anything.
    pub fn kill_replica(&mut self, index: usize) {
        if let Some(mut child) = self.replicas[index].child.take() {
            child.kill();
        }
    }

    /// Every living process of the stack, nginx's workers included.
    pub fn pids(&self) -> BTreeSet<u32> {
        self.replicas
            .iter()
            .filter_map(|r| r.child.as_ref())
            .chain(&self.nginx)
            .chain(&self.prometheus)
            .flat_map(Program::pids)
            .collect()
    }

    /// nginx's processes: its master and workers.
    pub fn nginx_pids(&self) -> BTreeSet<u32> {
        self.nginx.iter().flat_map(Program::pids).collect()
    }

    /// Every port the stack listens on.
    pub fn ports(&self) -> Vec<u16> {
        self.replicas
            .iter()
            .map(|r| r.addr.port())
            .chain([self.nginx_addr.port(), self.prometheus_addr.port()])
            .chain(self.redis_cluster.iter().flat_map(|c| c.ports().to_vec()))
            .collect()
    }

    /// The stack's own Redis Cluster, if it runs one.
    pub fn redis_cluster(&self) -> Option<&RedisCluster> {
        self.redis_cluster.as_ref()
    }
}

impl Replica {
    /// Its process id, unless it was killed.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Program::pid)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // The front door first, so no request reaches a stopping replica.
        drop(self.nginx.take());
        for replica in &mut self.replicas {
            drop(replica.child.take());
        }
        drop(self.prometheus.take());
        // Last: the replicas used it until they stopped.
        drop(self.redis_cluster.take());
    }
}

/// A Redis Cluster of the stack's own; an error, not a panic, when Redis
/// cannot run one here.
fn start_redis_cluster() -> io::Result<RedisCluster> {
    std::panic::catch_unwind(RedisCluster::start).map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        io::Error::other(format!("the Redis Cluster did not start: {why}"))
    })
}

/// Replica `n`, on the Redis `redis` names: (variable, value).
fn start_replica(options: &StackOptions, redis: &(&str, String), n: usize) -> io::Result<Replica> {
    let addr = free_addr()?;
    let instance = format!("replica-{n}");
    let child = Program::spawn(
        Command::new(&options.server_bin)
            .env_clear()
            .env("POLLING_LISTEN", addr.to_string())
            .env("DATABASE_URL", &options.database_url)
            .env(redis.0, &redis.1)
            .env("POLLING_REDIS_PREFIX", &options.redis_prefix)
            .env("POLLING_INSTANCE", &instance)
            .env("POLLING_LOG_FORMAT", "json")
            // Behind nginx, the page's origin is nginx's, and nginx passes Host on.
            .env("POLLING_ALLOWED_ORIGINS", "same-origin")
            // The share page /p/{id} is the app's index.html with the poll's
            // link-preview tags: the replicas read it, as in the image.
            .env("POLLING_FRONTEND_DIR", crate::repo_root().join("frontend"))
            // nginx, on this machine, forwards the client's address and stamps
            // each request with its id (a cookieless vote retried on another
            // replica keeps its voter). Every simulated voter comes from
            // 127.0.0.1, a hall behind one address: the default limits let it vote.
            .env("POLLING_TRUSTED_PROXIES", "127.0.0.1")
            .stdout(log_file(options, &format!("{instance}.log"))?)
            .stderr(log_file(options, &format!("{instance}.err"))?),
    )?;
    Ok(Replica {
        child: Some(child),
        addr,
        instance,
    })
}

fn log_file(options: &StackOptions, name: &str) -> io::Result<fs::File> {
    fs::File::create(options.scratch.join(name))
}

/// A free port on 127.0.0.1 (bound, then released for the program to take).
pub fn free_addr() -> io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// Polls `GET path` on `addr` until it answers 200, for up to 30 s.
fn wait_until_ok(addr: SocketAddr, path: &str) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if get_status(addr, path).is_ok_and(|status| status == 200) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "{addr}{path} did not answer 200 within 30 s"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The status of `GET path` on `addr` (HTTP/1.1, connection closed after).
pub fn get_status(addr: SocketAddr, path: &str) -> io::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not an HTTP answer: {response:.40}")))
}
