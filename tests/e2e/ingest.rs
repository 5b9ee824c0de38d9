//! `/ws/ingest`: a device with an API key announces a sensor, streams measurements that are
//! stored, and is told how to batch whenever a viewer's attention on its sensor changes.
//! No key, a revoked key, malformed frames, unknown sensors, oversized frames and a device
//! over its rate get clear answers; the node goes on.

use crate::common;

use std::time::{Duration, Instant};

use common::ws::{self, Ws, closed_with, next, send};
use common::*;
use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode;

fn connect(addr: &str, key: Option<&str>) -> Ws {
    let auth = key.map(|k| format!("Bearer {k}"));
    ws::connect(&format!("ws://{addr}/ws/ingest"), auth.as_deref())
}

fn key(data: &std::path::Path, device: &str) -> String {
    let out = cli_out(&["keys", "create", device], data);
    out.lines().next().unwrap_or_default().to_string()
}

#[test]
fn a_device_streams_in_and_follows_the_attention_on_its_sensor() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let config = write_config(
        root.path(),
        "[mesh]\nenabled = false\n[ingest]\nmax_msgs_per_s = 50.0\nburst = 30.0\n\
         [[rooms]]\nid = \"ward\"\n",
    );
    let mut node = spawn_node(&config);
    let addr = wait_for_node(&data, &mut node);
    let strap = key(&data, "strap-1");

    // No key, a made-up key: closed with the reason.
    for k in [None, Some("fmk_0123456789abcdef_nope")] {
        let mut ws = connect(&addr, k);
        let (code, reason) = closed_with(&mut ws);
        assert_eq!(code, CloseCode::Policy, "{reason}");
        assert!(reason.contains("device API key"), "{reason}");
    }

    let mut ws = connect(&addr, Some(&strap));
    send(
        &mut ws,
        serde_json::json!({"type": "discovery", "sensor_id": "strap-hr",
        "attributes": {"quantity": "heart_rate", "unit": "bpm"}, "sample_rates": [4.0]}),
    );
    let bp = next(&mut ws);
    assert_eq!(bp["type"], "backpressure_config", "{bp}");
    assert_eq!(bp["attention_level"], "none");
    assert_eq!(bp["recommended_batch_size"], 20);

    // Refused frames get an error each; the connection stays.
    for (bad, why) in [
        (
            serde_json::json!({"type": "measurement", "sensor_id": "other", "ts_us": 1, "value": 1.0}),
            "unknown sensor",
        ),
        (serde_json::json!({"type": "teleport"}), "malformed"),
        (
            serde_json::json!({"type": "measurements_batch", "sensor_id": "strap-hr", "t0_us": 1,
            "sample_rate_hz": 4.0, "values": [1.0, 2.0, 3.0], "channels": 2}),
            "whole number",
        ),
    ] {
        send(&mut ws, bad);
        let e = next(&mut ws);
        assert_eq!(e["type"], "error");
        assert!(e["message"].as_str().unwrap().contains(why), "{e}");
    }
    send(
        &mut ws,
        serde_json::json!({"type": "measurements_batch", "sensor_id": "strap-hr",
        "t0_us": 1_790_000_000_000_000u64, "sample_rate_hz": 4.0, "values": [71.0, 72.0, 73.0, 74.0]}),
    );
    send(
        &mut ws,
        serde_json::json!({"type": "measurement", "sensor_id": "strap-hr",
        "ts_us": 1_790_000_001_000_000u64, "value": 75.0}),
    );

    // A viewer focuses the sensor: the device hears within a second; looking away, too.
    for (level, size) in [("high", 1), ("low", 10)] {
        let t0 = Instant::now();
        let (status, body) = {
            let mut r = agent()
                .post(&format!("http://{addr}/api/v1/rooms/ward/attention"))
                .header("authorization", &bearer(&addr))
                .send_json(serde_json::json!({"sensor": "strap-hr", "viewer": "tab-1",
                    "level": level, "ttl_ms": 30_000}))
                .unwrap();
            (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
            )
        };
        assert_eq!(status, 204, "{body}");
        let bp = next(&mut ws);
        assert_eq!(bp["type"], "backpressure_config", "{bp}");
        assert_eq!(bp["attention_level"], level, "{bp}");
        assert_eq!(bp["recommended_batch_size"], size);
        assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    }

    // What it sent is stored (as local-only measurement batches).
    let out = bin()
        .args([
            "events",
            "--sensor",
            "strap-hr",
            "--kind",
            "measurement_batch",
            "--json",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    let stored: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert_eq!(
        stored[0]["payload"]["values"],
        serde_json::json!([71.0, 72.0, 73.0, 74.0])
    );

    // A frame over 64 KiB closes with 1009; a flood closes with 1013; the node goes on.
    let mut big = connect(&addr, Some(&strap));
    big.send(Message::text("x".repeat(70 * 1024))).unwrap();
    let (code, reason) = closed_with(&mut big);
    assert_eq!(code, CloseCode::Size, "{reason}");
    let mut flood = connect(&addr, Some(&strap));
    let mut code = None;
    for _ in 0..200 {
        if flood.send(Message::text(r#"{"type":"teleport"}"#)).is_err() {
            break;
        }
    }
    while code.is_none() {
        match flood.read() {
            Ok(Message::Close(Some(f))) => code = Some((f.code, f.reason.to_string())),
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
    let (code, reason) = code.unwrap();
    assert_eq!(code, CloseCode::Again, "{reason}");
    assert!(reason.contains("rate"), "{reason}");
    let (status, _) = get(&format!("http://{addr}/healthz"));
    assert_eq!(status, 200);
    let (_, metrics) = get(&format!("http://{addr}/metrics"));
    assert!(
        metrics.contains("fieldmesh_ingest_rate_limited_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("fieldmesh_ingest_unauthorized_total 2"),
        "{metrics}"
    );
    terminate(&node);
    assert!(wait_exit(&mut node, Duration::from_secs(10)).is_some());
}

/// A remote SDR: IQ01 frames as binary messages after a discovery of an ingest-fed SDR
/// sensor; its pipeline finds the emitter in them. A frame before the discovery and a
/// malformed frame are answered with the reason; the connection goes on.
#[test]
fn a_remote_sdr_streams_iq01_frames_into_its_sensors_pipeline() {
    use fieldmesh_actors::dsp::{Iq01Header, encode_iq01};
    let dir = tempfile::tempdir().unwrap();
    let cfg = fieldmesh_actors::dsp::sim::scenario("lfm", 5, 0.5).unwrap();
    let rec = fieldmesh_actors::dsp::sim::simulate(&cfg);
    let extra = format!(
        "[mesh]\nenabled = false\n[[sensors]]\nid = \"sdr-remote\"\nkind = \"sdr\"\n\
         [sensors.rf]\nsample_rate_hz = {}\ncenter_freq_hz = {}\n[sensors.rf.source]\ntype = \"ingest\"\n",
        rec.sample_rate_hz,
        rec.center_freq_hz.unwrap_or(433.92e6)
    );
    let data = dir.path().join("data");
    let mut node = spawn_node(&write_config(dir.path(), &extra));
    let http = wait_for_node(&data, &mut node);
    let k = key(&data, "sdr-box");
    let mut ws = connect(&http, Some(&k));

    let frame = |index: u32, samples: &[fieldmesh_actors::dsp::Complex32]| {
        let header = Iq01Header {
            timestamp_us: 1_700_000_000_000_000,
            frame_index: index,
            sample_count: samples.len() as u32,
            reserved: 0.0,
        };
        Message::binary(encode_iq01(&header, samples))
    };
    ws.send(frame(0, &rec.samples[..16])).unwrap();
    let e = next(&mut ws);
    assert!(e["message"].as_str().unwrap().contains("discovery"), "{e}");
    send(
        &mut ws,
        serde_json::json!({"type": "discovery", "sensor_id": "sdr-remote"}),
    );
    assert_eq!(next(&mut ws)["type"], "backpressure_config");
    ws.send(Message::binary(b"IQ01 and then garbage".to_vec()))
        .unwrap();
    let e = next(&mut ws);
    assert!(
        e["message"].as_str().unwrap().starts_with("IQ01 frame"),
        "{e}"
    );

    // The scene, twice over, in 4096-sample frames (32 KiB messages).
    let mut index = 0;
    for _ in 0..2 {
        for chunk in rec.samples.chunks(4096) {
            ws.send(frame(index, chunk)).unwrap();
            index += 1;
        }
    }
    let t0 = Instant::now();
    loop {
        let (_, body) = get(&format!(
            "http://{http}/api/v1/events?sensor=sdr-remote&kind=candidate_detected&limit=10"
        ));
        let found: serde_json::Value = serde_json::from_str(&body).unwrap();
        if found.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no detection from the streamed IQ: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Still open and answering.
    send(&mut ws, serde_json::json!({"type": "bogus"}));
    assert_eq!(next(&mut ws)["type"], "error");
    terminate(&node);
    assert!(wait_exit(&mut node, Duration::from_secs(10)).is_some());
}
