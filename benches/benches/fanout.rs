//! Fan-out of live results: the time from one vote until every one of N open
//! WebSockets holds its results, for N = 1,000 and 10,000 real loopback
//! connections, each beside the baseline of one socket measured in the same
//! run, and the server's memory per idle socket.
//!
//! ```text
//! cargo bench -p polling-benches --bench fanout
//! POLLING_FANOUT_METHOD=ranked cargo bench -p polling-benches --bench fanout
//! ```
//!
//! With `POLLING_FANOUT_METHOD=ranked` the poll is a ranked one of five
//! options, so every message carries its instant-runoff rounds.
//!
//! The server runs in a child process (this same binary, started with
//! `POLLING_FANOUT_SERVER=1`) so its resident memory is measured alone and
//! each process stays within its open-files limit. The parent opens the
//! sockets, casts votes over HTTP one at a time, and waits for every socket
//! to receive each one. Its sockets are minimal RFC 6455 clients (handshake,
//! frame headers, pongs) rather than a full WebSocket library: both processes
//! share this machine's cores, and a heavy client would measure itself. Target: 10,000 sockets updated in under 100 ms, and
//! under 20 KiB per idle socket.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// The first count is the baseline the others are compared with.
const SOCKET_COUNTS: [usize; 3] = [1, 1_000, 10_000];
/// Votes per socket count; each is awaited on every socket before the next.
const ROUNDS: usize = 20;
/// Handshakes in flight at once while opening the sockets.
const OPENING: usize = 200;
const ROLE: &str = "POLLING_FANOUT_SERVER";

fn main() {
    // `cargo bench` passes `--bench`; any other run (such as `cargo test
    // --benches`) only checks that the bench starts.
    if std::env::var_os(ROLE).is_some() {
        return serve();
    }
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    println!("live results fan-out: one vote until every socket holds it");
    // POLLING_FANOUT_SOCKETS=10000 measures one count only (for profiling).
    let counts: Vec<usize> = match std::env::var("POLLING_FANOUT_SOCKETS") {
        Ok(n) => vec![n.parse().expect("POLLING_FANOUT_SOCKETS is a number")],
        Err(_) => SOCKET_COUNTS.to_vec(),
    };
    let mut baseline = None;
    for sockets in counts {
        let p50 = rt.block_on(measure(sockets));
        match baseline {
            None => baseline = Some(p50),
            Some(one) => println!(
                "        {sockets} sockets take {:.1}x the time of one socket (p50 {p50:.2?} vs {one:.2?})",
                p50.as_secs_f64() / one.as_secs_f64().max(f64::MIN_POSITIVE)
            ),
        }
    }
    println!(
        "targets: 10000 sockets updated in < 50 ms p50; <= 3 KiB per idle socket; 10000 \
         sockets opened in < 2 s with no vote meanwhile past 100 ms; >= 100000 deliveries/s \
         per core (8x Centrifugo's 12,500)"
    );
}

/// The child: the reference server, in process memory, on a free port.
fn serve() {
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(async {
        let listener =
            polling_server::bind("127.0.0.1:0".parse().expect("an address")).expect("bind");
        println!("{}", listener.local_addr().expect("an address"));
        // Every bench socket comes from 127.0.0.1: one client as the server sees it.
        let app = polling_server::App::builder()
            .max_sockets(100_000)
            .max_sockets_per_client(100_000)
            .build();
        polling_server::run(listener, app, std::future::pending()).await;
    });
}

/// The server child process, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start() -> Self {
        let mut child = Command::new(std::env::current_exe().expect("this bench's path"))
            .env(ROLE, "1")
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the server child");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("its address");
        let addr = line.trim().parse().expect("an address line");
        Self { child, addr }
    }

    /// The child's resident memory, in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the child's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a VmRSS line")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 POST with a JSON body; returns the response body.
async fn post(addr: SocketAddr, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("receive");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 201"), "{head}");
    body.to_owned()
}

/// The machine's cores, which the server and this client share.
fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

/// Votes in a poll of their own, one after another every 10 ms, while
/// `going`; returns how many and the slowest one's round trip.
async fn vote_during(
    addr: SocketAddr,
    going: Arc<std::sync::atomic::AtomicBool>,
) -> (usize, Duration) {
    let draft = r#"{"question":"Meanwhile?","options":["a","b"]}"#;
    let poll: serde_json::Value =
        serde_json::from_str(&post(addr, "/api/polls", draft).await).expect("a poll");
    let path = format!("/api/polls/{}/votes", poll["id"].as_str().expect("an id"));
    let (mut count, mut slowest) = (0, Duration::ZERO);
    while going.load(Ordering::Acquire) {
        let started = Instant::now();
        post(addr, &path, r#"{"choices":[1]}"#).await;
        slowest = slowest.max(started.elapsed());
        count += 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (count, slowest)
}

/// What the socket tasks report: how many hold each version.
struct Tally {
    holding: Vec<AtomicUsize>,
    all: usize,
    done: Notify,
}

/// Opens `sockets` sockets, casts [`ROUNDS`] votes and prints the figures;
/// returns the median time from a vote until every socket held it.
async fn measure(sockets: usize) -> Duration {
    let server = Server::start();
    let addr = server.addr;
    let ranked = std::env::var("POLLING_FANOUT_METHOD").is_ok_and(|m| m == "ranked");
    let draft = if ranked {
        r#"{"question":"Fan-out?","options":["a","b","c","d","e"],"method":"ranked"}"#
    } else {
        r#"{"question":"Fan-out?","options":["a","b"]}"#
    };
    let poll: serde_json::Value =
        serde_json::from_str(&post(addr, "/api/polls", draft).await).expect("a poll");
    let id = poll["id"].as_str().expect("an id").to_owned();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = server.rss_kib();

    let tally = Arc::new(Tally {
        holding: (0..=ROUNDS).map(|_| AtomicUsize::new(0)).collect(),
        all: sockets,
        done: Notify::new(),
    });
    let path = format!("/api/polls/{id}/live");
    // Votes go on in another poll while the sockets open (a reconnect
    // storm): how long the slowest of them waited.
    let storm = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let storm_votes = tokio::spawn(vote_during(addr, Arc::clone(&storm)));
    let opened = Instant::now();
    let mut tasks = Vec::with_capacity(sockets);
    for batch in (0..sockets).collect::<Vec<_>>().chunks(OPENING) {
        let handshakes = batch.iter().map(|_| open(addr, &path));
        for socket in futures_util::future::join_all(handshakes).await {
            tasks.push(tokio::spawn(listen(socket, tally.clone())));
        }
    }
    wait_for(&tally, 0).await;
    let open_time = opened.elapsed();
    storm.store(false, Ordering::Release);
    let (storm_count, storm_max) = storm_votes.await.expect("the storm's votes");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_open = server.rss_kib();

    println!(
        "  ({sockets} sockets open; server pid {})",
        server.child.id()
    );
    let mut times = Vec::with_capacity(ROUNDS);
    for round in 1..=ROUNDS {
        let started = Instant::now();
        let ballot = if ranked {
            // Rankings that keep the runoff going for several rounds.
            let ranking = [[0, 1, 2], [1, 2, 0], [2, 3, 4], [3, 4, 1], [4, 0, 3]][round % 5];
            format!(r#"{{"ranking":{ranking:?}}}"#)
        } else {
            r#"{"choices":[0]}"#.to_owned()
        };
        post(addr, &format!("/api/polls/{id}/votes"), &ballot).await;
        wait_for(&tally, round).await;
        times.push(started.elapsed());
    }
    times.sort();
    let per_socket = (rss_open.saturating_sub(rss_before)) as f64 / sockets as f64;
    println!(
        "{sockets:>6} sockets: opened in {open_time:.2?} ({:.0} handshakes/s; the slowest of \
         {storm_count} votes meanwhile took {storm_max:.2?}); vote to all sockets p50 {:.2?}, \
         max {:.2?} over {ROUNDS} votes, {:.0} deliveries/s ({:.0} per core); server RSS {rss_before} KiB -> \
         {rss_open} KiB, {per_socket:.2} KiB per idle socket",
        sockets as f64 / open_time.as_secs_f64(),
        times[times.len() / 2],
        times[times.len() - 1],
        sockets as f64 / times[times.len() / 2].as_secs_f64(),
        sockets as f64 / times[times.len() / 2].as_secs_f64() / cores(),
    );
    for task in tasks {
        task.abort();
    }
    times[times.len() / 2]
}

/// Opens a WebSocket to `path`: the handshake, with the response's head read
/// and checked; returns the socket and the bytes read past the head (the
/// first frames may come in the same segment).
async fn open(addr: SocketAddr, path: &str) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .expect("send the handshake");
    // Read in chunks, not a byte per read: ten thousand handshakes of a
    // byte-at-a-time client cost the machine over a million syscalls, and
    // the client shares the cores with the server it measures.
    let mut head = Vec::with_capacity(256);
    let end = loop {
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let mut chunk = [0u8; 512];
        let n = stream
            .read(&mut chunk)
            .await
            .expect("the handshake's answer");
        assert!(n > 0, "the server closed during the handshake");
        head.extend_from_slice(&chunk[..n]);
    };
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    (stream, head.split_off(end))
}

/// Reads one socket's frames, counting the versions it holds and answering
/// pings (with the masked pong a client must send).
async fn listen((mut socket, mut buffer): (TcpStream, Vec<u8>), tally: Arc<Tally>) {
    buffer.reserve(1024);
    let mut chunk = [0u8; 4096];
    loop {
        while let Some((opcode, payload, used)) = frame(&buffer) {
            match opcode {
                0x1 => {
                    let text = String::from_utf8_lossy(payload);
                    if let Some(holding) =
                        version_of(&text).and_then(|v| tally.holding.get(v as usize))
                    {
                        if holding.fetch_add(1, Ordering::AcqRel) + 1 == tally.all {
                            tally.done.notify_waiters();
                        }
                    }
                }
                0x9 => {
                    let mut pong = vec![0x8A, 0x80 | payload.len() as u8, 0, 0, 0, 0];
                    pong.extend_from_slice(payload); // masked with a zero key
                    if socket.write_all(&pong).await.is_err() {
                        return;
                    }
                }
                0x8 => return,
                _ => {}
            }
            buffer.drain(..used);
        }
        let Ok(n @ 1..) = socket.read(&mut chunk).await else {
            return;
        };
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// The first complete unmasked frame in `buffer`: opcode, payload, and the
/// bytes it takes; `None` until a whole frame is there.
fn frame(buffer: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (&first, &second) = (buffer.first()?, buffer.get(1)?);
    let (len, header) = match second & 0x7F {
        126 => (
            u16::from_be_bytes([*buffer.get(2)?, *buffer.get(3)?]) as usize,
            4,
        ),
        127 => return None, // results messages are far smaller
        len => (len as usize, 2),
    };
    let payload = buffer.get(header..header + len)?;
    Some((first & 0x0F, payload, header + len))
}

/// The `"version":N` of a results message.
fn version_of(message: &str) -> Option<u64> {
    let rest = &message[message.find("\"version\":")? + "\"version\":".len()..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// Waits until every socket holds `version`.
async fn wait_for(tally: &Tally, version: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tally.holding[version].load(Ordering::Acquire) < tally.all {
        let notified = tally.done.notified();
        if tally.holding[version].load(Ordering::Acquire) >= tally.all {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sockets missing version {version}"
        );
        let _ = tokio::time::timeout(Duration::from_millis(5), notified).await;
    }
}
