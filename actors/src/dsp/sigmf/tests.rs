//! SigMF round trips (pairs and archives, both datatypes) and each error, with the file it
//! names.

use std::path::Path;

use super::*;
use crate::dsp::{Complex32, Emission, IqRecording};

/// A recording whose annotation times and edges survive SigMF exactly.
pub(super) fn recording(samples: usize) -> IqRecording {
    IqRecording {
        sample_rate_hz: 1_000_000.0,
        center_freq_hz: Some(2_400_000_000.0),
        start_us: Some(1_700_000_000_123_456),
        samples: (0..samples)
            .map(|i| Complex32::new((i as f32 * 0.1).sin() * 0.9, (i as f32 * 0.1).cos() * -0.5))
            .collect(),
        annotations: vec![
            emission(0.000_1, 0.000_5, -100_000.0, 50_000.0, "lfm", Some(12.25)),
            emission(0.000_2, 0.000_9, 200_000.0, 300_000.0, "cw", None),
        ],
    }
}

pub(super) fn emission(
    start_s: f64,
    stop_s: f64,
    lo: f64,
    hi: f64,
    label: &str,
    snr: Option<f64>,
) -> Emission {
    Emission {
        start_s,
        stop_s,
        freq_lo_hz: lo,
        freq_hi_hz: hi,
        label: label.into(),
        snr_db: snr,
    }
}

fn assert_same_metadata(back: &IqRecording, rec: &IqRecording) {
    assert_eq!(back.sample_rate_hz, rec.sample_rate_hz);
    assert_eq!(back.center_freq_hz, rec.center_freq_hz);
    assert_eq!(back.start_us, rec.start_us);
    assert_eq!(back.annotations, rec.annotations);
}

fn assert_close(back: &[Complex32], samples: &[Complex32], tolerance: f32) {
    assert_eq!(back.len(), samples.len());
    for (a, b) in back.iter().zip(samples) {
        assert!((a - b).norm() <= tolerance, "{a} vs {b}");
    }
}

#[test]
fn datatype_strings() {
    for dt in [SigmfDatatype::Ci16Le, SigmfDatatype::Cf32Le] {
        assert_eq!(SigmfDatatype::parse(dt.as_str()).unwrap(), dt);
    }
    let err = SigmfDatatype::parse("ri8").unwrap_err();
    assert_eq!(
        err.to_string(),
        "datatype \"ri8\" is not supported (only ci16_le and cf32_le are)"
    );
}

#[test]
fn cf32_pair_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(1000);
    let (meta, data) = write_pair(&dir.path().join("rec"), &rec, SigmfDatatype::Cf32Le).unwrap();
    assert_eq!(meta, dir.path().join("rec.sigmf-meta"));
    assert_eq!(data, dir.path().join("rec.sigmf-data"));
    assert_eq!(std::fs::metadata(&data).unwrap().len(), 8000);
    assert_eq!(read_recording(&meta).unwrap(), rec);
    assert_eq!(read_recording(&data).unwrap(), rec);
}

#[test]
fn ci16_pair_round_trips_within_quantization() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recording(1000);
    let (meta, data) = write_pair(&dir.path().join("rec"), &rec, SigmfDatatype::Ci16Le).unwrap();
    assert_eq!(std::fs::metadata(&data).unwrap().len(), 4000);
    let back = read_recording(&meta).unwrap();
    assert_same_metadata(&back, &rec);
    assert_close(&back.samples, &rec.samples, 1.0 / 32768.0);
}

#[test]
fn archives_round_trip_in_memory_and_on_disk() {
    let rec = recording(1000);
    for dt in [SigmfDatatype::Ci16Le, SigmfDatatype::Cf32Le] {
        let bytes = archive_bytes("window-7", &rec, dt).unwrap();
        assert_eq!(
            bytes,
            archive_bytes("window-7", &rec, dt).unwrap(),
            "deterministic"
        );
        let back = read_archive_bytes(&bytes).unwrap();
        assert_same_metadata(&back, &rec);
        assert_close(&back.samples, &rec.samples, 1.0 / 32768.0);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cap.sigmf");
    write_archive(&path, &rec, SigmfDatatype::Cf32Le).unwrap();
    assert_eq!(read_recording(&path).unwrap(), rec);
}

#[test]
fn archive_layout_is_a_named_directory() {
    let bytes = archive_bytes("win", &recording(4), SigmfDatatype::Cf32Le).unwrap();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["win/", "win/win.sigmf-data", "win/win.sigmf-meta"]);
}

#[test]
fn written_meta_uses_core_keys() {
    let json = meta_json_bytes(&recording(1000), SigmfDatatype::Ci16Le).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["global"]["core:datatype"], "ci16_le");
    assert_eq!(v["global"]["core:version"], "1.2.0");
    assert_eq!(v["global"]["core:sample_rate"], 1e6);
    assert_eq!(v["captures"][0]["core:sample_start"], 0);
    assert_eq!(v["captures"][0]["core:frequency"], 2.4e9);
    assert_eq!(
        v["captures"][0]["core:datetime"],
        "2023-11-14T22:13:20.123456Z"
    );
    let a = &v["annotations"][0];
    assert_eq!(
        (&a["core:sample_start"], &a["core:sample_count"]),
        (&100.into(), &400.into())
    );
    assert_eq!(a["core:freq_lower_edge"], 2.4e9 - 100_000.0);
    assert_eq!(
        (&a["core:label"], &a["core:comment"]),
        (&"lfm".into(), &"snr_db=12.25".into())
    );
    assert!(v["annotations"][1].get("core:comment").is_none());
}

#[test]
fn annotations_are_sorted_on_write() {
    let mut rec = recording(1000);
    rec.annotations.reverse();
    let back = read_archive_bytes(&archive_bytes("r", &rec, SigmfDatatype::Cf32Le).unwrap());
    assert_eq!(back.unwrap().annotations, recording(1000).annotations);
}

#[test]
fn emissions_are_clipped_to_the_recording() {
    let mut rec = recording(300);
    rec.annotations
        .push(emission(-1.0, 0.01, 0.0, 1.0, "late", None));
    let back = read_archive_bytes(&archive_bytes("c", &rec, SigmfDatatype::Cf32Le).unwrap());
    let spans: Vec<(f64, f64)> = back
        .unwrap()
        .annotations
        .iter()
        .map(|e| (e.start_s, e.stop_s))
        .collect();
    assert_eq!(spans, [(0.0, 0.0003), (0.0001, 0.0003), (0.0002, 0.0003)]);
}

#[test]
fn bare_recording_round_trips() {
    let rec = IqRecording {
        sample_rate_hz: 48_000.0,
        ..Default::default()
    };
    let back = read_archive_bytes(&archive_bytes("empty", &rec, SigmfDatatype::Ci16Le).unwrap());
    assert_eq!(back.unwrap(), rec);
}

#[test]
fn foreign_meta_with_other_namespaces_is_read() {
    let meta = br#"{
        "global": {"core:datatype": "cf32_le", "core:sample_rate": 2000000,
                   "core:version": "1.0.0", "core:extensions": [], "antenna:gain": 3.5},
        "captures": [{"core:sample_start": 0, "core:frequency": 915000000,
                      "core:datetime": "2024-01-02T03:04:05+01:00", "acme:x": [1, 2]}],
        "annotations": [{"core:sample_start": 1, "core:freq_lower_edge": 914000000,
                         "core:freq_upper_edge": 916000000, "core:comment": "hi; snr_db=3"}]
    }"#;
    let rec = read_meta_and_data(meta, &[0u8; 16]).unwrap();
    assert_eq!(rec.sample_rate_hz, 2e6);
    assert_eq!(rec.center_freq_hz, Some(915e6));
    assert_eq!(rec.start_us, Some(1_704_161_045_000_000));
    assert_eq!(rec.samples.len(), 2);
    let e = &rec.annotations[0];
    assert_eq!((e.start_s, e.stop_s), (0.5e-6, 1e-6));
    assert_eq!(
        (e.freq_lo_hz, e.freq_hi_hz, e.snr_db),
        (-1e6, 1e6, Some(3.0))
    );
}

fn meta_with(global: &str, rest: &str) -> Vec<u8> {
    format!(r#"{{"global": {{{global}}}, "captures": [], "annotations": [] {rest}}}"#).into_bytes()
}

const CF32: &str = r#""core:datatype": "cf32_le", "core:sample_rate": 1000"#;

#[test]
fn meta_errors() {
    let err = |meta: &[u8], data: &[u8]| read_meta_and_data(meta, data).unwrap_err().to_string();
    assert!(err(b"{not json", &[]).starts_with("metadata json does not parse: "));
    assert!(err(b"{}", &[]).contains("missing field `global`"));
    let no_type = meta_with(r#""core:sample_rate": 1000"#, "");
    assert_eq!(
        err(&no_type, &[]),
        "metadata lacks required key global.core:datatype"
    );
    let no_rate = meta_with(r#""core:datatype": "ci16_le""#, "");
    assert_eq!(
        err(&no_rate, &[]),
        "metadata lacks required key global.core:sample_rate"
    );
    let zero_rate = meta_with(r#""core:datatype": "ci16_le", "core:sample_rate": 0"#, "");
    assert!(err(&zero_rate, &[]).contains("global.core:sample_rate has an invalid value: 0"));
    let other = meta_with(r#""core:datatype": "rf64_be", "core:sample_rate": 1"#, "");
    assert!(err(&other, &[]).contains("\"rf64_be\" is not supported"));
    let wrong_type = meta_with(r#""core:datatype": 5"#, "");
    assert!(err(&wrong_type, &[]).contains("invalid type"));
    let two = meta_with(&format!(r#"{CF32}, "core:num_channels": 2"#), "");
    assert_eq!(
        err(&two, &[]),
        "unsupported sigmf feature: 2 channels (only single-channel recordings are read)"
    );
    let bad_time = br#"{"global": {"core:datatype": "cf32_le", "core:sample_rate": 1},
        "captures": [{"core:sample_start": 0, "core:datetime": "yesterday"}], "annotations": []}"#;
    assert!(err(bad_time, &[]).contains("captures[0].core:datetime has an invalid value"));
}

#[test]
fn data_errors() {
    let meta = meta_with(CF32, "");
    let err = read_meta_and_data(&meta, &[0; 12]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data is 12 bytes, not a whole number of 8-byte samples"
    );
    let annotated = br#"{"global": {"core:datatype": "ci16_le", "core:sample_rate": 1},
        "captures": [{"core:sample_start": 0}],
        "annotations": [{"core:sample_start": 2, "core:sample_count": 3}]}"#;
    assert!(read_meta_and_data(annotated, &[0; 20]).is_ok());
    let err = read_meta_and_data(annotated, &[0; 16]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "data holds 4 samples but a metadata annotation reaches sample 5"
    );
}

#[test]
fn file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) = write_pair(
        &dir.path().join("r"),
        &recording(100),
        SigmfDatatype::Ci16Le,
    )
    .unwrap();
    std::fs::write(&data, [0u8; 6]).unwrap();
    let err = read_recording(&meta).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: data is 6 bytes, not a whole number of 4-byte samples",
            data.display()
        )
    );

    std::fs::write(&meta, b"[]").unwrap();
    let err = read_recording(&data).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}: metadata json does not parse", meta.display())),
        "{err}"
    );

    std::fs::remove_file(&data).unwrap();
    let err = read_recording(&meta).unwrap_err();
    assert!(matches!(err, SigmfError::MissingPartner { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: partner file {} is missing",
            meta.display(),
            data.display()
        )
    );
    std::fs::remove_file(&meta).unwrap();
    let err = read_recording(&meta).unwrap_err();
    assert!(matches!(err, SigmfError::Io { .. }), "{err}");
    assert!(err.to_string().starts_with(&meta.display().to_string()));

    let err = read_recording(Path::new("x.wav")).unwrap_err().to_string();
    assert_eq!(
        err,
        "x.wav: not a sigmf path (expected a .sigmf-meta, .sigmf-data or .sigmf file)"
    );
}

#[test]
fn archive_errors() {
    let err = read_archive_bytes(b"definitely not a tar").unwrap_err();
    assert!(err.to_string().starts_with("bad sigmf archive: "), "{err}");
    assert!(matches!(
        read_archive_bytes(&[]),
        Err(SigmfError::BadArchive(_))
    ));

    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    tar.append_data(&mut h, "x/x.sigmf-data", &b"abc"[..])
        .unwrap();
    let only_data = tar.into_inner().unwrap();
    let err = read_archive_bytes(&only_data).unwrap_err().to_string();
    assert_eq!(err, "bad sigmf archive: no .sigmf-meta member");

    let good = archive_bytes("a", &recording(10), SigmfDatatype::Cf32Le).unwrap();
    let err = read_archive_bytes(&good[..512 * 4 + 10])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("bad sigmf archive"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.sigmf");
    let mut archive = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        ("cut/cut.sigmf-data", vec![0u8; 16]),
        (
            "cut/cut.sigmf-meta",
            meta_json_bytes(&recording(1000), SigmfDatatype::Cf32Le).unwrap(),
        ),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        archive.append_data(&mut h, name, bytes.as_slice()).unwrap();
    }
    std::fs::write(&path, archive.into_inner().unwrap()).unwrap();
    let err = read_recording(&path).unwrap_err().to_string();
    let expected = "cut/cut.sigmf-data: data holds 2 samples but a metadata annotation reaches";
    assert!(
        err.starts_with(&format!("{}: {expected}", path.display())),
        "{err}"
    );
}

#[test]
fn write_errors() {
    let rec = recording(1);
    for name in ["", "..", "a/b", "a\\b", "x:y", "tab\t"] {
        let err = archive_bytes(name, &rec, SigmfDatatype::Cf32Le).unwrap_err();
        assert!(matches!(err, SigmfError::BadName(_)), "{name}: {err}");
    }
    let dir = tempfile::tempdir().unwrap();
    let err = write_archive(&dir.path().join("a.tar"), &rec, SigmfDatatype::Cf32Le).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("not a sigmf path (expected a .sigmf archive path)")
    );
    let missing_dir = dir.path().join("nope").join("r");
    let err = write_pair(&missing_dir, &rec, SigmfDatatype::Cf32Le).unwrap_err();
    assert!(err.to_string().contains("nope/r.sigmf-data: "), "{err}");
    let mut bad = rec.clone();
    bad.center_freq_hz = Some(f64::NAN);
    let err = write_pair(&dir.path().join("r"), &bad, SigmfDatatype::Cf32Le).unwrap_err();
    assert!(matches!(err, SigmfError::InvalidRecording(_)), "{err}");
    assert!(!dir.path().join("r.sigmf-data").exists(), "nothing written");
}
