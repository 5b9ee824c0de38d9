//! Helpers for end-to-end tests that run the `fieldmesh` binary.
#![allow(dead_code)]

pub mod classify;
pub mod ws;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fieldmesh"));
    c.env_remove("RUST_LOG");
    c.env_remove("ORT_DYLIB_PATH");
    for (k, _) in std::env::vars() {
        if k.starts_with("FIELDMESH_") {
            c.env_remove(k);
        }
    }
    c
}

/// A node config with fast sensors, any free port and the given data dir.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("node.toml");
    let text = format!(
        r#"
role = "edge"
node_name = "test"
data_dir = "{data}"
[ui]
port = 0
[heartbeat]
interval_ms = 200
[[sensors]]
id = "hr-1"
kind = "heart_rate"
rate_hz = 200
batch_max_samples = 10
batch_window_ms = 100
{extra}
"#,
        data = dir.join("data").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Starts `fieldmesh node` on `config`.
pub fn spawn_node(config: &Path) -> Child {
    bin()
        .args(["node", "--config"])
        .arg(config)
        .args(["--log-format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `<data>/node.json` and returns its `http_addr`.
pub fn wait_for_node(data: &Path, child: &mut Child) -> String {
    let t0 = Instant::now();
    loop {
        if let Ok(bytes) = std::fs::read(data.join("node.json"))
            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            let addr = v["http_addr"].as_str().unwrap().to_string();
            remember_token(&addr, data);
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("node exited early with {status}: {err}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "node.json never appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the node processes it names when a failing test unwinds past it (a panicking
/// test otherwise leaves them running, eating the CPU of every test after it).
#[derive(Default)]
pub struct Reaper(Vec<u32>);

impl Reaper {
    /// Kills `child` too if the test fails.
    pub fn watch(&mut self, child: &Child) {
        self.0.push(child.id());
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        for pid in &self.0 {
            // SAFETY: kill(2) with a pid we spawned and a valid signal number.
            unsafe {
                libc::kill(*pid as i32, libc::SIGKILL);
            }
        }
    }
}

/// Sends SIGTERM.
pub fn terminate(child: &Child) {
    // SAFETY: kill(2) with a pid we spawned and a valid signal number.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
}

/// Waits for exit up to `timeout`.
pub fn wait_exit(child: &mut Child, timeout: Duration) -> Option<std::process::ExitStatus> {
    let t0 = Instant::now();
    while t0.elapsed() < timeout {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// An HTTP agent that returns non-2xx statuses instead of erroring.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

/// Tokens of the nodes this test started, by HTTP address.
static TOKENS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Mints a token for the node on `data` (`fieldmesh token`) for requests to `addr`.
pub fn remember_token(addr: &str, data: &Path) {
    let token = cli_out(&["token"], data);
    TOKENS.lock().unwrap().push((addr.to_string(), token));
}

/// Runs `fieldmesh ARGS --data-dir DATA`, which must succeed; its stdout, trimmed.
pub fn cli_out(args: &[&str], data: &Path) -> String {
    let out = bin()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `Bearer <token>` for the node at `addr` (or for the node a URL points at).
pub fn bearer(addr_or_url: &str) -> String {
    let tokens = TOKENS.lock().unwrap();
    let t = tokens
        .iter()
        .rev()
        .find(|(a, _)| addr_or_url == a || addr_or_url.contains(&format!("//{a}/")))
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    format!("Bearer {t}")
}

/// GET without credentials, returning (status, body).
pub fn get_anon(url: &str) -> (u16, String) {
    let mut r = agent().get(url).call().unwrap();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (r.status().as_u16(), body)
}

/// GET (logged in) returning (status, body).
pub fn get(url: &str) -> (u16, String) {
    let mut r = agent()
        .get(url)
        .header("authorization", &bearer(url))
        .call()
        .unwrap();
    let body = r
        .body_mut()
        .with_config()
        .limit(512 * 1024 * 1024)
        .read_to_string()
        .unwrap();
    (r.status().as_u16(), body)
}

/// POST (logged in) with an empty body, returning (status, body).
pub fn post(url: &str) -> (u16, String) {
    let mut r = agent()
        .post(url)
        .header("authorization", &bearer(url))
        .send_empty()
        .unwrap();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (r.status().as_u16(), body)
}

/// POST (logged in) with a JSON body, returning (status, body).
pub fn post_json(url: &str, body: serde_json::Value) -> (u16, String) {
    let mut r = agent()
        .post(url)
        .header("authorization", &bearer(url))
        .send_json(body)
        .unwrap();
    let text = r.body_mut().read_to_string().unwrap_or_default();
    (r.status().as_u16(), text)
}
