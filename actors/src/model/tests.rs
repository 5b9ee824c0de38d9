//! Codec round-trips, garbage input and schema compatibility.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn node(b: u8) -> NodeId {
    NodeId::from_bytes([b; 32])
}

fn detection(label: &str, conf: f32) -> Detection {
    Detection {
        algo: Algo {
            name: "cfar-ms".into(),
            version: "1".into(),
            params_hash: "ab12".into(),
        },
        feature_set_id: "fs1".into(),
        window: Window {
            duration_s: 0.1,
            center_freq_hz: 433.92e6,
            sample_rate_hz: 2.4e6,
        },
        evidence: Evidence {
            iq_hash: Some(ArtifactHash::of(b"iq")),
        },
        classes: vec![ClassScore {
            label: label.into(),
            confidence: conf,
        }],
        estimated_params: BTreeMap::from([("snr_db".into(), 12.5), ("bandwidth_hz".into(), 2e5)]),
        artifact_ptrs: vec![ArtifactPtr::for_bytes(ArtifactKind::IqWindow, b"iq")],
    }
}

/// One event of every kind, as used by the fixtures.
pub(crate) fn sample_events() -> Vec<Event> {
    let bodies = vec![
        Payload::Heartbeat {
            role: "dev".into(),
            uptime_s: 12,
            sensors: 2,
            events_stored: 40,
            restarts: 0,
            battery: None,
        },
        Payload::MeasurementBatch {
            quantity: "heart_rate".into(),
            unit: "bpm".into(),
            sample_rate_hz: 50.0,
            t0_us: 1_700_000_000_000_000,
            values: vec![61.0, 62.5, 63.0],
            channels: 1,
        },
        Payload::IqWindowReceived {
            window: detection("x", 1.0).window,
            iq: ArtifactPtr::for_bytes(ArtifactKind::IqWindow, b"iq"),
        },
        Payload::TfComputed {
            window: detection("x", 1.0).window,
            nfft: 4096,
            hop: 2048,
            noise_floor_db: -90.0,
            peak_db: -40.0,
            occupancy: 0.02,
        },
        Payload::CandidateDetected(detection("", 0.0)),
        Payload::WaveformClassified(detection("lfm", 0.97)),
        Payload::AssociationUpdated {
            track_id: "t1".into(),
            detections: vec![EventId::derive(&node(1), 3)],
            estimated_params: BTreeMap::new(),
        },
        Payload::SensorProfileUpdated {
            profile: "lan".into(),
            reason: "start".into(),
        },
        Payload::AttentionChanged {
            viewer: "alice".into(),
            level: AttentionLevel::High,
            expires_us: 1_700_000_030_000_000,
        },
        Payload::ArtifactAvailable(ArtifactPtr::for_bytes(ArtifactKind::TfTile, b"tile")),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            Event::seal(
                node(9),
                i as u64 + 1,
                EventDraft {
                    ts_us: 1_700_000_000_000_000 + i as u64,
                    sensor: Some(SensorId::new("sdr-1").unwrap()),
                    room: (i % 2 == 0).then(|| RoomId::new("ops").unwrap()),
                    body,
                },
            )
        })
        .collect()
}

#[test]
fn every_kind_round_trips() {
    let events = sample_events();
    let kinds: Vec<_> = events.iter().map(Event::kind).collect();
    assert_eq!(kinds, EventKind::ALL.to_vec(), "fixture covers every kind");
    for e in &events {
        let bytes = encode_event(e).unwrap();
        assert_eq!(&decode_event(&bytes).unwrap(), e);
    }
    let batch = encode_batch(&events).unwrap();
    assert_eq!(decode_batch(&batch, 1 << 20).unwrap(), events);
}

/// Events written by schema v1, frozen. A newer reader must keep reading them.
#[test]
fn reads_frozen_schema_v1_events() {
    let bytes = include_bytes!("../../tests/fixtures/events-v1.msgpack");
    let decoded = decode_batch(bytes, 1 << 20).expect("v1 fixture decodes");
    assert_eq!(decoded, sample_events());
}

#[test]
fn rejects_newer_schema_tampered_id_and_oversize() {
    let mut e = sample_events().remove(0);
    e.schema = SCHEMA_VERSION + 1;
    let bytes = rmp_serde::to_vec_named(&e).unwrap();
    assert!(matches!(
        decode_event(&bytes),
        Err(ModelError::UnsupportedSchema { .. })
    ));

    let mut e = sample_events().remove(0);
    e.seq += 1;
    let bytes = rmp_serde::to_vec_named(&e).unwrap();
    assert!(matches!(decode_event(&bytes), Err(ModelError::Invalid(_))));

    let big = vec![0u8; MAX_EVENT_BYTES + 1];
    assert!(matches!(
        decode_event(&big),
        Err(ModelError::Oversized { .. })
    ));
    let mut e = sample_events().remove(1);
    if let Payload::MeasurementBatch { values, .. } = &mut e.body {
        *values = vec![0.0; MAX_EVENT_BYTES];
    }
    assert!(matches!(
        encode_event(&e),
        Err(ModelError::Oversized { .. })
    ));
}

#[test]
fn every_truncation_is_an_error() {
    for e in sample_events() {
        let bytes = encode_event(&e).unwrap();
        for cut in 0..bytes.len() {
            assert!(decode_event(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}

#[test]
fn compact_detection_is_small_and_round_trips() {
    let d = detection("costas", 0.91);
    let c = CompactDetection::from_detection(&d, &["snr_db", "bandwidth_hz", "missing"]).unwrap();
    let bytes = c.encode().unwrap();
    assert!(bytes.len() <= 48, "compact form is {} bytes", bytes.len());
    let back = CompactDetection::decode(&bytes).unwrap();
    assert_eq!(back.label, "costas");
    assert!((back.confidence() - 0.91).abs() < 0.01);
    assert_eq!(back.scalars[0], 12.5);
    assert!(back.scalars[2].is_nan());
    assert_eq!(back.hash_prefix, ArtifactHash::of(b"iq").prefix::<8>());
    assert!(CompactDetection::from_detection(&d, &["a", "b", "c", "d", "e"]).is_err());
}

fn arb_payload() -> impl Strategy<Value = Payload> {
    prop_oneof![
        (any::<u64>(), any::<u32>(), any::<u64>(), "[a-z]{0,12}").prop_map(|(u, s, n, role)| {
            Payload::Heartbeat {
                role,
                uptime_s: u,
                sensors: s,
                events_stored: n,
                restarts: u / 2,
                battery: (u % 3 != 0).then_some(Battery {
                    level_pct: (u % 101) as f32,
                    charging: u % 2 == 0,
                }),
            }
        }),
        (
            proptest::collection::vec(-1e6f32..1e6, 0..200),
            1u8..4,
            any::<u64>()
        )
            .prop_map(|(values, channels, t0_us)| Payload::MeasurementBatch {
                quantity: "imu".into(),
                unit: "m/s2".into(),
                sample_rate_hz: 100.0,
                t0_us,
                values,
                channels,
            }),
        ("[a-z]{1,8}", 0.0f32..1.0)
            .prop_map(|(l, c)| Payload::WaveformClassified(detection(&l, c))),
        (any::<u64>(), 0u8..4).prop_map(|(exp, l)| Payload::AttentionChanged {
            viewer: "v".into(),
            level: [
                AttentionLevel::None,
                AttentionLevel::Low,
                AttentionLevel::Medium,
                AttentionLevel::High
            ][l as usize],
            expires_us: exp,
        }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_events_round_trip(origin in any::<[u8; 32]>(), seq in 1u64.., ts in any::<u64>(), body in arb_payload()) {
        let e = Event::seal(NodeId::from_bytes(origin), seq, EventDraft { ts_us: ts, sensor: None, room: None, body });
        let bytes = encode_event(&e).unwrap();
        prop_assert_eq!(decode_event(&bytes).unwrap(), e);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_event(&bytes);
        let _ = decode_batch(&bytes, 1 << 16);
        let _ = CompactDetection::decode(&bytes);
    }

    #[test]
    fn flipped_bytes_never_panic(idx in any::<prop::sample::Index>(), val in any::<u8>()) {
        let e = sample_events().remove(5);
        let mut bytes = encode_event(&e).unwrap();
        let i = idx.index(bytes.len());
        bytes[i] = val;
        if let Ok(d) = decode_event(&bytes) {
            // A flip that still decodes must still satisfy the invariants.
            prop_assert!(check_event(&d).is_ok());
        }
    }
}

/// Writes the frozen v1 fixture. Run once by hand (`--ignored`) when the fixture is created;
/// never again for v1.
#[test]
#[ignore]
fn write_v1_fixture() {
    let bytes = encode_batch(&sample_events()).unwrap();
    std::fs::write(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/events-v1.msgpack"
        ),
        bytes,
    )
    .unwrap();
}
