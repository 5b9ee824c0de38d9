//! Load benchmark of the dashboard (a bench binary, not a timed test): N viewer sockets on
//! one node's Mesh page, over loopback, against a node running as its own process.
//!
//! The node heartbeats every 250 ms; each heartbeat changes its card, so every viewer gets a
//! patch per heartbeat (plus the once-a-second refresh). Update latency = when the viewer
//! holds the patch − when the node saw the change (the `at` each patch carries; one clock,
//! one machine). Server CPU and memory come from `/proc/<pid>`. The node's data dir is on
//! tmpfs (`/dev/shm`) where there is one, so disk syncs do not mix into the numbers.
//!
//! The viewers are plain sockets with a minimal frame parser rather than a full WebSocket
//! client: they stand in for browsers on other machines, so they should cost the shared
//! cores as little as possible.
//!
//! Beside each row, the machine's floor for the same fan-out (`fanout_floor.rs`: plain
//! `write(2)` of one message per socket per burst, nothing else), measured in the same run.
//!
//! `cargo bench --bench viewers [-- --viewers 1,1000,10000 --secs 10]`

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "viewers/fanout_floor.rs"]
mod fanout_floor;

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Raises this process's open-file limit to its hard limit (the node inherits it).
fn raise_fd_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid resource and a pointer to a live struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    lim.rlim_cur
}

/// The node's CPU seconds so far (user + system) and resident memory, MB.
fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // SAFETY: sysconf with a valid name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = (ticks(11) + ticks(12)) / hz;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, rss_kb / 1024.0)
}

struct Node {
    child: Child,
    http: String,
    token: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(dir: &Path) -> Node {
    let bin = env!("CARGO_BIN_EXE_fieldmesh");
    let config = dir.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "role = \"edge\"\nnode_name = \"bench\"\ndata_dir = \"{}\"\n[ui]\nport = 0\n\
             [heartbeat]\ninterval_ms = 250\n[mesh]\nenabled = false\n[log]\nlevel = \"warn\"\n",
            dir.join("data").display()
        ),
    )
    .expect("config");
    let child = Command::new(bin)
        .args(["node", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("fieldmesh node");
    let t0 = Instant::now();
    let http = loop {
        if let Ok(b) = std::fs::read(dir.join("data/node.json"))
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b)
        {
            break v["http_addr"].as_str().unwrap_or_default().to_string();
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "node never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = Command::new(bin)
        .args(["token", "--data-dir"])
        .arg(dir.join("data"))
        .output()
        .expect("fieldmesh token");
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Node { child, http, token }
}

/// `"at":<µs>` of a patch, without parsing the whole message.
fn at_of(text: &str) -> Option<u64> {
    if !text.starts_with("{\"t\":\"patch\"") && !text.contains("\"t\":\"patch\"") {
        return None;
    }
    let i = text.find("\"at\":")? + 5;
    let digits: String = text[i..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The first whole frame in `buf`: (opcode, payload range, frame length). Server frames
/// are never masked.
fn frame(buf: &[u8]) -> Option<(u8, std::ops::Range<usize>, usize)> {
    let (&b0, &b1) = (buf.first()?, buf.get(1)?);
    let (len, head) = match b1 & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    (buf.len() >= head + len).then_some((b0 & 0x0f, head..head + len, head + len))
}

/// One viewer, as cheap as a client can be (a plain socket and a frame parser, so the
/// machine's cores go to the node): upgrades, then records the latency of every patch
/// while `measuring`, into `out` (read after the task is stopped).
async fn viewer(
    addr: std::net::SocketAddr,
    path: String,
    measuring: Arc<AtomicBool>,
    out: Arc<Mutex<Vec<u32>>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    if s.write_all(req.as_bytes()).await.is_err() {
        return;
    }
    let mut buf = Vec::with_capacity(16 * 1024);
    loop {
        match s.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if !buf.starts_with(b"HTTP/1.1 101") {
                return;
            }
            buf.drain(..i + 4);
            break;
        }
    }
    loop {
        while let Some((opcode, payload, len)) = frame(&buf) {
            if opcode == 8 {
                return;
            }
            if opcode == 1
                && measuring.load(Ordering::Relaxed)
                && let Ok(text) = std::str::from_utf8(&buf[payload])
                && let Some(at) = at_of(text)
            {
                let us = now_us().saturating_sub(at).min(u32::MAX as u64) as u32;
                out.lock().unwrap_or_else(|p| p.into_inner()).push(us);
            }
            buf.drain(..len);
        }
        match s.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

struct Row {
    viewers: usize,
    connected: usize,
    updates_per_s: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
    cpu_pct: f64,
    rss_mb: f64,
    client_cpu_pct: f64,
}

fn pct(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

async fn run(node: &Node, n: usize, secs: u64) -> Row {
    let addr: std::net::SocketAddr = node.http.parse().expect("node address");
    let path = format!("/live?access_token={}", node.token);
    let measuring = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::with_capacity(n);
    let mut outs = Vec::with_capacity(n);
    // Open in waves so the accept queue is not flooded.
    for chunk in 0..n.div_ceil(250) {
        for _ in 0..250.min(n - chunk * 250) {
            let out = Arc::new(Mutex::new(Vec::new()));
            outs.push(out.clone());
            tasks.push(tokio::spawn(viewer(
                addr,
                path.clone(),
                measuring.clone(),
                out,
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let every socket get its first page, then measure.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, _) = usage(node.child.id());
    let (me0, _) = usage(std::process::id());
    let t0 = Instant::now();
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(secs)).await;
    measuring.store(false, Ordering::Relaxed);
    let wall = t0.elapsed().as_secs_f64();
    let (cpu1, rss) = usage(node.child.id());
    let (me1, _) = usage(std::process::id());
    for t in &tasks {
        t.abort();
    }
    let mut all = Vec::new();
    let mut connected = 0;
    for (t, out) in tasks.into_iter().zip(outs) {
        let _ = t.await;
        let v = std::mem::take(&mut *out.lock().unwrap_or_else(|p| p.into_inner()));
        connected += usize::from(!v.is_empty());
        all.extend(v);
    }
    all.sort_unstable();
    // Let the node close the sockets before the next round.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Row {
        viewers: n,
        connected,
        updates_per_s: all.len() as f64 / wall,
        p50: pct(&all, 0.50),
        p95: pct(&all, 0.95),
        p99: pct(&all, 0.99),
        max: all.last().map_or(f64::NAN, |v| f64::from(*v) / 1000.0),
        cpu_pct: 100.0 * (cpu1 - cpu0) / wall,
        rss_mb: rss,
        client_cpu_pct: 100.0 * (me1 - me0) / wall,
    }
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let counts: Vec<usize> = arg("--viewers")
        .unwrap_or_else(|| "1,1000,10000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let secs: u64 = arg("--secs").and_then(|s| s.parse().ok()).unwrap_or(10);
    let fds = raise_fd_limit();
    if let Some(n) = arg("--floor-serve").and_then(|v| v.parse().ok()) {
        fanout_floor::serve(n, secs);
        return;
    }
    let shm = Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("temp dir");
    let node = start_node(dir.path());
    // One core for the viewers' side, the rest for the node.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "dashboard load: Mesh page, heartbeat every 250 ms, {secs} s measured per row, open-file limit {fds}"
    );
    let mut rows = Vec::new();
    for n in counts {
        let row = rt.block_on(run(&node, n, secs));
        rows.push(row);
    }
    drop(node);
    // The floor of each fan-out, with the node stopped so it has the machine to itself.
    let floors: Vec<Vec<u32>> = rows
        .iter()
        .map(|r| fanout_floor::measure(r.viewers, secs))
        .collect();
    let base = rows.first().map_or(f64::NAN, |r| r.p95);
    println!(
        "| viewers | receiving | patches/s delivered | p50 ms | p95 ms | p99 ms | max ms | p95 vs {} viewer(s) | node CPU % | node RSS MB | viewers' CPU % | floor p50 / p95 / p99 ms | p95 / floor p95 |",
        rows.first().map_or(0, |r| r.viewers)
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (r, floor) in rows.iter().zip(&floors) {
        let f95 = pct(floor, 0.95);
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1}× | {:.0} | {:.0} | {:.0} | {:.1} / {:.1} / {:.1} | {:.2}× |",
            r.viewers,
            r.connected,
            r.updates_per_s,
            r.p50,
            r.p95,
            r.p99,
            r.max,
            r.p95 / base,
            r.cpu_pct,
            r.rss_mb,
            r.client_cpu_pct,
            pct(floor, 0.50),
            f95,
            pct(floor, 0.99),
            r.p95 / f95
        );
    }
}
