//! Live data only for viewers: measurement batches and waterfall rows of a sensor on node A
//! stream to node B exactly while a viewer on B watches it (B's attention hint is the
//! subscription); node C, with no viewer, gets none of it, and none of it is replicated.

use std::time::{Duration, Instant};

use fieldmesh_actors::model::{AttentionLevel, EventKind, SensorId};
use fieldmesh_actors::rooms::RoomMsg;
use fieldmesh_actors::sensors::{RfConfig, SensorConfig, SensorKind};
use fieldmesh_actors::store::EventQuery;
use fieldmesh_mesh::wire::{decode, encode};
use fieldmesh_mesh::{LIVE_ALPN, LiveFrame, MeshCounters, MeshJoin};

use crate::common;
use common::*;

#[derive(serde::Serialize)]
struct AskFor {
    sensor: String,
}

fn sensor(id: &str, kind: SensorKind) -> SensorConfig {
    SensorConfig {
        id: SensorId::new(id).unwrap(),
        kind,
        room: None,
        rate_hz: 50.0,
        batch_max_samples: 5,
        batch_window_ms: 100,
        profile: "default".into(),
        seed: 7,
        rf: RfConfig {
            sample_rate_hz: 240_000.0,
            window_samples: 8192,
            ..RfConfig::default()
        },
    }
}

fn watch(m: &Member, sensor: &SensorId, level: AttentionLevel) {
    room(m)
        .cast(RoomMsg::SetAttention {
            sensor: sensor.clone(),
            viewer: "bob@b".into(),
            level,
            ttl: Duration::from_secs(30),
        })
        .unwrap();
}

fn samples_stored(m: &Member) -> usize {
    m.store
        .query(&EventQuery {
            kind: Some(EventKind::MeasurementBatch),
            limit: 100_000,
            ..Default::default()
        })
        .unwrap()
        .len()
}

async fn eventually(what: &str, mut ok: impl AsyncFnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !ok().await {
        assert!(t0.elapsed() < Duration::from_secs(10), "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t0.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_sensor_streams_to_a_node_only_while_a_viewer_there_watches() {
    let (hr, sdr) = (
        SensorId::new("hr-1").unwrap(),
        SensorId::new("sdr-1").unwrap(),
    );
    let a = member(
        MeshJoin::Create,
        vec![
            sensor("hr-1", SensorKind::HeartRate),
            sensor("sdr-1", SensorKind::Sdr),
        ],
    )
    .await;
    let ticket = a.mesh.ticket();
    let b = member(MeshJoin::Ticket(ticket.clone()), vec![]).await;
    let c = member(MeshJoin::Ticket(ticket), vec![]).await;
    let a_id = a.mesh.id().to_string();
    eventually("b's directory to list a's sensors", async || {
        let m = b.mesh.directory().members().await.unwrap();
        m.iter()
            .any(|m| m.id == a_id && m.sensors == ["hr-1", "sdr-1"])
    })
    .await;

    // Bob on b looks at both sensors.
    let mut samples = b.runtime.display().subscribe_samples(&hr);
    watch(&b, &hr, AttentionLevel::High);
    watch(&b, &sdr, AttentionLevel::Medium);
    let t0 = Instant::now();
    let batch = tokio::time::timeout(Duration::from_secs(10), samples.recv())
        .await
        .expect("a batch within 10 s")
        .unwrap();
    println!("first live batch on b after {:?}", t0.elapsed());
    assert_eq!(batch.origin, a.store.local());
    assert_eq!(batch.kind(), EventKind::MeasurementBatch);
    assert!(!batch.replicated());
    let display = b.runtime.display();
    eventually("waterfall rows of a's radio on b", async || {
        display.subscribe_waterfall(&sdr).is_some()
    })
    .await;
    let mut rows = display.subscribe_waterfall(&sdr).unwrap();
    let row = tokio::time::timeout(Duration::from_secs(5), rows.recv())
        .await
        .expect("a row within 5 s")
        .unwrap();
    assert!(!row.values.is_empty());

    // Nobody watches on c: nothing streams there, and samples are never replicated.
    assert_eq!(MeshCounters::get(&c.mesh.counters().live_in), 0);
    assert!(c.runtime.display().subscribe_waterfall(&sdr).is_none());
    assert!(samples_stored(&a) > 0);
    assert_eq!(samples_stored(&b), 0);
    assert_eq!(samples_stored(&c), 0);

    // Bob looks away: the streams close, and a stops drawing rows for nobody.
    watch(&b, &hr, AttentionLevel::None);
    watch(&b, &sdr, AttentionLevel::None);
    let a_display = a.runtime.display();
    let took = eventually("a's radio to lose its only viewer", async || {
        a_display.waterfall_sender(&sdr).receiver_count() == 0
    })
    .await;
    println!("stream closed {took:?} after the viewer looked away");
    let before = MeshCounters::get(&b.mesh.counters().live_in);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = MeshCounters::get(&b.mesh.counters().live_in);
    assert!(
        after - before <= 2,
        "frames kept coming: {before} → {after}"
    );

    // A member asking for a sensor a does not have, or sending garbage, is refused.
    for req in [
        encode(&AskFor {
            sensor: "nope".into(),
        }),
        b"\xc1garbage".to_vec(),
    ] {
        let conn = b
            .mesh
            .endpoint()
            .connect(a.mesh.id(), LIVE_ALPN)
            .await
            .unwrap();
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        send.write_all(&(req.len() as u32).to_le_bytes())
            .await
            .unwrap();
        send.write_all(&req).await.unwrap();
        let mut len = [0u8; 4];
        recv.read_exact(&mut len).await.unwrap();
        let mut buf = vec![0; u32::from_le_bytes(len) as usize];
        recv.read_exact(&mut buf).await.unwrap();
        match decode::<LiveFrame>(&buf).unwrap() {
            LiveFrame::Refused(why) => assert!(
                why.contains("no sensor nope") || why.contains("malformed"),
                "{why}"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
        conn.close(0u32.into(), b"done");
    }
    // a is fine: its samples still stream to a viewer that asks again.
    let mut samples = b.runtime.display().subscribe_samples(&hr);
    watch(&b, &hr, AttentionLevel::Low);
    tokio::time::timeout(Duration::from_secs(10), samples.recv())
        .await
        .expect("a batch again")
        .unwrap();
    for m in [a, b, c] {
        m.mesh.shutdown().await;
        m.runtime.shutdown().await;
    }
}

/// Measurement batches of `sensor` that `m` stores in `window`.
async fn batches_in(
    rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<[fieldmesh_actors::model::Event]>>,
    sensor: &SensorId,
    window: Duration,
) -> usize {
    let until = tokio::time::Instant::now() + window;
    let mut n = 0;
    while let Ok(Ok(events)) = tokio::time::timeout_at(until, rx.recv()).await {
        n += events
            .iter()
            .filter(|e| {
                e.sensor.as_ref() == Some(sensor) && e.kind() == EventKind::MeasurementBatch
            })
            .count();
    }
    n
}

/// From `viewer` setting `level` on `sensor` until the sensor's node `home` sends at a rate
/// in `rate` (batches per second, over 200 ms windows).
async fn rate_follows(
    viewer: &Member,
    home: &Member,
    sensor: &SensorId,
    level: AttentionLevel,
    rate: std::ops::RangeInclusive<f64>,
) -> Duration {
    let mut rx = home.store.subscribe();
    let t0 = Instant::now();
    room(viewer)
        .cast(RoomMsg::SetAttention {
            sensor: sensor.clone(),
            viewer: "carol".into(),
            level,
            ttl: Duration::from_secs(60),
        })
        .unwrap();
    let window = Duration::from_millis(200);
    // The rate must hold for two windows in a row (one full batch cycle at `none`).
    let mut held = 0;
    loop {
        let n = batches_in(&mut rx, sensor, window).await as f64 / window.as_secs_f64();
        held = if rate.contains(&n) { held + 1 } else { 0 };
        if held == 2 {
            return t0.elapsed() - 2 * window;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "{level:?}: {n}/s, wanted {rate:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sensors_message_rate_follows_a_viewer_on_its_node_and_on_another() {
    let hr = SensorId::new("hr-1").unwrap();
    let mut cfg = sensor("hr-1", SensorKind::HeartRate);
    cfg.room = Some(fieldmesh_actors::model::RoomId::new("ward").unwrap());
    let a = member(MeshJoin::Create, vec![cfg]).await;
    let b = member(MeshJoin::Ticket(a.mesh.ticket()), vec![]).await;
    // 50 samples/s: high = a message per sample (~50/s), none = 20 samples a message (2.5/s).
    let high = 30.0..=70.0;
    let none = 0.0..=7.5;
    let mut took = Vec::new();
    for (who, m) in [("a", &a), ("b", &b)] {
        took.push((
            who,
            "high",
            rate_follows(m, &a, &hr, AttentionLevel::High, high.clone()).await,
        ));
        took.push((
            who,
            "none",
            rate_follows(m, &a, &hr, AttentionLevel::None, none.clone()).await,
        ));
    }
    for (who, level, t) in &took {
        println!("viewer on {who}, {level}: rate followed after {t:?}");
        assert!(
            *t < Duration::from_secs(1),
            "viewer on {who}, {level}: {t:?}"
        );
    }
    for m in [a, b] {
        m.mesh.shutdown().await;
        m.runtime.shutdown().await;
    }
}
