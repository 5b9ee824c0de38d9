//! The machine's floor for a fan-out: what one burst of small messages to N loopback TCP
//! sockets costs with nothing but the kernel in the way. A child process (standing where the
//! node stands) accepts N connections and, every 250 ms, writes one timestamped message to
//! each from two threads with plain `write(2)`; this process (standing where the viewers
//! stand) reads them with one epoll thread and records send → receive latency. No WebSocket
//! framing, no runtime, no rendering: any server that sends one message per viewer per
//! update on this machine is at least this slow.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::now_us;

/// Bytes per message (a heartbeat patch of the Mesh page is a few hundred bytes).
pub const MESSAGE_BYTES: usize = 300;
const WRITERS: usize = 2;
const PERIOD: Duration = Duration::from_millis(250);

/// The child's side: accepts `n` connections, prints nothing more than its port first, then
/// bursts for `secs` seconds and exits.
pub fn serve(n: usize, secs: u64) {
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let Ok(addr) = listener.local_addr() else {
        return;
    };
    println!("{}", addr.port());
    let _ = std::io::stdout().flush();
    let mut socks = Vec::with_capacity(n);
    while socks.len() < n {
        match listener.accept() {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                socks.push(s);
            }
            Err(_) => return,
        }
    }
    let start = Instant::now();
    let per = n.div_ceil(WRITERS).max(1);
    let mut threads = Vec::new();
    while !socks.is_empty() {
        let rest = socks.split_off(socks.len().min(per));
        let mut mine = std::mem::replace(&mut socks, rest);
        threads.push(std::thread::spawn(move || {
            let mut msg = vec![b'x'; MESSAGE_BYTES];
            let mut next = start;
            while start.elapsed() < Duration::from_secs(secs) {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
                next += PERIOD;
                msg[..8].copy_from_slice(&now_us().to_le_bytes());
                for s in &mut mine {
                    let _ = s.write_all(&msg);
                }
            }
            mine
        }));
    }
    for t in threads {
        let _ = t.join();
    }
}

/// Latencies (µs, sorted) of every message of a `secs`-second run of the floor with `n`
/// sockets; empty if the child could not be run.
pub fn measure(n: usize, secs: u64) -> Vec<u32> {
    let Ok(exe) = std::env::current_exe() else {
        return Vec::new();
    };
    let Ok(mut child) = Command::new(exe)
        .args(["--floor-serve", &n.to_string(), "--secs", &secs.to_string()])
        .stdout(Stdio::piped())
        .spawn()
    else {
        return Vec::new();
    };
    let port: Option<u16> = child.stdout.take().and_then(|out| {
        let mut line = String::new();
        BufReader::new(out).read_line(&mut line).ok()?;
        line.trim().parse().ok()
    });
    let mut lat = match port {
        Some(port) => read_bursts(port, n, secs),
        None => Vec::new(),
    };
    let _ = child.wait();
    lat.sort_unstable();
    lat
}

fn read_bursts(port: u16, n: usize, secs: u64) -> Vec<u32> {
    let socks: Vec<TcpStream> = (0..n)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    // SAFETY: epoll_create1 with no flags.
    let ep = unsafe { libc::epoll_create1(0) };
    if ep < 0 || socks.len() < n {
        return Vec::new();
    }
    for (i, s) in socks.iter().enumerate() {
        let _ = s.set_nonblocking(true);
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: a valid epoll fd, a live socket fd and a pointer to a live event.
        unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) };
    }
    let mut held = vec![Vec::<u8>::new(); n];
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    let mut buf = vec![0u8; 64 * 1024];
    let mut lat = Vec::new();
    let end = Instant::now() + Duration::from_secs(secs + 1);
    while Instant::now() < end {
        // SAFETY: `events` is a live buffer of the length passed.
        let k = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, 100) };
        for e in events.iter().take(k.max(0) as usize) {
            let i = e.u64 as usize;
            let (mut s, pending) = (&socks[i], &mut held[i]);
            while let Ok(got) = s.read(&mut buf) {
                if got == 0 {
                    break;
                }
                pending.extend_from_slice(&buf[..got]);
                let whole = pending.len() / MESSAGE_BYTES * MESSAGE_BYTES;
                for m in pending[..whole].chunks_exact(MESSAGE_BYTES) {
                    let mut at = [0u8; 8];
                    at.copy_from_slice(&m[..8]);
                    let us = now_us().saturating_sub(u64::from_le_bytes(at));
                    lat.push(us.min(u64::from(u32::MAX)) as u32);
                }
                pending.drain(..whole);
            }
        }
    }
    // SAFETY: closing the epoll fd this function created.
    unsafe { libc::close(ep) };
    lat
}
