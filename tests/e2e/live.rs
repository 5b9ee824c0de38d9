//! The page socket (`/live/...`) without a browser: a refused socket is closed with 1008 and
//! the reason (no token, a bad token, an unknown page); a logged-in one gets the page's
//! regions, then patches; malformed, oversized and unknown messages get an error back and
//! the socket and node go on; server-side filters change what the Events page lists; a
//! measurement sensor's panel in view gets its samples as binary frames, and only then.

use crate::common;

use common::ws::{self, closed_with, next, next_of, send};
use common::*;
use serde_json::json;
use tungstenite::protocol::frame::coding::CloseCode;

#[test]
fn refused_sockets_say_why_and_a_view_survives_bad_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = spawn_node(&write_config(dir.path(), "[mesh]\nenabled = false\n"));
    let http = wait_for_node(&dir.path().join("data"), &mut node);

    for (url, auth, why) in [
        (format!("ws://{http}/live"), None, "unauthorized: log in"),
        (
            format!("ws://{http}/live/events"),
            Some("Bearer garbage".to_string()),
            "unauthorized: invalid token",
        ),
        (
            format!("ws://{http}/live/nowhere"),
            Some(bearer(&http)),
            "no page",
        ),
        (
            format!("ws://{http}/live/events?kind=bogus"),
            Some(bearer(&http)),
            "kind:",
        ),
    ] {
        let mut s = ws::connect(&url, auth.as_deref());
        let (code, reason) = closed_with(&mut s);
        assert_eq!(code, CloseCode::Policy, "{url}");
        assert!(reason.starts_with(why), "{url}: {reason}");
    }

    let mut s = ws::connect(&format!("ws://{http}/live/events"), Some(&bearer(&http)));
    let first = next(&mut s);
    assert_eq!(first["t"], "patch");
    let regions = first["regions"].as_object().unwrap();
    for r in ["filter", "chart", "list"] {
        assert!(regions.contains_key(r), "region {r} in {first}");
    }
    // Bad input: each gets an error back; the socket stays open.
    s.send(tungstenite::Message::text("{not json")).unwrap();
    assert!(
        next_of(&mut s, "error")["error"]
            .as_str()
            .unwrap()
            .starts_with("malformed message")
    );
    s.send(tungstenite::Message::text(format!(
        r#"{{"t":"in_view","sensors":["{}"]}}"#,
        "x".repeat(20_000)
    )))
    .unwrap();
    assert!(
        next_of(&mut s, "error")["error"]
            .as_str()
            .unwrap()
            .contains("limit")
    );
    send(&mut s, json!({"t": "event", "name": "self.destruct"}));
    assert!(
        next_of(&mut s, "error")["error"]
            .as_str()
            .unwrap()
            .contains("unknown event")
    );
    send(
        &mut s,
        json!({"t": "event", "name": "events.filter", "value": {"kind": "nope"}}),
    );
    assert_eq!(next_of(&mut s, "flash")["level"], "error");
    // A filter the server applies: only heartbeats listed, and the address says so.
    send(
        &mut s,
        json!({"t": "event", "name": "events.filter", "value": {"kind": "heartbeat"}}),
    );
    assert_eq!(
        next_of(&mut s, "location")["href"],
        "/events?kind=heartbeat"
    );
    let page = next_of(&mut s, "patch");
    let list = page["regions"]["list"].as_str().unwrap();
    assert!(list.contains("<td>heartbeat</td>"), "{list}");
    assert!(!list.contains("<td>measurement_batch</td>"), "{list}");
    // Still live: heartbeats come every 200 ms, so patches keep coming.
    let v0 = page["v"].as_u64().unwrap();
    let later = next_of(&mut s, "patch");
    assert!(later["v"].as_u64().unwrap() > v0);
    assert!(later["at"].as_u64().unwrap() > 0);

    // A hidden tab is sent no changes; shown again, it gets the page as it is now at once.
    send(
        &mut s,
        json!({"t": "visibility", "visible": false, "focused": false}),
    );
    // (A patch already on its way may still arrive; after that, silence.)
    let quiet_from = std::time::Instant::now() + std::time::Duration::from_millis(300);
    let timeout = |s: &ws::Ws, ms| {
        if let tungstenite::stream::MaybeTlsStream::Plain(t) = s.get_ref() {
            t.set_read_timeout(Some(std::time::Duration::from_millis(ms)))
                .unwrap();
        }
    };
    timeout(&s, 100);
    while std::time::Instant::now() < quiet_from + std::time::Duration::from_millis(1200) {
        let m = match s.read() {
            Ok(m) => m,
            Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::WouldBlock => {
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        if std::time::Instant::now() > quiet_from && m.is_text() {
            let v: serde_json::Value = serde_json::from_str(m.to_text().unwrap()).unwrap();
            assert_ne!(v["t"], "patch", "a hidden tab got a change: {v}");
        }
    }
    timeout(&s, 10_000);
    send(
        &mut s,
        json!({"t": "visibility", "visible": true, "focused": false}),
    );
    let t0 = std::time::Instant::now();
    let caught_up = next_of(&mut s, "patch");
    assert!(
        t0.elapsed() < std::time::Duration::from_millis(500),
        "{:?}",
        t0.elapsed()
    );
    assert!(
        caught_up["regions"]["list"]
            .as_str()
            .unwrap()
            .contains("<td>heartbeat</td>")
    );

    // The node is fine: its API answers.
    assert_eq!(get(&format!("http://{http}/api/v1/node")).0, 200);
    drop(s);
    terminate(&node);
    assert!(wait_exit(&mut node, std::time::Duration::from_secs(10)).is_some());
}

#[test]
fn a_measurement_panel_in_view_gets_its_samples_as_binary_frames() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = spawn_node(&write_config(dir.path(), "[mesh]\nenabled = false\n"));
    let http = wait_for_node(&dir.path().join("data"), &mut node);
    let mut s = ws::connect(
        &format!("ws://{http}/live/sensors/hr-1"),
        Some(&bearer(&http)),
    );
    assert_eq!(next(&mut s)["t"], "patch");
    // Scrolled away: no samples (patches only) for a while.
    send(&mut s, json!({"t": "in_view", "sensors": []}));
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_millis(700) {
        if let tungstenite::Message::Binary(b) = s.read().unwrap() {
            panic!(
                "a frame for a panel out of view: {:?}",
                &b[..4.min(b.len())]
            );
        }
    }
    send(
        &mut s,
        json!({"t": "visibility", "visible": true, "focused": true}),
    );
    send(&mut s, json!({"t": "in_view", "sensors": ["hr-1"]}));
    let frame = loop {
        if let tungstenite::Message::Binary(b) = s.read().unwrap() {
            break b;
        }
    };
    // 'M', id length, id, then t0 µs, rate, channels, count, values.
    assert_eq!(frame[0], b'M');
    let n = frame[1] as usize;
    assert_eq!(&frame[2..2 + n], b"hr-1");
    let body = &frame[2 + n..];
    let count = u32::from_le_bytes(body[13..17].try_into().unwrap()) as usize;
    assert!(count >= 1);
    assert_eq!(body.len(), 17 + 4 * count);
    let first = f32::from_le_bytes(body[17..21].try_into().unwrap());
    assert!((20.0..250.0).contains(&first), "a heart rate: {first}");
    drop(s);
    terminate(&node);
    assert!(wait_exit(&mut node, std::time::Duration::from_secs(10)).is_some());
}

#[test]
fn the_mesh_page_shows_the_battery_the_heartbeat_reports() {
    let dir = tempfile::tempdir().unwrap();
    let power = "[power]\nsource = \"simulated\"\nstart_pct = 73\ndrain_pct_per_hour = 0\n";
    let config = write_config(dir.path(), &format!("{power}[mesh]\nenabled = false\n"));
    let mut node = spawn_node(&config);
    let http = wait_for_node(&dir.path().join("data"), &mut node);
    let mut s = ws::connect(&format!("ws://{http}/live"), Some(&bearer(&http)));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut seen = String::new();
    while std::time::Instant::now() < deadline {
        let m = next(&mut s);
        if let Some(nodes) = m["regions"]["nodes"].as_str() {
            seen = nodes.to_string();
            if nodes.contains("<meter class=\"battery\"") {
                break;
            }
        }
    }
    assert!(seen.contains("value=\"73\""), "{seen}");
    assert!(seen.contains("73 %"), "{seen}");
    terminate(&node);
    let _ = wait_exit(&mut node, std::time::Duration::from_secs(10));
}
