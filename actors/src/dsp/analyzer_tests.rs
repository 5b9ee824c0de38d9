//! Tests of `analyzer`.

use super::*;
use rand::{RngExt, SeedableRng};

/// Complex white noise of total power `n` plus a tone of in-band SNR `snr_db` (tone
/// bandwidth: 1.5 bins at nfft 4096) between `t0` and `t1`.
fn tone_in_noise(
    fs: f64,
    secs: f64,
    f0: f64,
    snr_db: f64,
    t0: f64,
    t1: f64,
    seed: u64,
) -> Vec<Complex32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let n = 1e-4;
    let sigma = (n / 2.0f64).sqrt();
    let p_tone = 10f64.powf(snr_db / 10.0) * n * 1.5 / 4096.0;
    let a = p_tone.sqrt();
    (0..(fs * secs) as usize)
        .map(|i| {
            let g = |rng: &mut rand::rngs::StdRng| {
                let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            };
            let t = i as f64 / fs;
            let (mut re, mut im) = (sigma * g(&mut rng), sigma * g(&mut rng));
            if (t0..t1).contains(&t) {
                let ph = std::f64::consts::TAU * f0 * t;
                re += a * ph.cos();
                im += a * ph.sin();
            }
            Complex32::new(re as f32, im as f32)
        })
        .collect()
}

#[test]
fn finds_a_tone_with_tight_edges_and_a_fair_snr() {
    let fs = 2.4e6;
    let x = tone_in_noise(fs, 0.5, 300e3, 10.0, 0.1, 0.3, 1);
    let mut a = Analyzer::new(&AnalyzerConfig::default(), fs);
    let mut boxes = Vec::new();
    for chunk in x.chunks(100_000) {
        boxes.extend(a.push(chunk));
    }
    boxes.extend(a.finish());
    assert_eq!(boxes.len(), 1, "{boxes:#?}");
    let b = &boxes[0];
    let hop_s = 2048.0 / fs;
    assert!(
        (b.start_s - 0.1).abs() <= 2.0 * hop_s,
        "start {} {b:?}",
        b.start_s
    );
    assert!((b.stop_s - 0.3).abs() <= 2.0 * hop_s, "stop {}", b.stop_s);
    let bin = fs / 4096.0;
    assert!(b.freq_lo_hz <= 300e3 && b.freq_hi_hz >= 300e3);
    assert!(
        b.freq_hi_hz - b.freq_lo_hz <= 8.0 * bin,
        "width {}",
        b.freq_hi_hz - b.freq_lo_hz
    );
    assert!((b.snr_db - 10.0).abs() < 3.0, "snr {}", b.snr_db);
}

#[test]
fn noise_alone_gives_nothing() {
    let fs = 2.4e6;
    let x = tone_in_noise(fs, 2.0, 0.0, -100.0, 0.0, 0.0, 2);
    let mut a = Analyzer::new(&AnalyzerConfig::default(), fs);
    let mut boxes = a.push(&x);
    boxes.extend(a.finish());
    assert!(boxes.is_empty(), "{boxes:#?}");
}

/// A carrier that never stops must not hold back the boxes of other emissions (they are
/// reported while streaming, not only at the end), and a non-finite sample must not blind
/// the detector.
#[test]
fn a_permanent_carrier_does_not_hold_back_other_boxes_and_nan_is_harmless() {
    let fs = 2.4e6;
    let carrier = tone_in_noise(fs, 3.0, -500e3, 20.0, 0.0, 3.0, 11);
    let burst = tone_in_noise(fs, 3.0, 400e3, 15.0, 1.0, 1.2, 12);
    let mut x: Vec<Complex32> = carrier.iter().zip(&burst).map(|(a, b)| a + b).collect();
    x[(0.5 * fs) as usize] = Complex32::new(f32::NAN, f32::INFINITY);
    let mut a = Analyzer::new(&AnalyzerConfig::default(), fs);
    let mut streamed = Vec::new();
    for chunk in x.chunks(1 << 16) {
        streamed.extend(a.push(chunk));
    }
    assert!(
        streamed.iter().any(|b| b.freq_lo_hz <= 400e3
            && b.freq_hi_hz >= 400e3
            && (b.start_s - 1.0).abs() < 0.01),
        "the burst is reported while the carrier is still on: {streamed:#?}"
    );
    assert!(
        streamed.iter().all(|b| b.bin_hi - b.bin_lo < 100),
        "nothing covers the whole band: {streamed:#?}"
    );
}

#[test]
fn a_faint_long_carrier_is_found_by_the_long_windows_alone() {
    // +2 dB in-band for 150 ms: a row holds about 1.3× the noise in the tone's bin, which
    // 16 rows cannot tell from noise at the configured false-alarm rate; 64 rows can.
    let fs = 2.4e6;
    let x = tone_in_noise(fs, 0.4, 300e3, 2.0, 0.1, 0.25, 2);
    let run = |cfg: &AnalyzerConfig| {
        let mut a = Analyzer::new(cfg, fs);
        let mut boxes = Vec::new();
        for chunk in x.chunks(100_000) {
            boxes.extend(a.push(chunk));
        }
        boxes.extend(a.finish());
        boxes
    };
    let boxes = run(&AnalyzerConfig::default());
    assert_eq!(boxes.len(), 1, "{boxes:#?}");
    let b = &boxes[0];
    assert!(b.freq_lo_hz <= 300e3 && b.freq_hi_hz >= 300e3, "{b:?}");
    assert!(b.start_s < 0.25 && b.stop_s > 0.1, "{b:?}");
    let mut short = AnalyzerConfig::default();
    short.cfar.scales.retain(|s| s.rows <= 16);
    assert!(run(&short).is_empty(), "short windows alone should miss it");
}
