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

/// Edge errors of the box that best overlaps the one emitter of `spec`, in hops and bins:
/// (start, stop, lo, hi) and the truth's width in bins.
fn edge_errors_of(spec: crate::dsp::sim::EmitterSpec, seed: u64) -> ([f64; 4], f64) {
    use crate::dsp::score::Score;
    use crate::dsp::sim::{SimConfig, simulate};
    let fs = 2.4e6;
    let rec = simulate(&SimConfig {
        sample_rate_hz: fs,
        duration_s: spec.start_s + spec.duration_s + 0.04,
        seed,
        emitters: vec![spec],
        ..SimConfig::default()
    });
    let boxes = analyze_recording(&AnalyzerConfig::default(), &rec);
    let score = Score::of(&rec.annotations, &boxes);
    let m = &score.matches[0];
    let b = &boxes[m.found.expect("found")];
    let (t, hop, bin) = (&m.truth, 2048.0 / fs, fs / 4096.0);
    (
        [
            (b.start_s - t.start_s) / hop,
            (b.stop_s - t.stop_s) / hop,
            (b.freq_lo_hz - t.freq_lo_hz) / bin,
            (b.freq_hi_hz - t.freq_hi_hz) / bin,
        ],
        (t.freq_hi_hz - t.freq_lo_hz) / bin,
    )
}

/// The goal's edges at +6 dB (time within 2 hops, frequency within 5 % of the bandwidth
/// plus 2 bins) for a tone: its box is cut on the unsmoothed spectrum (not 5 bins wide) and
/// its ends judged on the tone's own bins, weighted by its excess.
#[test]
fn a_6_db_tone_gets_edges_within_the_goal() {
    use crate::dsp::sim::{ChannelSpec, EmitterSpec, WaveformParams};
    let mut time_err = 0.0;
    for seed in 0..8u64 {
        let spec = EmitterSpec {
            start_s: 0.06,
            duration_s: 0.02 + 0.01 * (seed % 5) as f64,
            center_hz: -900e3 + 230e3 * seed as f64 + 37.0 * seed as f64,
            bandwidth_hz: 0.0,
            snr_db: 6.0,
            params: WaveformParams::Cw,
            channel: ChannelSpec::default(),
        };
        let ([ds, de, dl, dh], width) = edge_errors_of(spec, seed);
        eprintln!("seed {seed}: start {ds:+.1} stop {de:+.1} hops, lo {dl:+.1} hi {dh:+.1} bins");
        let df = 0.05 * width + 2.0;
        time_err += (ds.abs() + de.abs()) / 16.0;
        assert!(
            dl.abs() <= df && dh.abs() <= df,
            "seed {seed}: lo {dl:+.1} hi {dh:+.1} bins"
        );
    }
    // A row holds about 3× the noise in the tone's bins and fluctuates as much: an edge
    // row now and then reads as noise, so single edges miss by up to ~5 hops.
    assert!(time_err <= 2.5, "mean time-edge error {time_err:.2} hops");
}

/// A track opened by a long window reaches back over its whole integration; a sweeping
/// chirp's first rows lie outside the band known when its start was first judged. Both
/// starts are judged again on the final band when the track closes.
#[test]
fn a_sweeping_chirp_starts_and_stops_where_it_does() {
    use crate::dsp::sim::{ChannelSpec, EmitterSpec, LfmShape, WaveformParams};
    let mut stop_err = 0.0;
    for (seed, shape) in [
        LfmShape::SawtoothUp,
        LfmShape::SawtoothDown,
        LfmShape::Triangle,
    ]
    .into_iter()
    .enumerate()
    {
        let spec = EmitterSpec {
            start_s: 0.06,
            duration_s: 0.04,
            center_hz: 100e3,
            bandwidth_hz: 800e3,
            snr_db: 6.0,
            params: WaveformParams::Lfm {
                shape,
                period_s: 10e-3,
            },
            channel: ChannelSpec::default(),
        };
        let ([ds, de, ..], _) = edge_errors_of(spec, seed as u64);
        eprintln!("{shape:?}: start {ds:+.1} stop {de:+.1} hops");
        assert!(ds.abs() <= 2.0, "{shape:?}: start {ds:+.1} hops");
        stop_err += de.abs() / 3.0;
    }
    assert!(stop_err <= 2.0, "mean stop error {stop_err:.2} hops");
}
