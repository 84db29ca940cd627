//! The test-owned servers really stop and come back.

use std::net::TcpStream;
use std::time::Duration;

use polling_testkit::{PgCluster, RedisServer};

fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok()
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|tail| tail.split('/').next())
        .and_then(|port| port.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

#[test]
fn a_redis_server_stops_and_returns_on_its_port() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    assert_eq!(port_of(&redis.url()), port);
    assert!(accepts(port));
    redis.kill();
    assert!(!accepts(port));
    redis.restart();
    assert!(accepts(port));
}

#[test]
fn a_postgres_cluster_stops_and_returns_on_its_port() {
    let mut pg = PgCluster::start();
    assert_eq!(port_of(&pg.url()), pg.port());
    assert!(accepts(pg.port()));
    pg.stop();
    assert!(!accepts(pg.port()));
    pg.restart();
    assert!(accepts(pg.port()));
}
