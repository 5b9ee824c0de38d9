//! `fieldmesh analyze`: finds what is in a SigMF recording (boxes in absolute frequency),
//! and refuses truncated data, broken metadata and unsupported datatypes with exit code 2.

use crate::common;

use std::path::Path;

use common::bin;
use fieldmesh_actors::dsp::sigmf::{SigmfDatatype, write_pair};
use fieldmesh_actors::dsp::{Complex32, Emission, IqRecording};

/// 0.5 s of noise with a +10 dB tone at +300 kHz from 0.1 to 0.3 s, at 2.4 Msps.
fn recording() -> IqRecording {
    let fs = 2.4e6;
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut uniform = move || rng.random::<f64>().max(1e-12);
    let sigma = (1e-4f64 / 2.0).sqrt();
    let amp = (10.0 * 1e-4 * 1.5 / 4096.0f64).sqrt();
    let samples = (0..(fs * 0.5) as usize)
        .map(|i| {
            let t = i as f64 / fs;
            let mut g =
                || (-2.0 * uniform().ln()).sqrt() * (std::f64::consts::TAU * uniform()).cos();
            let (mut re, mut im) = (sigma * g(), sigma * g());
            if (0.1..0.3).contains(&t) {
                let ph = std::f64::consts::TAU * 300e3 * t;
                re += amp * ph.cos();
                im += amp * ph.sin();
            }
            Complex32::new(re as f32, im as f32)
        })
        .collect();
    IqRecording {
        sample_rate_hz: fs,
        center_freq_hz: Some(433.0e6),
        start_us: None,
        samples,
        annotations: vec![Emission {
            start_s: 0.1,
            stop_s: 0.3,
            freq_lo_hz: 299e3,
            freq_hi_hz: 301e3,
            label: "cw".into(),
            snr_db: Some(10.0),
        }],
    }
}

fn analyze(path: &Path) -> std::process::Output {
    bin()
        .args(["analyze", "--json"])
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn finds_the_tone_in_absolute_frequency() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, _) = write_pair(
        &dir.path().join("tone"),
        &recording(),
        SigmfDatatype::Ci16Le,
    )
    .unwrap();
    let out = analyze(&meta);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let b = &lines[0];
    for k in ["start_s", "stop_s", "freq_lo_hz", "freq_hi_hz", "snr_db"] {
        assert!(b[k].is_f64(), "{k} missing in {b}");
    }
    let f = |k: &str| b[k].as_f64().unwrap();
    assert!(
        f("freq_lo_hz") <= 433.3e6 && f("freq_hi_hz") >= 433.3e6,
        "{b}"
    );
    assert!(
        (f("start_s") - 0.1).abs() < 0.002 && (f("stop_s") - 0.3).abs() < 0.002,
        "{b}"
    );
}

#[test]
fn bad_recordings_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let (meta, data) =
        write_pair(&dir.path().join("r"), &recording(), SigmfDatatype::Cf32Le).unwrap();

    let bytes = std::fs::read(&data).unwrap();
    std::fs::write(&data, &bytes[..bytes.len() - 3]).unwrap();
    let out = analyze(&meta);
    assert_eq!(out.status.code(), Some(2), "truncated data");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    std::fs::write(&meta, b"{ not json").unwrap();
    assert_eq!(
        analyze(&meta).status.code(),
        Some(2),
        "meta that does not parse"
    );

    let text = std::fs::read_to_string(dir.path().join("r.sigmf-meta")).unwrap_or_default();
    let _ = text;
    std::fs::write(
        &meta,
        br#"{"global":{"core:datatype":"ru8","core:sample_rate":1000000,"core:version":"1.2.0"},"captures":[{"core:sample_start":0}],"annotations":[]}"#,
    )
    .unwrap();
    let out = analyze(&meta);
    assert_eq!(out.status.code(), Some(2), "unsupported datatype");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ru8"));

    assert_eq!(
        analyze(&dir.path().join("missing.sigmf-meta"))
            .status
            .code(),
        Some(2)
    );
}

/// `simulate` then `analyze`: what was simulated is found (wideband scenario at the SNRs the
/// detector handles today; CW at low SNR is out of reach, see docs/benchmarks.md).
#[test]
fn simulate_then_analyze_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args([
            "simulate",
            "--scenario",
            "ofdm",
            "--count",
            "3",
            "--duration",
            "0.5",
            "--seed",
            "11",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut truths = 0;
    let mut found = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("sigmf-meta") {
            continue;
        }
        let rec = fieldmesh_actors::dsp::sigmf::read_recording(&path).unwrap();
        let center = rec.center_freq_hz.unwrap_or(0.0);
        let out = analyze(&path);
        assert!(out.status.success());
        let boxes: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for t in rec
            .annotations
            .iter()
            .filter(|t| t.snr_db.unwrap_or(0.0) >= 0.0)
        {
            truths += 1;
            let hit = boxes.iter().any(|b| {
                let f = |k: &str| b[k].as_f64().unwrap();
                f("start_s") < t.stop_s
                    && t.start_s < f("stop_s")
                    && f("freq_lo_hz") < center + t.freq_hi_hz
                    && center + t.freq_lo_hz < f("freq_hi_hz")
            });
            found += usize::from(hit);
        }
    }
    assert!(truths >= 3, "the scenario had emitters at ≥ 0 dB: {truths}");
    assert_eq!(found, truths, "every emitter at ≥ 0 dB was found");
    let bad = bin()
        .args(["simulate", "--scenario", "nope", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
