//! The dashboard as a person uses it, in a real headless Chromium driven over WebDriver
//! (Debian's `chromium` + `chromium-driver`, installed by `scripts/test.sh`): log in, watch
//! the Mesh page update live, open a sensor and see its waterfall drawn, hide the page and
//! see the sensor's attention drop, create a room, filter the events. With `FIELDMESH_SCREENSHOTS=DIR` it also saves a
//! screenshot of each page there (how `docs/screenshots/` was made).

use crate::common;

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// `chromedriver` on a free port; killed when dropped.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Driver {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian package chromium-driver; scripts/test.sh installs it)");
    let t0 = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "chromedriver never listened"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Driver(child, port)
}

async fn browser(port: u16) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--hide-scrollbars"],
        }
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session")
}

/// Evaluates `expr` in the page until `ok` holds for its value (or panics after `secs`).
async fn wait_js(c: &Client, expr: &str, secs: u64, ok: impl Fn(&Value) -> bool) -> Value {
    let t0 = Instant::now();
    loop {
        let v = c
            .execute(&format!("return {expr};"), vec![])
            .await
            .unwrap_or(Value::Null);
        if ok(&v) {
            return v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(secs),
            "{expr} never held; last {v}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// sdr-1's attention level as the node's API reports it.
fn attention(http: &str) -> String {
    let (_, body) = get(&format!("http://{http}/api/v1/sensors"));
    let v: Value = serde_json::from_str(&body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "sdr-1")
        .map(|s| s["attention"].as_str().unwrap_or("none").to_string())
        .unwrap_or_default()
}

/// Clicks the element at `css`.
async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits until the page's socket is open.
async fn connected(c: &Client, secs: u64) {
    wait_js(
        c,
        "window.fieldmesh && window.fieldmesh.connected",
        secs,
        |v| v == &json!(true),
    )
    .await;
}

async fn shot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("FIELDMESH_SCREENSHOTS") {
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_logs_in_watches_the_mesh_opens_a_sensor_and_hides_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        r#"room = "ward-1"
[[rooms]]
id = "ward-1"
name = "Ward 1"
[[sensors]]
id = "sdr-1"
kind = "sdr"
room = "ward-1"
seed = 4
[sensors.rf]
sample_rate_hz = 2400000
center_freq_hz = 433920000
[power]
source = "simulated"
start_pct = 64
drain_pct_per_hour = 0
"#,
    );
    let data = dir.path().join("data");
    // The node's log goes to a file (a pipe nobody reads would fill and stall it).
    let log = std::fs::File::create(dir.path().join("node.log")).unwrap();
    let mut node = bin()
        .args(["node", "--config"])
        .arg(&config)
        .args(["--log-format", "json"])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let http = wait_for_node(&data, &mut node);
    let mut add = bin()
        .args(["users", "add", "ada", "--data-dir"])
        .arg(&data)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(b"correct horse battery\n")
        .unwrap();
    assert!(add.wait().unwrap().success());

    let driver = chromedriver();
    let c = browser(driver.1).await;
    let base = format!("http://{http}");

    // Not logged in: the dashboard sends the browser to the login form.
    c.goto(&format!("{base}/")).await.unwrap();
    let user = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("input[name=username]"))
        .await
        .expect("the login form");
    user.send_keys("ada").await.unwrap();
    let pw = c.find(Locator::Css("input[name=password]")).await.unwrap();
    pw.send_keys("correct horse battery").await.unwrap();
    click(&c, "form button").await;

    // The Mesh page, live: connected, and regions patched as heartbeats arrive.
    connected(&c, 15).await;
    // Regions are replaced as patches arrive, so read them through the page, not handles.
    let title = "document.querySelector('[data-region=nodes] .card h3').textContent";
    wait_js(&c, title, 5, |v| {
        v.as_str().is_some_and(|t| t.contains("test"))
    })
    .await;
    let heartbeat = "document.querySelector('[data-region=nodes] time[data-ts]').dataset.ts";
    let hb_before = wait_js(&c, heartbeat, 5, Value::is_string).await;
    // The battery the heartbeat reports, as a gauge.
    let battery = "document.querySelector('[data-region=nodes] meter.battery').value";
    wait_js(&c, battery, 5, |v| v.as_f64() == Some(64.0)).await;
    let before = wait_js(&c, "window.fieldmesh.patches", 5, Value::is_number).await;
    wait_js(&c, "window.fieldmesh.patches", 10, |v| {
        v.as_u64() > before.as_u64().map(|b| b + 2)
    })
    .await;
    let hb_after = wait_js(&c, heartbeat, 5, Value::is_string).await;
    assert_ne!(
        hb_before, hb_after,
        "the heartbeat shown moved on without a reload"
    );
    shot(&c, "mesh").await;

    // A sensor: its waterfall canvas fills with rows, and looking at it raises attention.
    c.goto(&format!("{base}/sensors/sdr-1")).await.unwrap();
    wait_js(&c, "window.fieldmesh && window.fieldmesh.rows", 20, |v| {
        v.as_u64() > Some(40)
    })
    .await;
    let painted = c
        .execute(
            r#"const c = document.querySelector('canvas.waterfall');
               const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
               let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] + d[i+1] + d[i+2] > 30) n++;
               return n / (c.width * c.height);"#,
            vec![],
        )
        .await
        .unwrap();
    assert!(
        painted.as_f64().unwrap() > 0.05,
        "share of non-background pixels: {painted}"
    );
    let t0 = Instant::now();
    while !["medium", "high"].contains(&attention(&http).as_str()) {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "attention never rose: {}",
            attention(&http)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    wait_js(
        &c,
        "document.getElementById('attention-level').textContent",
        5,
        |v| v == "medium" || v == "high",
    )
    .await;
    if std::env::var("FIELDMESH_SCREENSHOTS").is_ok() {
        // A fuller waterfall for the picture.
        wait_js(&c, "window.fieldmesh.rows", 30, |v| v.as_u64() > Some(300)).await;
    }
    shot(&c, "sensor").await;

    // Hide the page (another tab in front): the viewer's level drops to none within a second
    // or so, and with nobody else looking, the sensor's attention goes to none.
    let original = c.window().await.unwrap();
    let tab = c.new_window(true).await.unwrap();
    c.switch_to_window(tab.handle).await.unwrap();
    c.goto("about:blank").await.unwrap();
    let t0 = Instant::now();
    while attention(&http) != "none" {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "attention stayed {} with the page hidden",
            attention(&http)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    c.close_window().await.unwrap();
    c.switch_to_window(original).await.unwrap();

    // Rooms: create one from the form; the page lists it without a reload.
    c.goto(&format!("{base}/rooms")).await.unwrap();
    connected(&c, 10).await;
    let id = c
        .find(Locator::Css(
            "form[data-live-submit='rooms.create'] input[name=id]",
        ))
        .await
        .unwrap();
    id.send_keys("night-shift").await.unwrap();
    click(&c, "form[data-live-submit='rooms.create'] button").await;
    wait_js(
        &c,
        "document.querySelector('[data-region=rooms]').textContent",
        10,
        |v| v.as_str().is_some_and(|t| t.contains("night-shift")),
    )
    .await;
    wait_js(
        &c,
        "document.getElementById('toasts').textContent",
        5,
        |v| v.as_str().is_some_and(|t| t.contains("kept here now")),
    )
    .await;

    for page in ["rooms", "artifacts", "events"] {
        c.goto(&format!("{base}/{page}")).await.unwrap();
        connected(&c, 10).await;
        shot(&c, page).await;
    }
    // The Events page filters on the server: choose a kind, and only that kind is listed.
    // A patch may replace the form between finding and choosing (a stale element): again.
    let mut chosen = Err(None);
    for _ in 0..10 {
        chosen = match c.find(Locator::Css("select[name=kind]")).await {
            Ok(kind) => kind.select_by_value("heartbeat").await.map_err(Some),
            Err(e) => Err(Some(e)),
        };
        if chosen.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    chosen.expect("the kind filter could not be chosen");
    click(&c, "form.filter button").await;
    wait_js(
        &c,
        "[...document.querySelectorAll('table.events tr td:nth-child(2)')].map(t => t.textContent)",
        10,
        |v| {
            v.as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(|k| k == "heartbeat"))
        },
    )
    .await;
    wait_js(&c, "location.search", 5, |v| v == "?kind=heartbeat").await;

    c.close().await.unwrap();
    terminate(&node);
    let exited = wait_exit(&mut node, Duration::from_secs(10));
    let log = std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default();
    if exited.is_none() {
        let _ = node.kill();
    }
    assert!(
        exited.is_some(),
        "the node did not stop; its log ends:\n{}",
        &log[log.len().saturating_sub(3000)..]
    );
}
