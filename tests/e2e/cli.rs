//! The CLI contract: `demo --duration` stops cleanly and leaves events that `events --json`
//! lists; `events` asks a running node; SIGTERM drains and exits 0 quickly; bad flags exit 2.

use crate::common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn demo_runs_for_its_duration_and_its_events_can_be_listed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let t0 = Instant::now();
    let out = bin()
        .args(["demo", "--duration", "5", "--data-dir"])
        .arg(&data)
        .env("FIELDMESH_UI__PORT", "0")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It stops by itself (the bound is loose: a debug build of four nodes with three SDR
    // pipelines on a loaded 2-core machine takes a while to drain; this is not a timing test).
    assert!(t0.elapsed() < Duration::from_secs(120));
    assert!(
        stdout.contains("http://127.0.0.1:"),
        "prints where to look: {stdout}"
    );
    assert!(
        stdout.contains("events stored"),
        "prints a live summary: {stdout}"
    );
    assert!(
        !data.join("node.json").exists(),
        "node.json is removed on clean exit"
    );

    let out = bin()
        .args(["events", "--json", "--limit", "100000", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let events = json_lines(&out.stdout);
    assert!(events.len() >= 10, "only {} events", events.len());
    for e in &events {
        for field in ["id", "origin", "sensor", "seq", "ts_us", "kind", "payload"] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
    }
    let kinds: BTreeSet<&str> = events.iter().filter_map(|e| e["kind"].as_str()).collect();
    for k in ["heartbeat", "measurement_batch", "sensor_profile_updated"] {
        assert!(kinds.contains(k), "no {k} in {kinds:?}");
    }
    // The demo is a mesh: the dev node (it has imu-1) and three peers joined by ticket.
    let main_origin = events
        .iter()
        .find(|e| e["sensor"] == "imu-1")
        .map(|e| e["origin"].clone())
        .expect("the dev node's sensors report");
    let origins: BTreeSet<String> = events
        .iter()
        .filter_map(|e| e["origin"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        origins.len(),
        4,
        "the dev node and its three peers: {origins:?}"
    );
    let mut seqs: Vec<u64> = events
        .iter()
        .filter(|e| e["origin"] == main_origin)
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    seqs.sort();
    // Two runs: replicated events from 1, local-only ones (measurement batches) from 2^63 + 1.
    let local_base = 1u64 << 63;
    let (replicated, local): (Vec<u64>, Vec<u64>) = seqs.iter().partition(|s| **s < local_base);
    assert_eq!(
        replicated,
        (1..=replicated.len() as u64).collect::<Vec<_>>(),
        "the node's own replicated events: a contiguous sequence"
    );
    assert_eq!(
        local,
        (local_base + 1..=local_base + local.len() as u64).collect::<Vec<_>>(),
        "the node's own local-only events: a contiguous sequence"
    );
    assert!(
        events
            .iter()
            .filter(|e| e["kind"] == "measurement_batch")
            .all(|e| e["origin"] == main_origin),
        "measurement batches stay on the dev node"
    );

    let out = bin()
        .args([
            "events",
            "--kind",
            "heartbeat",
            "--limit",
            "2",
            "--json",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let hb = json_lines(&out.stdout);
    assert_eq!(hb.len(), 2);
    assert!(hb.iter().all(|e| e["kind"] == "heartbeat"));
    let out = bin()
        .args(["events", "--sensor", "imu-1", "--json", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        json_lines(&out.stdout)
            .iter()
            .all(|e| e["sensor"] == "imu-1")
    );
}

#[test]
fn events_asks_a_running_node_and_sigterm_stops_it_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let data = dir.path().join("data");
    let mut child = spawn_node(&config);
    let addr = wait_for_node(&data, &mut child);
    assert!(
        !addr.ends_with(":0"),
        "port 0 resolved to a real port: {addr}"
    );
    let (status, body) = get(&format!("http://{addr}/healthz"));
    assert_eq!((status, body.as_str()), (200, "ok"));

    std::thread::sleep(Duration::from_millis(800));
    let out = bin()
        .args([
            "events",
            "--json",
            "--kind",
            "measurement_batch",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live = json_lines(&out.stdout);
    assert!(
        !live.is_empty(),
        "the running node answered with its events"
    );

    let (status, body) = get(&format!("http://{addr}/api/v1/events?kind=nope"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown event kind"));

    let t0 = Instant::now();
    terminate(&child);
    let status =
        wait_exit(&mut child, Duration::from_secs(5)).expect("exits within 5 s of SIGTERM");
    assert!(status.success(), "clean exit: {status}");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert!(!data.join("node.json").exists());

    // Nothing the running node showed was lost by the shutdown.
    let out = bin()
        .args([
            "events",
            "--json",
            "--kind",
            "measurement_batch",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let after: BTreeSet<String> = json_lines(&out.stdout)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        live.iter()
            .all(|e| after.contains(e["id"].as_str().unwrap()))
    );
}

#[test]
fn bad_events_flags_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["events", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no store there");
    let out = bin()
        .args(["demo", "--duration", "1", "--data-dir"])
        .arg(dir.path())
        .env("FIELDMESH_UI__PORT", "0")
        .output()
        .unwrap();
    assert!(out.status.success());
    for args in [
        ["--since", "yesterday"],
        ["--kind", "nope"],
        ["--origin", "xyz"],
    ] {
        let out = bin()
            .args(["events", "--data-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
}
