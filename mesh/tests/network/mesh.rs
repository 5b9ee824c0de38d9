//! Nodes on loopback in one process: joining by ticket, every event everywhere (gossip
//! plus catch-up, also after a node was away), and strangers and forgers getting nothing.

use std::path::Path;
use std::time::Duration;

use fieldmesh_actors::model::{EventDraft, Payload};
use fieldmesh_mesh::wire::{GossipBatch, encode, sign_event};
use fieldmesh_mesh::{CATCHUP_ALPN, MeshConfig, MeshCounters, MeshError, MeshJoin, MeshTicket};
use iroh::SecretKey;

use crate::common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_join_by_ticket_and_every_event_reaches_every_node_also_after_a_restart() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a = start(dirs[0].path(), rand::random(), MeshJoin::Create).await;
    let ticket: MeshTicket = a.mesh.ticket().to_string().parse().unwrap();
    let b = start(
        dirs[1].path(),
        rand::random(),
        MeshJoin::Ticket(ticket.clone()),
    )
    .await;
    let c = start(dirs[2].path(), rand::random(), MeshJoin::Ticket(ticket)).await;
    wait_for("everyone to know everyone", Duration::from_secs(10), || {
        [&a, &b, &c].iter().all(|n| n.mesh.members().len() == 3)
    })
    .await;

    for n in [&a, &b, &c] {
        emit(&n.store, 20).await;
    }
    wait_for("60 events on every node", Duration::from_secs(10), || {
        [&a, &b, &c].iter().all(|n| count(&n.store) == 60)
    })
    .await;

    // C goes away; everyone (C too, alone) makes events; C comes back with its key and data.
    let rejoin = c.mesh.rejoin_ticket();
    let c_key = c.key;
    c.mesh.shutdown().await;
    c.store.close().await;
    drop(c.store);
    emit(&a.store, 30).await;
    // High-rate samples stay where they were made (viewers get them over the live stream).
    a.store
        .append_local((0..5).map(samples).collect())
        .await
        .unwrap();
    emit(&b.store, 30).await;
    let c_store = open(dirs[2].path(), &c_key);
    emit(&c_store, 10).await;
    c_store.close().await;
    drop(c_store);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c = start(dirs[2].path(), c_key, MeshJoin::Ticket(rejoin)).await;
    wait_for(
        "130 replicated events on every node after the restart",
        Duration::from_secs(15),
        || count(&a.store) == 135 && [&b, &c].iter().all(|n| count(&n.store) == 130),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(700)).await; // two more catch-up rounds
    assert!(
        [&b, &c].iter().all(|n| count(&n.store) == 130),
        "samples stayed on a"
    );
    for n in [&a, &b, &c] {
        let origins = n.store.origins().unwrap();
        assert_eq!(origins.len(), 3);
        assert!(
            origins.values().all(|s| s.contiguous == s.max_seen),
            "no gaps: {origins:?}"
        );
        assert_eq!(MeshCounters::get(&n.mesh.counters().forged), 0);
    }
    for n in [a, b, c] {
        n.mesh.shutdown().await;
        n.store.close().await;
    }
}

/// A joiner greets only a few members; the rest learn of it from its directory entry (and
/// it of them), so past a dozen nodes some pairs meet only through the directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_not_greeted_at_join_learn_of_each_other_from_the_directory() {
    const N: usize = 12;
    let dirs: Vec<_> = (0..N).map(|_| tempfile::tempdir().unwrap()).collect();
    let first = start(dirs[0].path(), rand::random(), MeshJoin::Create).await;
    let ticket = first.mesh.ticket();
    let mut nodes = vec![first];
    for d in &dirs[1..] {
        nodes.push(start(d.path(), rand::random(), MeshJoin::Ticket(ticket.clone())).await);
    }
    wait_for(
        "every node to admit every other",
        Duration::from_secs(30),
        || nodes.iter().all(|n| n.mesh.members().len() == N),
    )
    .await;
    // The last joiner greeted at most 9 of the 11 others: its events still reach all.
    let last = nodes.last().unwrap();
    emit(&last.store, 5).await;
    wait_for(
        "the last joiner's events everywhere",
        Duration::from_secs(20),
        || nodes.iter().all(|n| count(&n.store) == 5),
    )
    .await;
    for n in nodes {
        n.mesh.shutdown().await;
        n.store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_wrong_secrets_and_forged_events_get_nothing_in() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a = start(dirs[0].path(), rand::random(), MeshJoin::Create).await;
    let ticket = a.mesh.ticket();
    let b = start(
        dirs[1].path(),
        rand::random(),
        MeshJoin::Ticket(ticket.clone()),
    )
    .await;
    emit(&a.store, 5).await;
    wait_for("b to have a's events", Duration::from_secs(10), || {
        count(&b.store) == 5
    })
    .await;

    // A stranger that knows a's address and every id, but not the secret.
    let stranger = iroh::Endpoint::builder(iroh::endpoint::presets::Minimal)
        .clear_ip_transports()
        .bind_addr("127.0.0.1:0")
        .unwrap()
        .bind()
        .await
        .unwrap();
    let lookup = iroh::address_lookup::memory::MemoryLookup::new();
    let mut addr = iroh::EndpointAddr::new(a.mesh.id());
    for s in a.mesh.addrs() {
        addr = addr.with_ip_addr(s);
    }
    lookup.add_endpoint_info(addr);
    stranger.address_lookup().unwrap().add(lookup);
    for alpn in [CATCHUP_ALPN, iroh_gossip::net::GOSSIP_ALPN] {
        let refused = match stranger.connect(a.mesh.id(), alpn).await {
            Err(_) => true,
            Ok(conn) => {
                // Refused after the handshake: the connection is closed with our code.
                let closed = tokio::time::timeout(Duration::from_secs(5), conn.closed()).await;
                closed.is_ok()
            }
        };
        assert!(refused, "a stranger got a connection for {alpn:?}");
    }
    assert!(MeshCounters::get(&a.mesh.counters().refused) >= 1);
    // Asking for events the way members do gets nothing either.
    let d_dir = tempfile::tempdir().unwrap();
    let d_key: [u8; 32] = rand::random();
    let d_store = open(d_dir.path(), &d_key);
    let got =
        fieldmesh_mesh::catch_up(&stranger, a.mesh.id(), &d_store, &MeshCounters::default()).await;
    assert!(got.is_err(), "{got:?}");
    assert_eq!(count(&d_store), 0);
    // Joining with a made-up secret.
    let wrong = MeshTicket {
        secret: [9; 32],
        ..ticket.clone()
    };
    let err = fieldmesh_mesh::join(&stranger, a.mesh.id(), &wrong.secret, vec![])
        .await
        .unwrap_err();
    assert!(matches!(err, MeshError::Refused(_)), "{err}");
    assert!(MeshCounters::get(&a.mesh.counters().join_refused) >= 1);
    d_store.close().await;

    // A member forging an event in a's name, and altering one of its own.
    let e = start(dirs[2].path(), rand::random(), MeshJoin::Ticket(ticket)).await;
    wait_for("e to join", Duration::from_secs(10), || {
        a.mesh.members().len() == 3
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let made = e.store.append_local(vec![heartbeat(99)]).await.unwrap();
    let mut as_a = made[0].clone();
    as_a.origin = a.store.local();
    as_a.id = fieldmesh_actors::model::EventId::derive(&as_a.origin, 1_000);
    as_a.seq = 1_000;
    let forged = sign_event(&SecretKey::from_bytes(&e.key), &as_a).unwrap();
    let mut altered = sign_event(&SecretKey::from_bytes(&e.key), &made[0]).unwrap();
    let last = altered.event.len() - 1;
    altered.event[last] ^= 1;
    let batch = GossipBatch {
        nonce: 7,
        events: vec![forged, altered],
    };
    e.mesh.broadcast_raw(encode(&batch)).await.unwrap();
    wait_for("b to drop the forgeries", Duration::from_secs(10), || {
        MeshCounters::get(&b.mesh.counters().forged)
            + MeshCounters::get(&b.mesh.counters().malformed)
            >= 2
    })
    .await;
    let a_events = b
        .store
        .origin_range(&a.store.local(), 1, u64::MAX, 100)
        .unwrap();
    assert_eq!(a_events.len(), 5, "nothing forged was stored in a's name");
    for n in [a, b, e] {
        n.mesh.shutdown().await;
        n.store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_artifact_made_on_one_node_is_fetched_whole_by_another() {
    use fieldmesh_actors::model::ArtifactKind;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let a = start(dirs[0].path(), rand::random(), MeshJoin::Create).await;
    let ticket = a.mesh.ticket();
    let b = start(
        dirs[1].path(),
        rand::random(),
        MeshJoin::Ticket(ticket.clone()),
    )
    .await;
    let c = start(dirs[2].path(), rand::random(), MeshJoin::Ticket(ticket)).await;
    let bytes: Vec<u8> = (0..3 * 1024 * 1024).map(|_| rand::random::<u8>()).collect();
    let ptr = a
        .store
        .artifacts()
        .put(ArtifactKind::IqWindow, None, &bytes, a.store.local(), 1)
        .unwrap();
    a.store
        .append_local(vec![EventDraft {
            ts_us: 1_790_000_000_000_000,
            sensor: None,
            room: None,
            body: Payload::ArtifactAvailable(ptr.clone()),
        }])
        .await
        .unwrap();
    wait_for("c to hear of the artifact", Duration::from_secs(10), || {
        count(&c.store) == 1
    })
    .await;
    assert!(c.store.artifacts().record(&ptr.hash).unwrap().is_none());
    let got = c.mesh.artifacts().fetch(ptr.hash).await.unwrap();
    assert_eq!(got, ptr);
    let (_, stored) = c.store.artifacts().get(&ptr.hash).unwrap();
    assert!(stored == bytes, "the bytes arrived whole");
    // Nobody announced this one: a clear error, not a hang.
    let unknown = fieldmesh_actors::model::ArtifactPtr::for_bytes(ArtifactKind::Clip, b"nope");
    let err = b.mesh.artifacts().fetch(unknown.hash).await.unwrap_err();
    assert!(err.to_string().contains("announces"), "{err}");
    for n in [a, b, c] {
        n.mesh.shutdown().await;
        n.store.close().await;
    }
}

fn candidate(ptr: &fieldmesh_actors::model::ArtifactPtr, snr_db: f64) -> EventDraft {
    use fieldmesh_actors::model::{Algo, Detection, Evidence, Window};
    EventDraft {
        ts_us: 1_790_000_000_000_000,
        sensor: None,
        room: None,
        body: Payload::CandidateDetected(Detection {
            algo: Algo {
                name: "cfar-ms".into(),
                version: "1".into(),
                params_hash: "ab".into(),
            },
            feature_set_id: "fs1".into(),
            window: Window {
                duration_s: 0.1,
                center_freq_hz: 915e6,
                sample_rate_hz: 2.4e6,
            },
            evidence: Evidence {
                iq_hash: Some(ptr.hash),
            },
            classes: Vec::new(),
            estimated_params: std::collections::BTreeMap::from([("snr_db".into(), snr_db)]),
            artifact_ptrs: vec![ptr.clone()],
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_datacenter_pulls_strong_candidates_iq_and_a_fetch_waits_for_its_holder() {
    use fieldmesh_actors::model::ArtifactKind;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let with_blobs = |d: &Path| MeshConfig {
        blobs_dir: Some(d.join("blobs")),
        fetch_wait: Duration::from_secs(20),
        ..cfg()
    };
    let a_key: [u8; 32] = rand::random();
    let a = start_with(
        dirs[0].path(),
        a_key,
        MeshJoin::Create,
        with_blobs(dirs[0].path()),
    )
    .await;
    let ticket = a.mesh.ticket();
    let dc = start_with(
        dirs[1].path(),
        rand::random(),
        MeshJoin::Ticket(ticket.clone()),
        MeshConfig {
            pull: Some(fieldmesh_mesh::PullPolicy::default()),
            ..cfg()
        },
    )
    .await;
    let b = start(dirs[2].path(), rand::random(), MeshJoin::Ticket(ticket)).await;
    let put = |bytes: &[u8]| {
        a.store
            .artifacts()
            .put(ArtifactKind::IqWindow, None, bytes, a.store.local(), 1)
            .unwrap()
    };
    let (strong, weak, later) = (put(b"strong iq"), put(b"weak iq"), put(b"fetched later"));
    let announce = |p: &fieldmesh_actors::model::ArtifactPtr| EventDraft {
        body: Payload::ArtifactAvailable(p.clone()),
        ..heartbeat(0)
    };
    a.store
        .append_local(vec![
            announce(&strong),
            candidate(&strong, 12.0),
            announce(&weak),
            candidate(&weak, 2.0),
            announce(&later),
        ])
        .await
        .unwrap();
    wait_for(
        "the datacenter to pull the strong one",
        Duration::from_secs(10),
        || dc.store.artifacts().record(&strong.hash).unwrap().is_some(),
    )
    .await;
    assert!(
        dc.store.artifacts().record(&weak.hash).unwrap().is_none(),
        "the weak one stays"
    );

    // Store and forward: the only holder goes away; b's fetch waits and completes when it
    // is back (same key, same data, a new port).
    wait_for("b to hear of it", Duration::from_secs(10), || {
        count(&b.store) == 5
    })
    .await;
    let rejoin = a.mesh.rejoin_ticket();
    a.mesh.shutdown().await;
    a.store.close().await;
    drop(a.store);
    let share = b.mesh.artifacts().clone();
    let fetch = tokio::spawn(async move { share.fetch(later.hash).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!fetch.is_finished(), "the fetch waits for a holder");
    let a = start_with(
        dirs[0].path(),
        a_key,
        MeshJoin::Ticket(rejoin),
        with_blobs(dirs[0].path()),
    )
    .await;
    let got = tokio::time::timeout(Duration::from_secs(20), fetch)
        .await
        .expect("completes once the holder is back")
        .unwrap()
        .unwrap();
    let (_, bytes) = b.store.artifacts().get(&got.hash).unwrap();
    assert_eq!(bytes, b"fetched later");
    for n in [a, dc, b] {
        n.mesh.shutdown().await;
        n.store.close().await;
    }
}
