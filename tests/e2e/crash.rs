//! Crash safety and bad input: a node under write load is killed with SIGKILL; after a
//! restart every event whose append was acknowledged is there. Malformed, mistyped and
//! oversized ingest bodies get clear 4xx answers and the node keeps running.

use crate::common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use fieldmesh_actors::model::{Event, EventDraft, NodeId, Payload, SensorId, encode_batch};

fn peer_event(peer: NodeId, seq: u64) -> Event {
    Event::seal(
        peer,
        seq,
        EventDraft {
            ts_us: 1_790_000_000_000_000 + seq,
            sensor: Some(SensorId::new("remote-1").unwrap()),
            room: None,
            body: Payload::MeasurementBatch {
                quantity: "heart_rate".into(),
                unit: "bpm".into(),
                sample_rate_hz: 1.0,
                t0_us: 0,
                values: vec![seq as f32; 16],
                channels: 1,
            },
        },
    )
}

fn post(addr: &str, body: Vec<u8>, content_type: &str) -> (u16, String) {
    let mut r = agent()
        .post(&format!("http://{addr}/api/v1/events"))
        .header("authorization", &bearer(addr))
        .header("content-type", content_type)
        .send(&body[..])
        .unwrap();
    (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
}

/// Announces a 5 MiB body and sends none of it: the node must refuse from the header alone
/// (a client that streams the body might see the connection close mid-write instead).
fn announce_oversized(addr: &str) -> u16 {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "POST /api/v1/events HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/msgpack\r\ncontent-length: {}\r\n\r\n",
        5 * 1024 * 1024
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let data = dir.path().join("data");
    let mut child = spawn_node(&config);
    let addr = wait_for_node(&data, &mut child);

    let peer = NodeId::from_bytes([0xab; 32]);
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2u64)
        .map(|w| {
            let (addr, acked, stop) = (addr.clone(), acked.clone(), stop.clone());
            let auth = bearer(&addr);
            std::thread::spawn(move || {
                let mut seq = 1 + w * 1_000_000;
                while !stop.load(Ordering::Relaxed) {
                    let batch: Vec<Event> = (seq..seq + 20).map(|s| peer_event(peer, s)).collect();
                    seq += 20;
                    let Ok(mut r) = agent()
                        .post(&format!("http://{addr}/api/v1/events"))
                        .header("authorization", &auth)
                        .header("content-type", "application/msgpack")
                        .send(&encode_batch(&batch).unwrap()[..])
                    else {
                        break; // the node is gone
                    };
                    if r.status() == 200 && r.body_mut().read_to_string().is_ok() {
                        acked
                            .lock()
                            .unwrap()
                            .extend(batch.iter().map(|e| e.id.to_hex()));
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    // The node's own events it has shown us were acknowledged too.
    let (_, own) = get(&format!(
        "http://{addr}/api/v1/events?sensor=hr-1&limit=100000"
    ));
    let own: Vec<serde_json::Value> = serde_json::from_str(&own).unwrap();
    assert!(!own.is_empty());

    child.kill().unwrap(); // SIGKILL, mid-write
    let _ = child.wait();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 100,
        "load was real: {} acknowledged",
        acked.len()
    );

    std::fs::remove_file(data.join("node.json")).ok(); // stale after a kill
    let mut child = spawn_node(&config);
    let addr = wait_for_node(&data, &mut child);
    let (status, body) = get(&format!(
        "http://{addr}/api/v1/events?origin={}&limit=100000",
        peer.to_hex()
    ));
    assert_eq!(status, 200);
    let stored: BTreeSet<String> = serde_json::from_str::<Vec<serde_json::Value>>(&body)
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events lost",
        lost.len(),
        acked.len()
    );
    let (_, body) = get(&format!(
        "http://{addr}/api/v1/events?sensor=hr-1&limit=100000"
    ));
    let own_after: BTreeSet<String> = serde_json::from_str::<Vec<serde_json::Value>>(&body)
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        own.iter()
            .all(|e| own_after.contains(e["id"].as_str().unwrap()))
    );
    terminate(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(5)).is_some_and(|s| s.success()));
}

#[test]
fn bad_ingest_gets_clear_errors_and_the_node_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let data = dir.path().join("data");
    let mut child = spawn_node(&config);
    let addr = wait_for_node(&data, &mut child);
    let peer = NodeId::from_bytes([0xcd; 32]);
    let good = encode_batch(&[peer_event(peer, 1), peer_event(peer, 2)]).unwrap();

    let (status, body) = post(&addr, b"\xc1garbage".to_vec(), "application/msgpack");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("malformed"), "{body}");
    let (status, _) = post(
        &addr,
        good[..good.len() / 2].to_vec(),
        "application/msgpack",
    );
    assert_eq!(status, 400, "truncated");
    let (status, _) = post(&addr, good.clone(), "application/json");
    assert_eq!(status, 415);
    assert_eq!(announce_oversized(&addr), 413, "oversized");
    let mut forged = peer_event(peer, 3);
    forged.seq = 4;
    let (status, body) = post(
        &addr,
        rmp_serde::to_vec_named(&vec![forged]).unwrap(),
        "application/msgpack",
    );
    assert_eq!(status, 400, "id must match origin and seq: {body}");

    let (status, body) = post(&addr, good.clone(), "application/msgpack");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"duplicates":0,"inserted":2}"#)
    );
    let (status, body) = post(&addr, good, "application/msgpack");
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"duplicates":2,"inserted":0}"#),
        "idempotent"
    );

    let t0 = Instant::now();
    let (status, _) = get(&format!("http://{addr}/healthz"));
    assert_eq!(status, 200, "still serving");
    assert!(t0.elapsed() < Duration::from_secs(2));
    terminate(&child);
    assert!(wait_exit(&mut child, Duration::from_secs(5)).is_some_and(|s| s.success()));
}
