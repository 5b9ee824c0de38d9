//! Property tests: no byte input (metadata, data, archive) makes the readers panic, and
//! arbitrary recordings round-trip through archives.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;

use super::tests::{emission, recording};
use super::*;
use crate::dsp::{Complex32, IqRecording};

fn number() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<u64>().prop_map(|v| json!(v)),
        any::<i64>().prop_map(|v| json!(v)),
        any::<f64>().prop_map(|v| json!(v)),
        (0u64..8).prop_map(|v| json!(v)),
        Just(json!("1e6")),
        Just(json!(null)),
    ]
}

fn datetime() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,8})?(Z|[+-][0-9]{2}:[0-9]{2})?"
            .prop_map(|s| json!(s)),
        "\\PC{0,30}".prop_map(|s| json!(s)),
        number(),
    ]
}

/// Metadata that mostly parses, with hostile values in the keys the reader interprets.
fn near_valid_meta() -> impl Strategy<Value = Vec<u8>> {
    let datatype = prop_oneof![
        Just(json!("ci16_le")),
        Just(json!("cf32_le")),
        Just(json!("ri8")),
        number(),
    ];
    let global = (datatype, number(), number(), number(), number());
    let capture = (number(), number(), datetime(), number());
    let annotation = (number(), number(), number(), number(), "\\PC{0,12}");
    (global, vec(capture, 0..3), vec(annotation, 0..4)).prop_map(|(g, captures, annotations)| {
        let captures: Vec<_> = captures
            .into_iter()
            .map(|(start, freq, dt, header)| {
                json!({"core:sample_start": start, "core:frequency": freq,
                       "core:datetime": dt, "core:header_bytes": header})
            })
            .collect();
        let annotations: Vec<_> = annotations
            .into_iter()
            .map(|(start, count, lo, hi, comment)| {
                json!({"core:sample_start": start, "core:sample_count": count,
                       "core:freq_lower_edge": lo, "core:freq_upper_edge": hi,
                       "core:comment": comment})
            })
            .collect();
        let meta = json!({
            "global": {"core:datatype": g.0, "core:sample_rate": g.1, "core:num_channels": g.2,
                       "core:trailing_bytes": g.3, "x:y": g.4},
            "captures": captures,
            "annotations": annotations,
        });
        serde_json::to_vec(&meta).unwrap_or_default()
    })
}

/// Drops optional keys whose random value is `null` so the remaining ones get exercised.
fn without_nulls(meta: Vec<u8>) -> Vec<u8> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                map.retain(|k, v| !(v.is_null() && k != "global"));
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut v: serde_json::Value = serde_json::from_slice(&meta).unwrap_or_default();
    strip(&mut v);
    serde_json::to_vec(&v).unwrap_or_default()
}

fn grid_recording() -> impl Strategy<Value = IqRecording> {
    let sample = (-1.0f32..1.0, -1.0f32..1.0).prop_map(|(i, q)| Complex32::new(i, q));
    let ann = (
        0u32..100,
        0u32..100,
        -400i32..400,
        0i32..400,
        "[a-z0-9_]{0,8}",
        any::<Option<i16>>(),
    );
    (
        vec(sample, 0..100),
        vec(ann, 0..5),
        any::<Option<u64>>(),
        any::<Option<i32>>(),
    )
        .prop_map(|(samples, anns, start_us, center)| {
            let n = samples.len() as u32;
            let mut annotations: Vec<_> = anns
                .into_iter()
                .map(|(a, len, lo, width, label, snr)| {
                    let start = a.min(n);
                    let stop = (start + len).min(n);
                    let (lo, hi) = (f64::from(lo) * 1000.0, f64::from(lo + width) * 1000.0);
                    let snr = snr.map(|s| f64::from(s) / 8.0);
                    emission(
                        f64::from(start) / 1e6,
                        f64::from(stop) / 1e6,
                        lo,
                        hi,
                        &label,
                        snr,
                    )
                })
                .collect();
            annotations.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
            IqRecording {
                samples,
                annotations,
                start_us: start_us.map(|us| us % 253_402_300_800_000_000),
                center_freq_hz: center.map(|c| f64::from(c) * 1000.0),
                ..recording(0)
            }
        })
}

proptest! {
    #[test]
    fn arbitrary_meta_and_data_never_panic(meta in vec(any::<u8>(), 0..256), data in vec(any::<u8>(), 0..64)) {
        let _ = read_meta_and_data(&meta, &data);
    }

    #[test]
    fn near_valid_meta_never_panics(meta in near_valid_meta(), data in vec(any::<u8>(), 0..80)) {
        let _ = read_meta_and_data(&meta, &data);
        let _ = read_meta_and_data(&without_nulls(meta), &data);
    }

    #[test]
    fn arbitrary_archive_bytes_never_panic(bytes in vec(any::<u8>(), 0..4096)) {
        let _ = read_archive_bytes(&bytes);
    }

    #[test]
    fn corrupted_archives_never_panic(flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..16), cut in any::<prop::sample::Index>()) {
        let mut bytes = archive_bytes("r", &recording(40), SigmfDatatype::Ci16Le).unwrap();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let _ = read_archive_bytes(&bytes);
        let _ = read_archive_bytes(&bytes[..cut.index(bytes.len())]);
    }

    #[test]
    fn recordings_round_trip_through_archives(rec in grid_recording()) {
        let back = read_archive_bytes(&archive_bytes("p", &rec, SigmfDatatype::Cf32Le).unwrap()).unwrap();
        prop_assert_eq!(&back.samples, &rec.samples);
        prop_assert_eq!(back.start_us, rec.start_us);
        prop_assert_eq!(back.center_freq_hz, rec.center_freq_hz);
        prop_assert_eq!(back.annotations.len(), rec.annotations.len());
        for (b, e) in back.annotations.iter().zip(&rec.annotations) {
            prop_assert_eq!((&b.label, b.snr_db), (&e.label, e.snr_db));
            prop_assert!((b.start_s - e.start_s).abs() < 1e-12 && (b.stop_s - e.stop_s).abs() < 1e-12);
            prop_assert!((b.freq_lo_hz - e.freq_lo_hz).abs() < 1e-3);
            prop_assert!((b.freq_hi_hz - e.freq_hi_hz).abs() < 1e-3);
        }
    }
}
