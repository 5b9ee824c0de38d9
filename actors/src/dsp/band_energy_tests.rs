//! Band-energy detector tests on the seeded simulator: one alert per burst with the true
//! duration, silence on noise and out-of-band emitters, a frozen baseline, the wire format.

use proptest::prelude::*;

use super::*;
use crate::dsp::IqRecording;
use crate::dsp::band_alert::{ALERT_LEN, BandAlertError, DELTA_STEP_DB, MAX_DURATION_MS};
use crate::dsp::sim::{ChannelSpec, EmitterSpec, SimConfig, WaveformParams, simulate};

const FS: f64 = 2.4e6;
/// 2400 samples = 1000 µs exactly, and not a multiple of the FFT size.
const CHUNK: usize = 2400;
/// The simulator's nominal CW bandwidth (ignored by it, but must be positive).
const CW_BW: f64 = 1.5 * FS / 4096.0;

fn band(id: u16, lo_hz: f64, hi_hz: f64) -> Band {
    Band { id, lo_hz, hi_hz }
}

fn config(bands: Vec<Band>) -> BandEnergyConfig {
    BandEnergyConfig {
        bands,
        ..BandEnergyConfig::default()
    }
}

fn emitter(
    params: WaveformParams,
    at: (f64, f64),
    center_hz: f64,
    bw: f64,
    snr_db: f64,
) -> EmitterSpec {
    EmitterSpec {
        start_s: at.0,
        duration_s: at.1,
        center_hz,
        bandwidth_hz: bw,
        snr_db,
        params,
        channel: ChannelSpec::default(),
    }
}

fn ofdm(burst_s: f64) -> WaveformParams {
    WaveformParams::Ofdm {
        subcarriers: 64,
        cp_fraction: 0.125,
        burst_s,
        period_s: burst_s,
    }
}

fn record(seed: u64, duration_s: f64, emitters: Vec<EmitterSpec>) -> IqRecording {
    simulate(&SimConfig {
        duration_s,
        seed,
        emitters,
        ..SimConfig::default()
    })
}

/// Pushes `rec` in chunks of [`CHUNK`] from `t0_us`, then finishes.
fn run(det: &mut BandEnergyDetector, rec: &IqRecording, t0_us: u64) -> Vec<BandAlert> {
    let mut out = Vec::new();
    for (i, chunk) in rec.samples.chunks(CHUNK).enumerate() {
        out.extend(det.push(chunk, t0_us + 1000 * i as u64));
    }
    out.extend(det.finish());
    out
}

fn frame_ms(det: &BandEnergyDetector) -> f64 {
    det.frame_samples() as f64 / FS * 1e3
}

/// One alert for `rec`'s single emission, with duration and start within ±2 frames.
fn assert_one_true_alert(det: &mut BandEnergyDetector, rec: &IqRecording, id: u16) -> BandAlert {
    let truth = rec.annotations.first().expect("one emission").clone();
    let alerts = run(det, rec, 0);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = alerts[0];
    let tol_ms = 2.0 * frame_ms(det);
    let want_ms = (truth.stop_s - truth.start_s) * 1e3;
    assert_eq!(a.band_id, id);
    assert!(
        (f64::from(a.duration_ms) - want_ms).abs() <= tol_ms,
        "duration {} ms vs truth {want_ms:.2} ms",
        a.duration_ms
    );
    assert!(
        (a.ts_us as f64 / 1e3 - truth.start_s * 1e3).abs() <= tol_ms,
        "start {} µs vs truth {} s",
        a.ts_us,
        truth.start_s
    );
    a
}

#[test]
fn ofdm_burst_at_10_db_in_band_gives_one_alert_with_its_duration() {
    let spec = emitter(ofdm(0.05), (0.3, 0.05), 300e3, 200e3, 10.0);
    let rec = record(1, 0.6, vec![spec]);
    let t = &rec.annotations[0];
    let cfg = config(vec![
        band(7, t.freq_lo_hz, t.freq_hi_hz),
        band(8, -600e3, -400e3),
    ]);
    assert!(cfg.problems(FS).is_empty());
    let a = assert_one_true_alert(&mut BandEnergyDetector::new(&cfg, FS), &rec, 7);
    assert!((9.0..12.0).contains(&a.delta_db), "{a:?}");
    assert!(a.confidence > 100, "{a:?}");
}

#[test]
fn cw_at_10_db_in_its_band_gives_one_alert_with_its_duration() {
    // A tone on bin 40 of 256; the band holds bins 39..=41, which carry all of the
    // Hann-windowed tone's energy and 3·fs/256 of noise. The simulator's SNR is against its
    // tone band of 1.5·fs/4096, 32× narrower: +10 dB in our band is +25.05 dB there.
    let f0 = 40.0 * FS / 256.0;
    let spec = emitter(WaveformParams::Cw, (0.25, 0.2), f0, CW_BW, 25.05);
    let rec = record(2, 0.6, vec![spec]);
    let cfg = config(vec![band(3, f0 - 10e3, f0 + 10e3)]);
    let a = assert_one_true_alert(&mut BandEnergyDetector::new(&cfg, FS), &rec, 3);
    // Mean excess 10.4 dB (10·log₁₀ 11); the peak frame adds the noise's upper tail.
    assert!((10.0..13.0).contains(&a.delta_db), "{a:?}");
}

#[test]
fn ten_seconds_of_noise_raise_no_alert() {
    let cfg = config(vec![
        band(1, -1.1e6, -0.9e6),
        band(2, -5e3, 5e3), // narrower than a bin: the nearest bin
        band(3, 100e3, 120e3),
        band(4, 0.0, 1.19e6),
    ]);
    let mut det = BandEnergyDetector::new(&cfg, FS);
    for s in 0..10u64 {
        // Independent seeds: concatenated white noise is white noise.
        let rec = record(100 + s, 1.0, Vec::new());
        for (i, chunk) in rec.samples.chunks(CHUNK).enumerate() {
            let alerts = det.push(chunk, s * 1_000_000 + 1000 * i as u64);
            assert!(alerts.is_empty(), "second {s}: {alerts:?}");
        }
    }
    assert!(det.finish().is_empty());
    assert!(det.frames() > 9000);
}

#[test]
fn an_emitter_outside_every_band_raises_no_alert() {
    let spec = emitter(ofdm(0.1), (0.2, 0.1), -500e3, 200e3, 20.0);
    let rec = record(3, 0.5, vec![spec]);
    let cfg = config(vec![band(1, -300e3, -100e3), band(2, 100e3, 700e3)]);
    let alerts = run(&mut BandEnergyDetector::new(&cfg, FS), &rec, 0);
    assert!(alerts.is_empty(), "{alerts:?}");
}

#[test]
fn baseline_is_frozen_while_a_band_is_up() {
    // 2 s on: with alpha 0.002 (~0.5 s) an unfrozen baseline would swallow it.
    let f0 = 40.0 * FS / 256.0;
    let spec = emitter(WaveformParams::Cw, (0.4, 2.0), f0, CW_BW, 30.0);
    let rec = record(4, 2.8, vec![spec]);
    let cfg = config(vec![band(9, f0 - 10e3, f0 + 10e3)]);
    let mut det = BandEnergyDetector::new(&cfg, FS);
    let before = {
        let mut d = BandEnergyDetector::new(&cfg, FS);
        d.push(&rec.samples[..(0.35 * FS) as usize], 0);
        d.baseline_db(9).expect("band")
    };
    assert_one_true_alert(&mut det, &rec, 9);
    let after = det.baseline_db(9).expect("band");
    assert!((after - before).abs() < 0.5, "{before} → {after}");
}

#[test]
fn onset_alerts_come_first_when_enabled_and_chunking_does_not_matter() {
    let spec = emitter(ofdm(0.03), (0.2, 0.03), -200e3, 300e3, 12.0);
    let rec = record(5, 0.4, vec![spec]);
    let t = &rec.annotations[0];
    let cfg = BandEnergyConfig {
        onset_alerts: true,
        ..config(vec![band(5, t.freq_lo_hz, t.freq_hi_hz)])
    };
    let alerts = run(&mut BandEnergyDetector::new(&cfg, FS), &rec, 5_000_000);
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts[0].is_onset() && !alerts[1].is_onset());
    assert_eq!(alerts[0].ts_us, alerts[1].ts_us);
    // Whole-recording push, one timestamp: the same alerts.
    let mut det = BandEnergyDetector::new(&cfg, FS);
    let mut whole = det.push(&rec.samples, 5_000_000);
    whole.extend(det.finish());
    assert_eq!(whole, alerts);
}

#[test]
fn problems_name_bad_settings() {
    assert!(config(vec![band(1, -1e3, 1e3)]).problems(FS).is_empty());
    let keys = |c: &BandEnergyConfig| c.problems(FS).into_iter().map(|p| p.0).collect::<Vec<_>>();
    assert_eq!(keys(&config(Vec::new())), ["bands"]);
    assert_eq!(keys(&config(vec![band(1, 2e3, 1e3)])), ["bands"]);
    assert_eq!(keys(&config(vec![band(1, 0.0, 1.3e6)])), ["bands"]);
    assert_eq!(
        keys(&config(vec![band(1, 0.0, 1.0), band(1, 2.0, 3.0)])),
        ["bands"]
    );
    let many = (0..65).map(|i| band(i, 0.0, 1.0)).collect();
    assert_eq!(keys(&config(many)), ["bands"]);
    let bad = BandEnergyConfig {
        fft_size: 100,
        frame_samples: 1000,
        baseline_alpha: 0.0,
        rise_db: 3.0,
        fall_db: 3.0,
        min_frames: 0,
        ..config(vec![band(1, 0.0, 1.0)])
    };
    assert_eq!(
        keys(&bad),
        ["fft_size", "baseline_alpha", "fall_db", "min_frames"]
    );
    let json = serde_json::to_string(&config(vec![band(1, 0.0, 1.0)])).expect("json");
    let back: BandEnergyConfig = serde_json::from_str(&json).expect("parse");
    assert_eq!(back, config(vec![band(1, 0.0, 1.0)]));
    assert!(serde_json::from_str::<BandEnergyConfig>(r#"{"nope": 1}"#).is_err());
}

#[test]
fn alert_round_trips_through_its_twelve_bytes() {
    let a = BandAlert {
        band_id: 0xBEEF,
        delta_db: 10.375,
        duration_ms: 123_456, // > 2¹⁶ and even: exact as m·2¹
        confidence: 200,
        ts_us: 1_767_225_600_123_000,
    };
    let bytes = a.encode();
    assert_eq!(bytes.len(), ALERT_LEN);
    assert_eq!(&bytes[..2], &[0xEF, 0xBE]);
    assert_eq!(BandAlert::decode(&bytes), Ok(a));
    assert_eq!(
        BandAlert::decode(&bytes[..11]),
        Err(BandAlertError::Length(11))
    );
}

proptest! {
    #[test]
    fn decode_never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let got = BandAlert::decode(&bytes);
        prop_assert_eq!(got.is_ok(), bytes.len() == ALERT_LEN);
        if let Ok(a) = got {
            // Decoded values re-encode to an alert that decodes the same.
            prop_assert_eq!(BandAlert::decode(&a.encode()), Ok(a));
        }
    }

    #[test]
    fn encoding_quantizes_within_its_steps(
        band_id: u16,
        confidence: u8,
        delta_db in 0.0f32..127.8,
        duration_ms: u32,
        ts_us in 0u64..4_000_000_000_000_000,
    ) {
        let a = BandAlert { band_id, delta_db, duration_ms, confidence, ts_us };
        let b = BandAlert::decode(&a.encode()).expect("12 bytes");
        prop_assert_eq!((b.band_id, b.confidence), (band_id, confidence));
        prop_assert!((b.delta_db - delta_db).abs() <= DELTA_STEP_DB / 2.0 + 1e-4);
        let d = duration_ms.min(MAX_DURATION_MS);
        prop_assert!(b.duration_ms <= d);
        prop_assert!(f64::from(d - b.duration_ms) <= f64::from(d) / 32768.0);
        prop_assert!(ts_us - b.ts_us < 1000);
    }
}
