//! Store tests on a real redb file: idempotent appends, queries across tiers, per-origin
//! contiguity, retention, artifact verification.

use std::sync::Arc;

use super::*;
use crate::model::{ArtifactKind, EventKind, Payload, SensorId};

fn draft(ts_us: u64, sensor: &str, v: f32) -> EventDraft {
    EventDraft {
        ts_us,
        sensor: Some(SensorId::new(sensor).unwrap()),
        room: None,
        body: Payload::SensorProfileUpdated {
            profile: format!("p{v}"),
            reason: "test".into(),
        },
    }
}

/// A local-only event (high-rate data).
fn samples(ts_us: u64, sensor: &str, v: f32) -> EventDraft {
    EventDraft {
        ts_us,
        sensor: Some(SensorId::new(sensor).unwrap()),
        room: None,
        body: Payload::MeasurementBatch {
            quantity: "heart_rate".into(),
            unit: "bpm".into(),
            sample_rate_hz: 1.0,
            t0_us: ts_us,
            values: vec![v],
            channels: 1,
        },
    }
}

fn open(dir: &Path, config: StoreConfig) -> Store {
    Store::open(
        dir,
        NodeId::from_bytes([1; 32]),
        config,
        Arc::new(NodeMetrics::default()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_appends_are_sequenced_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_us();
    let store = open(dir.path(), StoreConfig::default());
    let a = store
        .append_local(vec![draft(now, "a", 1.0), draft(now + 1, "b", 2.0)])
        .await
        .unwrap();
    assert_eq!(a.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
    store.close().await;
    drop(store);
    let store = open(dir.path(), StoreConfig::default());
    let b = store
        .append_local(vec![draft(now + 2, "a", 3.0)])
        .await
        .unwrap();
    assert_eq!(b[0].seq, 3, "sequence continues after reopen");
    let all = store.query(&EventQuery::default()).unwrap();
    assert_eq!(all.len(), 3);
    let origins = store.origins().unwrap();
    assert_eq!(origins[&NodeId::from_bytes([1; 32])].contiguous, 3);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_appends_are_idempotent_and_track_contiguity() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), StoreConfig::default());
    let peer = NodeId::from_bytes([7; 32]);
    let now = now_us();
    let ev = |seq: u64| Event::seal(peer, seq, draft(now + seq, "p", seq as f32));
    let r = store.append(vec![ev(1), ev(2), ev(4)]).await.unwrap();
    assert_eq!(
        r,
        AppendReport {
            inserted: 3,
            duplicates: 0
        }
    );
    let r = store.append(vec![ev(2), ev(4)]).await.unwrap();
    assert_eq!(
        r,
        AppendReport {
            inserted: 0,
            duplicates: 2
        }
    );
    assert_eq!(store.origins().unwrap()[&peer].contiguous, 2);
    store.append(vec![ev(3)]).await.unwrap();
    let seqs = store.origins().unwrap()[&peer];
    assert_eq!(
        (seqs.contiguous, seqs.max_seen),
        (4, 4),
        "filling the gap advances"
    );
    assert_eq!(store.count().unwrap(), 4);
    assert_eq!(store.origin_range(&peer, 2, 3, 10).unwrap().len(), 2);

    let mut forged = ev(5);
    forged.seq = 6;
    assert!(
        store.append(vec![forged]).await.is_err(),
        "id must match origin+seq"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiers_and_cold_answer_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        hot_per_sensor: 4,
        warm_max_events: 20,
        ..StoreConfig::default()
    };
    let store = open(dir.path(), config.clone());
    let now = now_us();
    for i in 0..50u64 {
        let s = if i % 2 == 0 { "a" } else { "b" };
        store
            .append_local(vec![draft(now + i * 10, s, i as f32)])
            .await
            .unwrap();
    }
    let queries = [
        EventQuery {
            sensor: Some(SensorId::new("a").unwrap()),
            limit: 3,
            order: Order::Newest,
            ..Default::default()
        },
        EventQuery {
            sensor: Some(SensorId::new("b").unwrap()),
            limit: 15,
            order: Order::Newest,
            ..Default::default()
        },
        EventQuery {
            since_us: Some(now + 400),
            limit: 100,
            ..Default::default()
        },
        EventQuery {
            since_us: Some(now),
            limit: 100,
            ..Default::default()
        },
        EventQuery {
            kind: Some(EventKind::Heartbeat),
            ..Default::default()
        },
        EventQuery {
            until_us: Some(now + 100),
            limit: 100,
            order: Order::Newest,
            ..Default::default()
        },
    ];
    let db = store.inner.db.clone();
    for q in &queries {
        let tiered = store.query(q).unwrap();
        let cold = log::query(&log::read(&db).unwrap(), q).unwrap();
        assert_eq!(tiered, cold, "query {q:?}");
    }
    assert_eq!(store.query(&queries[2]).unwrap().len(), 10);
    assert!(
        store
            .inner
            .tiers
            .lock()
            .unwrap()
            .query(&queries[0])
            .is_some(),
        "hot answers"
    );
    assert!(
        store
            .inner
            .tiers
            .lock()
            .unwrap()
            .query(&queries[3])
            .is_none(),
        "warm is not complete"
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_the_newest_and_remembers_pruned_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        cold_max_events: 10,
        ..StoreConfig::default()
    };
    let store = open(dir.path(), config);
    let now = now_us();
    let old = now - 40 * 24 * 3600 * 1_000_000;
    let peer = NodeId::from_bytes([5; 32]);
    let events: Vec<Event> = (0..30u64)
        .map(|i| {
            Event::seal(
                peer,
                i + 1,
                draft(if i < 5 { old + i } else { now + i }, "a", 0.0),
            )
        })
        .collect();
    store.append(events.clone()).await.unwrap();
    let removed = store.run_retention().await.unwrap();
    assert_eq!(removed, 20);
    assert_eq!(store.count().unwrap(), 10);
    let left = store
        .query(&EventQuery {
            limit: 100,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(left.first().unwrap().seq, 21, "the oldest went first");
    let r = store.append(vec![events[0].clone()]).await.unwrap();
    assert_eq!(r.duplicates, 1, "a pruned event is not stored again");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_verify_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let config = StoreConfig {
        artifact_max_bytes: 2500,
        ..StoreConfig::default()
    };
    let store = open(dir.path(), config);
    let art = store.artifacts();
    let origin = store.local();
    let now = now_us();
    let a = art
        .put(ArtifactKind::IqWindow, None, &[1u8; 1000], origin, now)
        .unwrap();
    let b = art
        .put(ArtifactKind::TfTile, None, &[2u8; 1000], origin, now + 1)
        .unwrap();
    let again = art
        .put(ArtifactKind::IqWindow, None, &[1u8; 1000], origin, now + 2)
        .unwrap();
    assert_eq!(a, again);
    assert_eq!(art.get(&a.hash).unwrap().1, vec![1u8; 1000]);
    assert_eq!(a.media_type, "application/x-sigmf");

    std::fs::write(art.path_of(&b.hash), [9u8; 1000]).unwrap();
    assert!(matches!(art.get(&b.hash), Err(StoreError::Corrupt { .. })));
    assert!(matches!(
        art.get(&crate::model::ArtifactHash::of(b"none")),
        Err(StoreError::NotFound(_))
    ));

    art.put(ArtifactKind::Features, None, &[3u8; 1000], origin, now + 3)
        .unwrap();
    store.run_retention().await.unwrap();
    let left: Vec<_> = art
        .list()
        .unwrap()
        .into_iter()
        .map(|r| r.ptr.kind)
        .collect();
    assert_eq!(
        left,
        vec![ArtifactKind::TfTile, ArtifactKind::Features],
        "oldest bytes go first"
    );
    assert!(!art.path_of(&a.hash).exists());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_open_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), StoreConfig::default());
    let again = Store::open(
        dir.path(),
        NodeId::from_bytes([1; 32]),
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    );
    assert!(
        matches!(again, Err(StoreError::Locked(_))),
        "{:?}",
        again.err()
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicated_appends_cannot_forge_local_events_or_overwrite_stored_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), StoreConfig::default());
    let now = now_us();
    let local = store.local();
    let forged = Event::seal(local, 1, draft(now, "a", 1.0));
    assert!(
        store.append(vec![forged]).await.is_err(),
        "only this node makes its own events"
    );
    let ours = store
        .append_local(vec![draft(now, "a", 2.0)])
        .await
        .unwrap();
    assert_eq!(ours[0].seq, 1, "the forged event took no sequence number");

    let peer = NodeId::from_bytes([7; 32]);
    let first = Event::seal(peer, 1, draft(now, "p", 1.0));
    let other = Event::seal(peer, 1, draft(now + 5, "q", 9.0));
    store.append(vec![first.clone()]).await.unwrap();
    let r = store.append(vec![other]).await.unwrap();
    assert_eq!(r.duplicates, 1);
    let got = store.origin_range(&peer, 1, 1, 10).unwrap();
    assert_eq!(got, vec![(first, None)], "the first copy stays");
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_only_events_have_their_own_run_and_are_never_replicated() {
    use crate::model::LOCAL_SEQ_BASE;
    let dir = tempfile::tempdir().unwrap();
    let now = now_us();
    let me = NodeId::from_bytes([1; 32]);
    let store = open(dir.path(), StoreConfig::default());
    let got = store
        .append_local(vec![
            draft(now, "a", 1.0),
            samples(now + 1, "a", 2.0),
            samples(now + 2, "a", 3.0),
            draft(now + 3, "a", 4.0),
        ])
        .await
        .unwrap();
    let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        vec![1, LOCAL_SEQ_BASE + 1, LOCAL_SEQ_BASE + 2, 2],
        "two runs, each contiguous"
    );
    assert_eq!(
        got.iter().map(Event::replicated).collect::<Vec<_>>(),
        vec![true, false, false, true]
    );
    let o = store.origins().unwrap()[&me];
    assert_eq!(
        (o.contiguous, o.max_seen),
        (2, 2),
        "replication sees only its run"
    );
    let offered = store.origin_range(&me, 1, u64::MAX - 1, 100).unwrap();
    assert_eq!(offered.len(), 4, "the range read is raw");
    store.close().await;
    drop(store);
    // Both runs continue after a reopen (and a pruned local-only seq is never reused).
    let store = open(dir.path(), StoreConfig::default());
    let got = store
        .append_local(vec![samples(now + 4, "a", 5.0), draft(now + 5, "a", 6.0)])
        .await
        .unwrap();
    assert_eq!(got[0].seq, LOCAL_SEQ_BASE + 3);
    assert_eq!(got[1].seq, 3);
    assert_eq!(store.count().unwrap(), 6);
    // A peer cannot hand this node local-only events of its own.
    let peer = NodeId::from_bytes([9; 32]);
    let foreign = Event::seal(peer, LOCAL_SEQ_BASE + 1, samples(now, "p", 1.0));
    let err = store.append(vec![foreign]).await.unwrap_err();
    assert!(err.to_string().contains("local-only"), "{err}");
    assert!(!store.origins().unwrap().contains_key(&peer));
    store.close().await;
}
