//! `/metrics`: open without a login, Prometheus text format that `promtool check metrics`
//! accepts, with the node's counters in it (events per sensor, store latency, queues,
//! viewers, mesh).

use crate::common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;

#[test]
fn metrics_are_prometheus_text_that_promtool_accepts() {
    let root = tempfile::tempdir().unwrap();
    let config = write_config(root.path(), "");
    let mut node = spawn_node(&config);
    let http = wait_for_node(&root.path().join("data"), &mut node);
    // One dashboard page open, and some events stored first.
    let mut view = common::ws::connect(&format!("ws://{http}/live"), Some(&bearer(&http)));
    assert_eq!(common::ws::next(&mut view)["t"], "patch");
    std::thread::sleep(std::time::Duration::from_millis(800));
    let mut r = agent()
        .get(&format!("http://{http}/metrics"))
        .call()
        .unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    assert_eq!(status, 200, "{body}");
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    for needle in [
        "fieldmesh_events_stored_total{sensor=\"hr-1\"}",
        "fieldmesh_store_commit_seconds_bucket{le=\"0.005\"}",
        "fieldmesh_store_commit_seconds_count",
        "fieldmesh_queue_depth{edge=\"hr-1/batcher\"}",
        "fieldmesh_restarts_total 0",
        "fieldmesh_mesh_members 1",
        "fieldmesh_mesh_sync_lag_events 0",
        "fieldmesh_dashboard_views 1",
    ] {
        assert!(body.contains(needle), "no {needle} in\n{body}");
    }
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus; scripts/test.sh installs it)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    terminate(&node);
    assert!(wait_exit(&mut node, std::time::Duration::from_secs(10)).is_some());
}
