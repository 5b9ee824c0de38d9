//! SDR sensors inside a whole node: simulated radio, replayed SigMF and IQ01 over TCP, each
//! producing candidates with IQ evidence, surviving a detector crash and bad peers.

use std::path::Path;
use std::time::Duration;

use super::tests::{sensor, spec, start, wait_until};
use super::*;
use crate::model::EventKind;
use crate::sensors::SensorKind;
use crate::store::EventQuery;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdr_sensor_reports_candidates_with_iq_evidence_and_survives_a_detector_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(5);
    let mut sdr = sensor("sdr-1", SensorKind::Sdr, 1.0);
    sdr.rf = crate::sensors::RfConfig {
        sample_rate_hz: 600e3,
        center_freq_hz: 915e6,
        window_samples: 16_384,
        tf_every_ms: 300,
        ..Default::default()
    };
    sdr.seed = 4;
    s.sensors = vec![sdr];
    let node = start(dir.path(), s).await;
    let client = node.store_client();
    let of_kind = async |kind| {
        client
            .query(EventQuery {
                sensor: Some(SensorId::new("sdr-1").unwrap()),
                kind: Some(kind),
                limit: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
    };
    wait_until("candidates", Duration::from_secs(20), async || {
        of_kind(EventKind::CandidateDetected).await.len() >= 2
    })
    .await;
    wait_until("summaries", Duration::from_secs(5), async || {
        !of_kind(EventKind::TfComputed).await.is_empty()
    })
    .await;

    let candidates = of_kind(EventKind::CandidateDetected).await;
    let crate::model::Payload::CandidateDetected(d) = &candidates[0].body else {
        panic!("not a detection")
    };
    assert_eq!(d.feature_set_id, crate::dsp::features::FEATURE_SET_ID);
    for k in [
        "snr_db",
        "freq_lo_hz",
        "freq_hi_hz",
        "start_us",
        "occupied_bw_hz",
        "papr_db_mean",
    ] {
        assert!(d.estimated_params.contains_key(k), "{k} missing");
    }
    assert!(
        d.estimated_params["freq_lo_hz"] > 914e6 && d.estimated_params["freq_hi_hz"] < 916e6,
        "absolute frequencies"
    );
    let hash = d.evidence.iq_hash.expect("IQ evidence is stored");
    let (record, bytes) = node.store().artifacts().get(&hash).unwrap();
    assert_eq!(record.ptr.kind, crate::model::ArtifactKind::IqWindow);
    let rec = crate::dsp::sigmf::read_archive_bytes(&bytes).unwrap();
    assert_eq!(
        rec.annotations.len(),
        1,
        "the evidence is annotated with the detection"
    );
    assert!(!rec.samples.is_empty());
    assert!(!of_kind(EventKind::ArtifactAvailable).await.is_empty());
    let tile = d
        .artifact_ptrs
        .iter()
        .find(|p| p.kind == crate::model::ArtifactKind::TfTile)
        .expect("a TF tile");
    let (_, bytes) = node.store().artifacts().get(&tile.hash).unwrap();
    let tile = crate::dsp::tile::TfTile::decode(&bytes).unwrap();
    assert!(tile.rows > 0 && tile.bins > 0);

    let before = of_kind(EventKind::TfComputed).await.len();
    node.crash_stage(SensorId::new("sdr-1").unwrap(), StageName::Detector);
    wait_until("a restart", Duration::from_secs(5), async || {
        node.metrics().restarts() >= 1
    })
    .await;
    wait_until(
        "summaries after the restart",
        Duration::from_secs(10),
        async || of_kind(EventKind::TfComputed).await.len() >= before + 2,
    )
    .await;
    node.shutdown().await;
}

/// An SDR sensor configured with `source`, on a 600 kS/s simulated OFDM recording.
pub(super) fn replayed_scene(dir: &Path) -> (crate::dsp::IqRecording, std::path::PathBuf) {
    let cfg = crate::dsp::sim::scenario("ofdm", 21, 1.0).unwrap();
    let cfg = crate::dsp::sim::SimConfig {
        center_freq_hz: 915e6,
        ..cfg
    };
    let rec = crate::dsp::sim::simulate(&cfg);
    let (meta, _) =
        crate::dsp::sigmf::write_pair(&dir.join("scene"), &rec, crate::dsp::SigmfDatatype::Cf32Le)
            .unwrap();
    (rec, meta)
}

pub(super) fn sdr_with(source: crate::sensors::IqSourceConfig) -> SensorConfig {
    let mut sdr = sensor("sdr-1", SensorKind::Sdr, 1.0);
    sdr.rf = crate::sensors::RfConfig {
        center_freq_hz: 915e6,
        window_samples: 16_384,
        tf_every_ms: 300,
        source,
        ..Default::default()
    };
    sdr
}

async fn detections(node: &NodeRuntime) -> Vec<crate::model::Detection> {
    node.store_client()
        .query(EventQuery {
            kind: Some(EventKind::CandidateDetected),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.body {
            crate::model::Payload::CandidateDetected(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn found_all(rec: &crate::dsp::IqRecording, found: &[crate::model::Detection]) -> bool {
    rec.annotations
        .iter()
        .filter(|t| t.snr_db.unwrap_or(0.0) >= 3.0)
        .all(|t| {
            found.iter().any(|d| {
                let (lo, hi) = (
                    d.estimated_params["freq_lo_hz"] - 915e6,
                    d.estimated_params["freq_hi_hz"] - 915e6,
                );
                lo < t.freq_hi_hz && t.freq_lo_hz < hi
            })
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdr_sensor_replays_a_recording_and_finds_what_is_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let (rec, meta) = replayed_scene(dir.path());
    let mut s = spec(5);
    s.sensors = vec![sdr_with(crate::sensors::IqSourceConfig::Replay {
        path: meta,
        realtime: false,
        repeat: false,
    })];
    let node = start(dir.path(), s).await;
    wait_until(
        "every strong emitter",
        Duration::from_secs(30),
        async || found_all(&rec, &detections(&node).await),
    )
    .await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sdr_sensor_takes_iq01_frames_over_tcp_and_survives_a_bad_peer() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let (rec, _) = replayed_scene(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut s = spec(5);
    s.sensors = vec![sdr_with(crate::sensors::IqSourceConfig::Iq01Tcp { bind })];
    let node = start(dir.path(), s).await;
    let connect = async || {
        for _ in 0..100 {
            if let Ok(c) = tokio::net::TcpStream::connect(bind).await {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("IQ01 source never listened");
    };
    // A peer that sends garbage is dropped; the node keeps listening.
    let mut bad = connect().await;
    bad.write_all(b"NOPE this is not an IQ01 frame at all")
        .await
        .unwrap();
    drop(bad);
    let mut peer = connect().await;
    for (i, chunk) in rec.samples.chunks(8192).enumerate() {
        let header = crate::dsp::Iq01Header {
            timestamp_us: 1_790_000_000_000_000,
            frame_index: i as u32,
            sample_count: 0,
            reserved: 0.0,
        };
        peer.write_all(&crate::dsp::encode_iq01(&header, chunk))
            .await
            .unwrap();
    }
    peer.shutdown().await.unwrap();
    wait_until(
        "every strong emitter",
        Duration::from_secs(30),
        async || found_all(&rec, &detections(&node).await),
    )
    .await;
    assert!(!node.has_failed());
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constrained_sdr_sends_tiny_band_alerts_for_what_enters_its_bands() {
    use crate::dsp::band_energy::{Band, BandEnergyConfig};
    let dir = tempfile::tempdir().unwrap();
    let (rec, meta) = replayed_scene(dir.path());
    let strong: Vec<_> = rec
        .annotations
        .iter()
        .filter(|t| t.snr_db.unwrap_or(0.0) >= 10.0)
        .collect();
    assert!(!strong.is_empty());
    let bands = strong
        .iter()
        .enumerate()
        .map(|(i, t)| Band {
            id: i as u16 + 1,
            lo_hz: t.freq_lo_hz,
            hi_hz: t.freq_hi_hz,
        })
        .collect();
    let mut sdr = sdr_with(crate::sensors::IqSourceConfig::Replay {
        path: meta,
        realtime: false,
        repeat: false,
    });
    sdr.rf.mode = crate::sensors::RfMode::BandEnergy;
    sdr.rf.band_energy = BandEnergyConfig {
        bands,
        ..BandEnergyConfig::default()
    };
    assert!(sdr.problems().is_empty(), "{:?}", sdr.problems());
    let mut s = spec(5);
    s.sensors = vec![sdr];
    let node = start(dir.path(), s).await;
    wait_until(
        "an alert per strong emitter",
        Duration::from_secs(30),
        async || {
            let d = detections(&node).await;
            (1..=strong.len() as u16).all(|id| {
                d.iter()
                    .any(|d| d.estimated_params.get("band_id") == Some(&f64::from(id)))
            })
        },
    )
    .await;
    let d = detections(&node).await;
    assert!(
        d.iter()
            .all(|d| d.feature_set_id == crate::sensors::rf::BAND_ALERT_FEATURES)
    );
    let bytes = crate::model::encode_event(
        &node
            .store_client()
            .query(EventQuery {
                kind: Some(EventKind::CandidateDetected),
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()[0],
    )
    .unwrap();
    assert!(
        bytes.len() < 600,
        "a band alert event is small: {} bytes",
        bytes.len()
    );
    node.shutdown().await;
}

/// The waterfall is a display stream: rows of the configured width reach a viewer live,
/// framed in frequency and time, and cost nothing while nobody watches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_gets_live_waterfall_rows_of_the_configured_width() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(5);
    let mut sdr = sensor("sdr-1", SensorKind::Sdr, 1.0);
    sdr.rf = crate::sensors::RfConfig {
        sample_rate_hz: 600e3,
        center_freq_hz: 915e6,
        window_samples: 16_384,
        waterfall: crate::dsp::waterfall::WaterfallConfig {
            width: 256,
            rows_per_s: 50.0,
            ..Default::default()
        },
        ..Default::default()
    };
    s.sensors = vec![sdr];
    let node = start(dir.path(), s).await;
    let id = SensorId::new("sdr-1").unwrap();
    let display = node.display();
    assert!(
        display
            .subscribe_waterfall(&SensorId::new("hr-9").unwrap())
            .is_none()
    );
    let mut rx = display
        .subscribe_waterfall(&id)
        .expect("the sdr sensor draws one");
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while frames.len() < 20 {
        let f = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .expect("rows arrive while someone watches")
            .expect("the stream stays open");
        frames.push(f);
    }
    for f in &frames {
        assert_eq!(f.values.len(), 256);
        assert_eq!((f.center_freq_hz, f.span_hz), (915e6, 600e3));
    }
    assert!(frames.windows(2).all(|w| w[1].row_index > w[0].row_index));
    assert!(frames.windows(2).all(|w| w[1].time_s > w[0].time_s));
    // The simulated scene has noise and emitters: codes vary across a row.
    let f = &frames[frames.len() - 1];
    let (lo, hi) = (
        f.values.iter().min().unwrap(),
        f.values.iter().max().unwrap(),
    );
    assert!(hi > lo, "a flat row: {:?}", &f.values[..16]);
    node.shutdown().await;
}
