//! Clip uploads: `POST /api/v1/captures` answers 202 with an id at once, the clip is
//! analysed in the background and its detections stored; a clip that is not SigMF fails
//! with a reason; the node goes on. A viewer of the dashboard is told of each capture live
//! (`new_capture` notices on its page socket).

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use fieldmesh_actors::dsp::SigmfDatatype;
use fieldmesh_actors::dsp::sigmf::archive_bytes;

fn multipart(file: &[u8]) -> (String, Vec<u8>) {
    let boundary = "fieldmeshboundary7d3a";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"sensor\"\r\n\r\nclip-1\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scene.sigmf\"\r\n\
             Content-Type: application/x-tar\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn upload(addr: &str, file: &[u8]) -> (u16, serde_json::Value) {
    let (ctype, body) = multipart(file);
    let mut r = agent()
        .post(&format!("http://{addr}/api/v1/captures"))
        .header("authorization", &bearer(addr))
        .header("content-type", &ctype)
        .send(&body[..])
        .unwrap();
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::json!({ "raw": text })),
    )
}

fn wait_done(addr: &str, id: &str) -> serde_json::Value {
    let t0 = Instant::now();
    loop {
        let (status, body) = get(&format!("http://{addr}/api/v1/captures/{id}"));
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["status"] == "done" || v["status"] == "failed" {
            return v;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "{v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_uploaded_clip_is_accepted_at_once_and_its_detections_are_stored() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut node = spawn_node(&write_config(root.path(), "[mesh]\nenabled = false\n"));
    let addr = wait_for_node(&data, &mut node);

    let cfg = fieldmesh_actors::dsp::sim::scenario("lfm", 5, 0.5).unwrap();
    let rec = fieldmesh_actors::dsp::sim::simulate(&cfg);
    let clip = archive_bytes("scene", &rec, SigmfDatatype::Ci16Le).unwrap();
    let mut viewer =
        common::ws::connect(&format!("ws://{addr}/live/artifacts"), Some(&bearer(&addr)));
    let t0 = Instant::now();
    let (status, v) = upload(&addr, &clip);
    assert_eq!(status, 202, "{v}");
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "answered before the analysis"
    );
    let id = v["id"].as_str().unwrap().to_string();
    let done = wait_done(&addr, &id);
    assert_eq!(done["status"], "done", "{done}");
    // The viewer saw the capture arrive and finish, without asking.
    let mut seen = Vec::new();
    while seen.last().map(String::as_str) != Some("done") {
        let n = common::ws::next_of(&mut viewer, "notice");
        assert_eq!(n["kind"], "new_capture", "{n}");
        assert_eq!(n["body"]["id"], id.as_str(), "{n}");
        seen.push(n["body"]["status"].as_str().unwrap().to_string());
    }
    assert!(seen.len() >= 2, "more than the final state: {seen:?}");
    let n = done["detections"].as_u64().unwrap();
    assert!(n >= 1, "the simulated emitter is found: {done}");
    let out = bin()
        .args([
            "events",
            "--sensor",
            "clip-1",
            "--kind",
            "candidate_detected",
            "--json",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let stored = String::from_utf8_lossy(&out.stdout).lines().count() as u64;
    assert_eq!(stored, n);

    // Not SigMF: accepted, then failed with a reason. No file field: 400. Unknown id: 404.
    let (status, v) = upload(&addr, b"definitely not a tar archive");
    assert_eq!(status, 202, "{v}");
    let failed = wait_done(&addr, v["id"].as_str().unwrap());
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["reason"].as_str().unwrap().contains("SigMF"),
        "{failed}"
    );
    let (status, body) = get(&format!("http://{addr}/api/v1/captures/nope"));
    assert_eq!(status, 404, "{body}");
    let mut r = agent()
        .post(&format!("http://{addr}/api/v1/captures"))
        .header("authorization", &bearer(&addr))
        .header("content-type", "multipart/form-data; boundary=x")
        .send(&b"--x--\r\n"[..])
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        400,
        "{}",
        r.body_mut().read_to_string().unwrap()
    );
    let (status, _) = get(&format!("http://{addr}/healthz"));
    assert_eq!(status, 200);
    terminate(&node);
    assert!(wait_exit(&mut node, Duration::from_secs(10)).is_some());
}
