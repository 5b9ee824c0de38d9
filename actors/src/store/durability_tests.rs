//! When commits reach the disk: local events and appends a caller acknowledges before they
//! are answered, events the mesh brought within `REPLICATED_DURABLE_WITHIN`. A copy of the
//! file is what a crash leaves.

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

fn open(dir: &Path) -> Store {
    let metrics = Arc::new(NodeMetrics::default());
    Store::open(
        dir,
        NodeId::from_bytes([1; 32]),
        StoreConfig::default(),
        metrics,
    )
    .unwrap()
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
async fn acknowledged_events_are_on_disk_at_once_mesh_ones_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = now_us();
    store.append_local(vec![draft(now)]).await.unwrap();
    assert_eq!(after_a_crash(dir.path(), "l"), 1, "a local event");
    let other = NodeId::from_bytes([9; 32]);
    store
        .append(vec![Event::seal(other, 1, draft(now))])
        .await
        .unwrap();
    assert_eq!(
        after_a_crash(dir.path(), "a"),
        2,
        "an append a caller acknowledges"
    );

    // Events the mesh brought are answered before the sync to disk (a durable commit made
    // by the ticker between the append and the copy would hide that: three tries).
    let peer = NodeId::from_bytes([7; 32]);
    let from_mesh = |seq: u64| vec![(Event::seal(peer, seq, draft(now + seq)), [0u8; 64])];
    let mut lagging = 0;
    for seq in 1..=3u64 {
        store.append_signed(from_mesh(seq)).await.unwrap();
        if after_a_crash(dir.path(), &format!("r{seq}")) < 2 + seq {
            lagging += 1;
        }
    }
    assert!(lagging > 0, "replicated commits were all synced at once");

    tokio::time::sleep(REPLICATED_DURABLE_WITHIN + Duration::from_millis(500)).await;
    assert_eq!(
        after_a_crash(dir.path(), "late"),
        5,
        "durable within the bound"
    );

    // Closing makes everything durable at once.
    store.append_signed(from_mesh(4)).await.unwrap();
    store.close().await;
    assert_eq!(after_a_crash(dir.path(), "closed"), 6);
}

#[test]
fn outside_a_runtime_every_commit_is_durable() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let peer = NodeId::from_bytes([7; 32]);
    let ev = Event::seal(peer, 1, draft(now_us()));
    rt.block_on(store.append_signed(vec![(ev, [0; 64])]))
        .unwrap();
    assert_eq!(after_a_crash(dir.path(), "c"), 1);
    rt.block_on(store.close());
}
