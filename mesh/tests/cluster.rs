//! ractor_cluster over iroh between two nodes of one process: a session comes up between
//! members, the datacenter's heavy-compute actor is reached through its remote proxy, and
//! the session going down is seen. (Across OS processes: `tests/e2e/mesh.rs` at the root.)

use std::time::Duration;

use fieldmesh_actors::dsp::Complex32;
use fieldmesh_actors::dsp::IqRecording;
use fieldmesh_actors::dsp::SigmfDatatype;
use fieldmesh_actors::dsp::sigmf::archive_bytes;
use fieldmesh_actors::model::ArtifactKind;
use fieldmesh_mesh::{HEAVY_COMPUTE_GROUP, MeshConfig, MeshJoin, RefineRequest, refine_remotely};

#[path = "network/common/mod.rs"]
mod common;
use common::*;

/// 0.25 s of noise at 2.4 Msps with a tone at +300 kHz in its middle half.
fn window() -> Vec<u8> {
    let rate = 2.4e6;
    let n = 600_000;
    let samples = (0..n)
        .map(|i| {
            let noise = Complex32::new(
                (rand::random::<f32>() - 0.5) * 0.02,
                (rand::random::<f32>() - 0.5) * 0.02,
            );
            let on = (n / 4..3 * n / 4).contains(&i);
            let ph = 2.0 * std::f64::consts::PI * 300e3 * i as f64 / rate;
            let tone = if on {
                Complex32::new(0.01 * ph.cos() as f32, 0.01 * ph.sin() as f32)
            } else {
                Complex32::new(0.0, 0.0)
            };
            noise + tone
        })
        .collect();
    let rec = IqRecording {
        sample_rate_hz: rate,
        center_freq_hz: Some(915e6),
        start_us: Some(1_790_000_000_000_000),
        samples,
        annotations: Vec::new(),
    };
    archive_bytes("window", &rec, SigmfDatatype::Cf32Le).unwrap()
}

fn remote_members() -> usize {
    ractor::pg::get_members(&HEAVY_COMPUTE_GROUP.to_string())
        .iter()
        .filter(|c| !c.get_id().is_local())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edge_node_calls_the_heavy_compute_group_over_iroh_and_sees_it_go() {
    let dirs: Vec<_> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let short = MeshConfig {
        fetch_wait: Duration::from_secs(1),
        ..cfg()
    };
    let edge = start_with(
        dirs[0].path(),
        rand::random(),
        MeshJoin::Create,
        short.clone(),
    )
    .await;
    let dc_cfg = MeshConfig {
        heavy_compute: true,
        ..short
    };
    let dc = start_with(
        dirs[1].path(),
        rand::random(),
        MeshJoin::Ticket(edge.mesh.ticket()),
        dc_cfg,
    )
    .await;
    let (e_peers, d_peers) = (
        edge.mesh.cluster_peers().unwrap().clone(),
        dc.mesh.cluster_peers().unwrap().clone(),
    );
    let (e_id, d_id) = (edge.mesh.id().to_string(), dc.mesh.id().to_string());
    wait_for("the cluster session", Duration::from_secs(10), || {
        e_peers.is_up(&d_id) && d_peers.is_up(&e_id)
    })
    .await;
    wait_for(
        "the dc's actor in the group",
        Duration::from_secs(10),
        || remote_members() >= 1,
    )
    .await;

    let bytes = window();
    let ptr = edge
        .store
        .artifacts()
        .put(ArtifactKind::IqWindow, None, &bytes, edge.store.local(), 1)
        .unwrap();
    edge.mesh.artifacts().publish(&ptr).await.unwrap();
    let req = RefineRequest {
        artifact: ptr.clone(),
        origin: edge.store.local(),
        nfft: 8192,
    };
    let reply = refine_remotely(req.clone(), Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(reply.node, d_id, "the datacenter answered");
    assert_eq!(reply.samples, 600_000);
    assert_eq!(reply.nfft, 8192);
    let tone: Vec<_> = reply
        .boxes
        .iter()
        .filter(|b| b.freq_lo_hz <= 300e3 && b.freq_hi_hz >= 300e3)
        .collect();
    assert_eq!(tone.len(), 1, "one box on the tone: {:?}", reply.boxes);
    let b = tone[0];
    assert!(
        b.freq_hi_hz - b.freq_lo_hz < 5_000.0,
        "a fine transform: {b:?}"
    );
    assert!((b.start_s - 0.0625).abs() < 0.01 && (b.stop_s - 0.1875).abs() < 0.01);
    assert!(dc.store.artifacts().record(&ptr.hash).unwrap().is_some());

    // Bad requests get an answer that says why; the actor stays up.
    let bad = RefineRequest {
        nfft: 1000,
        ..req.clone()
    };
    let err = refine_remotely(bad, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("power of two"), "{err}");
    let nowhere = RefineRequest {
        artifact: fieldmesh_actors::model::ArtifactPtr::for_bytes(ArtifactKind::IqWindow, b"x"),
        ..req.clone()
    };
    let err = refine_remotely(nowhere, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no holder"), "{err}");
    let again = refine_remotely(req, Duration::from_secs(30)).await.unwrap();
    assert_eq!(again.boxes.len(), reply.boxes.len());

    // The datacenter leaves: its session goes down and the group has nobody to ask.
    dc.mesh.shutdown().await;
    dc.store.close().await;
    wait_for("the session to go down", Duration::from_secs(10), || {
        !e_peers.is_up(&d_id)
    })
    .await;
    let (_, ups, downs) = e_peers.snapshot();
    assert!(ups >= 1 && downs >= 1);
    wait_for("the group to empty", Duration::from_secs(10), || {
        ractor::pg::get_members(&HEAVY_COMPUTE_GROUP.to_string()).is_empty()
    })
    .await;
    edge.mesh.shutdown().await;
    edge.store.close().await;
}
