//! How the stack runs its processes so that none outlives it (a crate-private
//! `Program` each, stopped with every process it started), and what `/proc`
//! says about processes and listening ports.
//!
//! nginx is the reason: its master forks the workers that hold the
//! listening sockets, and a master killed with SIGKILL leaves them running,
//! reparented and still serving. Stopping a program therefore asks it to stop
//! (SIGTERM: nginx's master then stops its workers), waits, and only then
//! kills what is left, the descendants seen while it ran included.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long a program may take to stop after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// A running process of the stack; stopped (see the module docs) when
/// dropped.
#[derive(Debug)]
pub(crate) struct Program {
    child: Child,
    /// Whether it has been waited for.
    ended: bool,
}

impl Program {
    /// Starts `command`.
    pub(crate) fn spawn(command: &mut Command) -> io::Result<Self> {
        Ok(Self {
            child: command.spawn()?,
            ended: false,
        })
    }

    /// Its process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its process and every living descendant (nginx's workers).
    pub(crate) fn pids(&self) -> BTreeSet<u32> {
        if self.ended {
            return BTreeSet::new();
        }
        let mut pids = descendants(self.pid());
        pids.insert(self.pid());
        pids
    }

    /// Kills it and its descendants with SIGKILL at once: a crash.
    pub(crate) fn kill(&mut self) {
        let family = self.pids();
        signal_all(&family, Signal::SIGKILL);
        self.reap();
    }

    /// Asks it to stop (SIGTERM), waits up to [`STOP_GRACE`], then kills
    /// whatever of it and its descendants is still alive.
    pub(crate) fn stop(&mut self) {
        if self.ended {
            return;
        }
        let family = self.pids();
        signal_all(&[self.pid()].into(), Signal::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            let master_done = matches!(self.child.try_wait(), Ok(Some(_)));
            if master_done && family.iter().all(|&pid| !alive(pid)) {
                self.ended = true;
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_all(&family, Signal::SIGKILL);
        self.reap();
    }

    fn reap(&mut self) {
        let _ = self.child.wait();
        self.ended = true;
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_all(pids: &BTreeSet<u32>, signal: Signal) {
    for &pid in pids {
        if let Ok(pid) = i32::try_from(pid) {
            // Already gone is what we want.
            let _ = kill(Pid::from_raw(pid), signal);
        }
    }
}

/// The living descendants of `pid`, from the parent of each process in
/// `/proc`.
pub fn descendants(pid: u32) -> BTreeSet<u32> {
    let parents: Vec<(u32, u32)> = processes()
        .filter_map(|p| Some((p, parent_of(p)?)))
        .collect();
    let mut found = BTreeSet::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for &(child, _) in parents.iter().filter(|&&(_, p)| p == parent) {
            if found.insert(child) {
                frontier.push(child);
            }
        }
    }
    found
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}

/// Whether something on this machine listens on TCP `port` (any address).
pub fn listening(port: u16) -> bool {
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // local_address is ADDR:PORT in hex; state 0A is LISTEN.
                let local_port = fields
                    .get(1)
                    .and_then(|local| local.rsplit_once(':'))
                    .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
                local_port == Some(port) && fields.get(3) == Some(&"0A")
            })
        })
    })
}

/// How many TCP connections the processes `pids` hold open (ESTABLISHED)
/// to a remote port in `ports`: an nginx's kept-alive upstream connections.
pub fn established_to(pids: &BTreeSet<u32>, ports: &[u16]) -> usize {
    let owned: BTreeSet<String> = pids
        .iter()
        .filter_map(|pid| fs::read_dir(format!("/proc/{pid}/fd")).ok())
        .flatten()
        .filter_map(|fd| fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let target = target.to_str()?;
            Some(
                target
                    .strip_prefix("socket:[")?
                    .strip_suffix(']')?
                    .to_owned(),
            )
        })
        .collect();
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| fs::read_to_string(table).ok())
        .map(|text| {
            text.lines()
                .skip(1)
                .filter(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    // rem_address is ADDR:PORT in hex; state 01 is ESTABLISHED;
                    // the inode is the tenth field.
                    let remote_port = fields
                        .get(2)
                        .and_then(|remote| remote.rsplit_once(':'))
                        .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
                    fields.get(3) == Some(&"01")
                        && remote_port.is_some_and(|port| ports.contains(&port))
                        && fields.get(9).is_some_and(|inode| owned.contains(*inode))
                })
                .count()
        })
        .sum()
}

fn processes() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid).map(|(_, parent)| parent)
}

/// The state and parent pid in `/proc/{pid}/stat` (after the command name,
/// which may hold spaces and parentheses, so read from its last `)`).
fn stat_fields(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let parent = fields.next()?.parse().ok()?;
    Some((state, parent))
}
