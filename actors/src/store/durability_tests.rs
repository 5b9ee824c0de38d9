//! When commits reach the disk: local events before they are acknowledged, events made
//! elsewhere within `REPLICATED_DURABLE_WITHIN`. A copy of the file is what a crash leaves.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::model::{Payload, SensorId};

fn draft(ts_us: u64) -> EventDraft {
    EventDraft {
        ts_us,
        sensor: Some(SensorId::new("s").unwrap()),
        room: None,
        body: Payload::SensorProfileUpdated {
            profile: "p".into(),
            reason: "test".into(),
        },
    }
}

/// The events a crash now would leave.
fn after_a_crash(dir: &Path, name: &str) -> u64 {
    let copy = dir.join(name);
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(dir.join("store.redb"), copy.join("store.redb")).unwrap();
    let db = Database::open(copy.join("store.redb")).unwrap();
    log::count(&log::read(&db).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_events_are_on_disk_when_acknowledged_replicated_ones_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        NodeId::from_bytes([1; 32]),
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    )
    .unwrap();
    let now = now_us();
    store.append_local(vec![draft(now)]).await.unwrap();
    assert_eq!(
        after_a_crash(dir.path(), "c0"),
        1,
        "an acknowledged local event"
    );

    // Events made elsewhere are acknowledged before the sync to disk (a durable commit made
    // by the ticker between the append and the copy would hide that: three tries).
    let peer = NodeId::from_bytes([7; 32]);
    let mut lagging = 0;
    for seq in 1..=3u64 {
        let ev = Event::seal(peer, seq, draft(now + seq));
        store.append(vec![ev]).await.unwrap();
        if after_a_crash(dir.path(), &format!("r{seq}")) < 1 + seq {
            lagging += 1;
        }
    }
    assert!(lagging > 0, "replicated commits were all synced at once");

    tokio::time::sleep(REPLICATED_DURABLE_WITHIN + Duration::from_millis(500)).await;
    assert_eq!(
        after_a_crash(dir.path(), "late"),
        4,
        "durable within the bound"
    );

    // Closing makes everything durable at once.
    let ev = Event::seal(peer, 4, draft(now + 4));
    store.append(vec![ev]).await.unwrap();
    store.close().await;
    assert_eq!(after_a_crash(dir.path(), "closed"), 5);
}

#[test]
fn outside_a_runtime_every_commit_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        NodeId::from_bytes([1; 32]),
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let peer = NodeId::from_bytes([7; 32]);
    let ev = Event::seal(peer, 1, draft(now_us()));
    rt.block_on(store.append(vec![ev])).unwrap();
    assert_eq!(after_a_crash(dir.path(), "c"), 1);
    rt.block_on(store.close());
}
