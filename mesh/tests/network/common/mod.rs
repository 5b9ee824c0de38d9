//! Helpers shared by the mesh tests: nodes on loopback with their own stores.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldmesh_actors::metrics::NodeMetrics;
use fieldmesh_actors::model::RoomId;
use fieldmesh_actors::model::{EventDraft, NodeId, Payload};
use fieldmesh_actors::node::{NodeRuntime, NodeSpec};
use fieldmesh_actors::rooms::{RoomConfig, RoomMsg};
use fieldmesh_actors::sensors::SensorConfig;
use fieldmesh_actors::store::{Store, StoreConfig};
use fieldmesh_actors::supervision::RestartPolicy;
use fieldmesh_mesh::{MeshConfig, MeshJoin, MeshLocal, MeshNode, MeshRooms};
use iroh::SecretKey;

pub struct TestNode {
    pub key: [u8; 32],
    pub store: Store,
    pub mesh: MeshNode,
}

pub fn cfg() -> MeshConfig {
    MeshConfig {
        catchup_every: Duration::from_millis(300),
        ..MeshConfig::default()
    }
}

pub fn node_id(key: &[u8; 32]) -> NodeId {
    NodeId::from_bytes(*SecretKey::from_bytes(key).public().as_bytes())
}

pub fn open(dir: &Path, key: &[u8; 32]) -> Store {
    Store::open(
        dir,
        node_id(key),
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    )
    .unwrap()
}

pub async fn start(dir: &Path, key: [u8; 32], how: MeshJoin) -> TestNode {
    start_with(dir, key, how, cfg()).await
}

pub async fn start_with(dir: &Path, key: [u8; 32], how: MeshJoin, cfg: MeshConfig) -> TestNode {
    let store = open(dir, &key);
    let mesh = MeshNode::start(&cfg, key, store.clone(), how, MeshLocal::default())
        .await
        .unwrap();
    TestNode { key, store, mesh }
}

pub fn heartbeat(i: u64) -> EventDraft {
    EventDraft {
        ts_us: 1_790_000_000_000_000 + i,
        sensor: None,
        room: None,
        body: Payload::Heartbeat {
            role: "test".into(),
            uptime_s: i,
            sensors: 0,
            events_stored: i,
            restarts: 0,
            battery: None,
        },
    }
}

/// A local-only event: high-rate samples that stay on their node.
pub fn samples(i: u64) -> EventDraft {
    EventDraft {
        ts_us: 1_790_000_000_000_000 + i,
        sensor: Some(fieldmesh_actors::model::SensorId::new("hr-1").unwrap()),
        room: None,
        body: Payload::MeasurementBatch {
            quantity: "heart_rate".into(),
            unit: "bpm".into(),
            sample_rate_hz: 1.0,
            t0_us: 1_790_000_000_000_000 + i,
            values: vec![60.0],
            channels: 1,
        },
    }
}

pub async fn emit(store: &Store, n: u64) {
    store
        .append_local((0..n).map(heartbeat).collect())
        .await
        .unwrap();
}

pub async fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn count(s: &Store) -> u64 {
    s.count().unwrap()
}

/// A whole node (actor runtime with the room "ward" and `sensors`) in the mesh.
pub struct Member {
    pub runtime: NodeRuntime,
    pub mesh: MeshNode,
    pub store: Store,
    pub _dir: tempfile::TempDir,
}

pub async fn member(how: MeshJoin, sensors: Vec<SensorConfig>) -> Member {
    let dir = tempfile::tempdir().unwrap();
    let key: [u8; 32] = rand::random();
    let id = node_id(&key);
    let metrics = Arc::new(NodeMetrics::default());
    let store = Store::open(dir.path(), id, StoreConfig::default(), metrics.clone()).unwrap();
    let sensor_ids = sensors.iter().map(|s| s.id.clone()).collect();
    let spec = NodeSpec {
        id,
        role: "test".into(),
        sensors,
        rooms: vec![RoomConfig {
            id: RoomId::new("ward").unwrap(),
            name: "Ward".into(),
        }],
        pipeline: Default::default(),
        supervision: RestartPolicy::default(),
        heartbeat_interval: Duration::from_secs(5),
        power: Default::default(),
        attention: Default::default(),
        classifier: None,
    };
    let runtime = NodeRuntime::start(spec, store.clone(), metrics)
        .await
        .unwrap();
    let local = MeshLocal {
        rooms: Some(MeshRooms {
            kept: runtime.room_registry().list(),
            updates: runtime.room_updates(),
            debounce: Duration::from_millis(100),
            added: Some(runtime.room_registry().added()),
        }),
        display: Some(runtime.display()),
        sensors: sensor_ids,
    };
    let cfg = MeshConfig {
        catchup_every: Duration::from_millis(300),
        role: "test".into(),
        name: format!("node-{}", id.short()),
        ..MeshConfig::default()
    };
    let mesh = MeshNode::start(&cfg, key, store.clone(), how, local)
        .await
        .unwrap();
    Member {
        runtime,
        mesh,
        store,
        _dir: dir,
    }
}

/// The room actor of "ward" on `m`.
pub fn room(m: &Member) -> ractor::ActorRef<RoomMsg> {
    m.runtime.rooms()[&RoomId::new("ward").unwrap()]
        .current()
        .expect("the room actor runs")
}
