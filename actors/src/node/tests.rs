//! A whole node's actors on a real store: live data, restart after a panic without losing
//! anything acknowledged, escalation, and an orderly drain.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::model::{Event, EventKind};
use crate::sensors::SensorKind;
use crate::store::{EventQuery, StoreConfig};

pub(super) fn sensor(id: &str, kind: SensorKind, rate_hz: f64) -> SensorConfig {
    SensorConfig {
        id: SensorId::new(id).unwrap(),
        kind,
        room: Some(RoomId::new("ward").unwrap()),
        rate_hz,
        batch_max_samples: 10,
        batch_window_ms: 200,
        profile: "lan".into(),
        seed: 1,
        rf: Default::default(),
    }
}

pub(super) fn spec(max_restarts: u32) -> NodeSpec {
    NodeSpec {
        id: NodeId::from_bytes([3; 32]),
        role: "dev".into(),
        sensors: vec![
            sensor("hr-1", SensorKind::HeartRate, 100.0),
            sensor("imu-1", SensorKind::Imu, 50.0),
        ],
        rooms: vec![RoomConfig {
            id: RoomId::new("ward").unwrap(),
            name: "Ward".into(),
        }],
        pipeline: PipelineConfig::default(),
        supervision: RestartPolicy {
            max_restarts,
            window_ms: 60_000,
            backoff_initial_ms: 10,
            backoff_max_ms: 100,
        },
        heartbeat_interval: Duration::from_millis(200),
        power: Default::default(),
        attention: Default::default(),
        classifier: None,
    }
}

pub(super) async fn start(dir: &Path, spec: NodeSpec) -> NodeRuntime {
    let metrics = Arc::new(NodeMetrics::default());
    let store = Store::open(dir, spec.id, StoreConfig::default(), metrics.clone()).unwrap();
    NodeRuntime::start(spec, store, metrics).await.unwrap()
}

async fn events_of(node: &NodeRuntime, sensor: &str) -> Vec<Event> {
    node.store_client()
        .query(EventQuery {
            sensor: Some(SensorId::new(sensor).unwrap()),
            kind: Some(EventKind::MeasurementBatch),
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap()
}

pub(super) async fn wait_until<F: AsyncFn() -> bool>(what: &str, timeout: Duration, f: F) {
    let t0 = Instant::now();
    while !f().await {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_stage_restarts_and_nothing_acknowledged_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), spec(5)).await;
    wait_until("first batches", Duration::from_secs(5), async || {
        events_of(&node, "hr-1").await.len() >= 3
    })
    .await;

    // Everything a query returns was acknowledged: the tiers only hold committed events.
    let acknowledged: Vec<Event> = node
        .store_client()
        .query(EventQuery {
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let before = events_of(&node, "hr-1").await.len();
    node.crash_stage(SensorId::new("hr-1").unwrap(), StageName::Batcher);
    wait_until("a restart", Duration::from_secs(5), async || {
        node.metrics().restarts() >= 1
    })
    .await;
    node.crash_stage(SensorId::new("hr-1").unwrap(), StageName::Source);
    wait_until("second restart", Duration::from_secs(5), async || {
        node.metrics().restarts() >= 2
    })
    .await;
    wait_until(
        "production after restarts",
        Duration::from_secs(5),
        async || events_of(&node, "hr-1").await.len() >= before + 3,
    )
    .await;
    assert!(
        events_of(&node, "imu-1").await.len() >= 2,
        "the other sensor was never disturbed"
    );
    node.shutdown().await;

    // Reopen from disk: every acknowledged event is there, and the sequence has no holes.
    let metrics = Arc::new(NodeMetrics::default());
    let store = Store::open(
        dir.path(),
        NodeId::from_bytes([3; 32]),
        StoreConfig::default(),
        metrics,
    )
    .unwrap();
    let stored: BTreeSet<_> = store
        .query(&EventQuery {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let missing: Vec<_> = acknowledged
        .iter()
        .filter(|e| !stored.contains(&e.id))
        .collect();
    assert!(
        missing.is_empty(),
        "lost {} acknowledged events",
        missing.len()
    );
    let seqs = store.origins().unwrap()[&NodeId::from_bytes([3; 32])];
    assert_eq!(seqs.contiguous, seqs.max_seen, "local sequence has no gaps");
    let kinds: BTreeSet<_> = store
        .query(&EventQuery {
            limit: 100_000,
            ..Default::default()
        })
        .unwrap()
        .iter()
        .map(Event::kind)
        .collect();
    for k in [
        EventKind::Heartbeat,
        EventKind::MeasurementBatch,
        EventKind::SensorProfileUpdated,
    ] {
        assert!(kinds.contains(&k), "no {k} event");
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_failures_escalate_to_the_sensor_supervisor() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), spec(2)).await;
    let hr = SensorId::new("hr-1").unwrap();
    wait_until("first batches", Duration::from_secs(5), async || {
        !events_of(&node, "hr-1").await.is_empty()
    })
    .await;
    // Two stage restarts are allowed; the third failure escalates: the sensor restarts whole.
    for n in 1..=3u64 {
        node.crash_stage(hr.clone(), StageName::Source);
        wait_until("restart", Duration::from_secs(5), async || {
            node.metrics().restarts() >= n
        })
        .await;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let profiles = async || {
        node.store_client()
            .query(EventQuery {
                sensor: Some(hr.clone()),
                kind: Some(EventKind::SensorProfileUpdated),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len()
    };
    wait_until(
        "the sensor restarted whole",
        Duration::from_secs(5),
        async || profiles().await >= 2,
    )
    .await;
    let before = events_of(&node, "hr-1").await.len();
    wait_until(
        "production after escalation",
        Duration::from_secs(5),
        async || events_of(&node, "hr-1").await.len() > before + 1,
    )
    .await;
    assert!(!node.has_failed());
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_partial_batches_into_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(3);
    s.sensors = vec![SensorConfig {
        batch_max_samples: 1000,
        batch_window_ms: 60_000,
        room: None, // in a room, attention would set the batching
        ..sensor("hr-1", SensorKind::HeartRate, 100.0)
    }];
    let node = start(dir.path(), s).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        events_of(&node, "hr-1").await.is_empty(),
        "the batch is neither full nor old yet"
    );
    let t0 = Instant::now();
    node.shutdown().await;
    assert!(t0.elapsed() < Duration::from_secs(5));
    let store = Store::open(
        dir.path(),
        NodeId::from_bytes([3; 32]),
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    )
    .unwrap();
    let q = EventQuery {
        kind: Some(EventKind::MeasurementBatch),
        ..Default::default()
    };
    let drained = store.query(&q).unwrap();
    assert_eq!(drained.len(), 1, "the partial batch was flushed on drain");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_hold_sensors_and_attention() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path(), spec(3)).await;
    let room = node.rooms()[&RoomId::new("ward").unwrap()]
        .wait(Duration::from_secs(2))
        .await
        .unwrap();
    let hr = SensorId::new("hr-1").unwrap();
    room.cast(RoomMsg::SetAttention {
        sensor: hr.clone(),
        viewer: "alice".into(),
        level: crate::model::AttentionLevel::High,
        ttl: Duration::from_secs(30),
    })
    .unwrap();
    let snap = room
        .call(RoomMsg::Snapshot, Some(Duration::from_secs(2)))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snap.sensors.len(), 2);
    let level = room
        .call(
            |r| RoomMsg::Effective(hr.clone(), r),
            Some(Duration::from_secs(2)),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(level, crate::model::AttentionLevel::High);
    wait_until("attention event", Duration::from_secs(3), async || {
        !node
            .store_client()
            .query(EventQuery {
                kind: Some(EventKind::AttentionChanged),
                ..Default::default()
            })
            .await
            .unwrap()
            .is_empty()
    })
    .await;
    node.shutdown().await;
}
