//! fieldmesh-sim: the harness that will run hundreds of virtual nodes on one machine.
//! For now it runs N single-node actor runtimes in one process for a few seconds and
//! reports events stored per node — the same assembly the binary uses, minus the mesh.

use std::sync::Arc;
use std::time::Duration;

use fieldmesh_actors::metrics::NodeMetrics;
use fieldmesh_actors::model::{NodeId, SensorId};
use fieldmesh_actors::node::{NodeRuntime, NodeSpec};
use fieldmesh_actors::pipeline::PipelineConfig;
use fieldmesh_actors::sensors::{SensorConfig, SensorKind};
use fieldmesh_actors::store::{Store, StoreConfig};
use fieldmesh_actors::supervision::RestartPolicy;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let nodes = arg("--nodes", 4);
    let secs = arg("--duration", 3);
    let dir = std::env::temp_dir().join(format!("fieldmesh-sim-{}", std::process::id()));
    let mut running = Vec::new();
    for n in 0..nodes {
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&n.to_be_bytes());
        let spec = NodeSpec {
            id: NodeId::from_bytes(id),
            role: "edge".into(),
            sensors: vec![SensorConfig {
                id: SensorId::new(format!("hr-{n}")).expect("valid sensor id"),
                kind: SensorKind::HeartRate,
                room: None,
                rate_hz: 20.0,
                batch_max_samples: 20,
                batch_window_ms: 1000,
                profile: "lan".into(),
                seed: n,
                rf: Default::default(),
            }],
            rooms: Vec::new(),
            pipeline: PipelineConfig::default(),
            supervision: RestartPolicy::default(),
            heartbeat_interval: Duration::from_secs(1),
            attention: Default::default(),
            classifier: None,
        };
        let metrics = Arc::new(NodeMetrics::default());
        let store = match Store::open(
            &dir.join(n.to_string()),
            spec.id,
            StoreConfig::default(),
            metrics.clone(),
        ) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("node {n}: {e}");
                std::process::exit(1);
            }
        };
        match NodeRuntime::start(spec, store, metrics).await {
            Ok(rt) => running.push(rt),
            Err(e) => {
                eprintln!("node {n}: {e}");
                std::process::exit(1);
            }
        }
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    println!("node  events_stored  restarts");
    for (n, rt) in running.iter().enumerate() {
        let m = rt.metrics().snapshot();
        println!("{n:>4}  {:>13}  {:>8}", m.stored_events, m.restarts);
    }
    for rt in running {
        rt.shutdown().await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}
