//! Signal tests of the simulator, measured by FFT: in-band SNR calibration, energy
//! containment of the truth bands and intervals, noise statistics and generation speed.

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex32;

use super::channel::EmitterSource;
use super::*;
use crate::dsp::{Emission, WaveformClass};

const FS: f64 = DEFAULT_SAMPLE_RATE_HZ;
const N: f64 = DEFAULT_NOISE_POWER;

/// Mean power of `x` inside `[lo, hi]` Hz and in total (Parseval: `Σ|X_k|²/L²`).
fn band_power(x: &[Complex32], lo: f64, hi: f64) -> (f64, f64) {
    let l = x.len();
    let mut buf = x.to_vec();
    FftPlanner::new().plan_fft_forward(l).process(&mut buf);
    let (mut inside, mut total) = (0.0, 0.0);
    for (k, v) in buf.iter().enumerate() {
        let p = f64::from(v.norm_sqr()) / (l * l) as f64;
        let f = if k < l.div_ceil(2) {
            k as f64
        } else {
            k as f64 - l as f64
        } * FS
            / l as f64;
        total += p;
        if (lo..=hi).contains(&f) {
            inside += p;
        }
    }
    (inside, total)
}

fn db(x: f64) -> f64 {
    10.0 * x.log10()
}

fn samples_of(a: &Emission) -> std::ops::Range<usize> {
    (a.start_s * FS).round() as usize..(a.stop_s * FS).round() as usize
}

/// A random emitter of `class` on from 50 ms for `dur`, without fading.
fn emitter(class: WaveformClass, seed: u64, snr_db: f64, dur: f64) -> EmitterSpec {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut e = random_emitter(&mut rng, class, snr_db, FS, (0.05, dur));
    e.channel.rayleigh_doppler_hz = None;
    e
}

/// Signal-only and noise-only recordings of one emitter (the noise depends only on the seed).
fn split(spec: EmitterSpec, dur: f64, seed: u64) -> (Vec<Complex32>, Vec<Complex32>, Emission) {
    let cfg = SimConfig {
        duration_s: dur + 0.1,
        seed,
        emitters: vec![spec],
        ..SimConfig::default()
    };
    let rec = simulate(&cfg);
    let noise = simulate(&SimConfig {
        emitters: Vec::new(),
        ..cfg
    });
    let sig = rec
        .samples
        .iter()
        .zip(&noise.samples)
        .map(|(a, b)| a - b)
        .collect();
    let truth = rec.annotations.first().cloned().expect("annotated");
    (sig, noise.samples, truth)
}

/// Every emitting class (all but noise).
const CLASSES: &[WaveformClass] = WaveformClass::EMITTERS;

#[test]
fn in_band_snr_is_calibrated_for_every_class() {
    let mut worst: f64 = 0.0;
    for &class in CLASSES {
        // A tone's band is 880 Hz: a longer record steadies its noise estimate.
        let dur = if class == WaveformClass::Cw {
            1.0
        } else {
            0.25
        };
        for (seed, snr_db) in [(1u64, -6.0), (2, 0.0), (3, 12.0)] {
            let spec = emitter(class, seed * 31 + class as u64, snr_db, dur);
            let (sig, noise, t) = split(spec.clone(), dur, seed);
            let on = samples_of(&t);
            let (p_sig, _) = band_power(&sig[on.clone()], t.freq_lo_hz, t.freq_hi_hz);
            let (p_noise, p_noise_all) = band_power(&noise[on], t.freq_lo_hz, t.freq_hi_hz);
            let measured = db(p_sig / p_noise);
            worst = worst.max((measured - snr_db).abs());
            assert!(
                (measured - snr_db).abs() <= 1.0,
                "{class:?} seed {seed}: asked {snr_db} dB, measured {measured:.2} dB; {spec:?}"
            );
            // The in-band noise is N·B/fs (white noise of total power N).
            let expected = N * (t.freq_hi_hz - t.freq_lo_hz) / FS;
            assert!(
                db(p_noise / expected).abs() < 0.7,
                "{class:?}: {p_noise} vs {expected}"
            );
            assert!(db(p_noise_all / N).abs() < 0.1);
            assert_eq!(t.snr_db, Some(snr_db));
        }
    }
    println!("worst in-band SNR error over classes: {worst:.3} dB");
}

#[test]
fn fading_keeps_the_mean_snr_and_multipath_the_in_band_snr() {
    // Rayleigh fading: the mean over realisations of the received power is the target.
    let mut ratios = Vec::new();
    for seed in 0..8 {
        let mut spec = emitter(WaveformClass::Lfm, 100 + seed, 10.0, 1.0);
        spec.channel.rayleigh_doppler_hz = Some(100.0);
        spec.channel.taps.clear();
        let (sig, noise, t) = split(spec, 1.0, seed);
        let on = samples_of(&t);
        let (p_sig, _) = band_power(&sig[on.clone()], t.freq_lo_hz, t.freq_hi_hz);
        let (p_noise, _) = band_power(&noise[on], t.freq_lo_hz, t.freq_hi_hz);
        ratios.push(p_sig / p_noise);
    }
    let mean = db(ratios.iter().sum::<f64>() / ratios.len() as f64);
    println!(
        "fading: per-realisation SNR {:?} dB, mean {mean:.2} dB",
        ratios
            .iter()
            .map(|r| (db(*r) * 10.0).round() / 10.0)
            .collect::<Vec<_>>()
    );
    assert!((mean - 10.0).abs() <= 1.0, "mean {mean}");
    let spread = ratios
        .iter()
        .map(|r| db(*r))
        .fold(f64::NEG_INFINITY, f64::max)
        - ratios.iter().map(|r| db(*r)).fold(f64::INFINITY, f64::min);
    assert!(
        spread > 0.3,
        "fading changes the received power between realisations"
    );
    // Multipath: a strong echo notching the band is compensated over the band.
    let taps = vec![
        Tap {
            delay_samples: 0,
            gain: Complex32::new(1.0, 0.0),
        },
        Tap {
            delay_samples: 3,
            gain: Complex32::new(0.0, 0.6),
        },
        Tap {
            delay_samples: 7,
            gain: Complex32::new(-0.3, 0.0),
        },
    ];
    for class in [WaveformClass::Cw, WaveformClass::Lfm, WaveformClass::Ofdm] {
        let mut spec = emitter(class, 7, 3.0, 0.3);
        spec.channel.taps = taps.clone();
        let (sig, noise, t) = split(spec, 0.3, 5);
        let on = samples_of(&t);
        let (p_sig, _) = band_power(&sig[on.clone()], t.freq_lo_hz, t.freq_hi_hz);
        let (p_noise, _) = band_power(&noise[on], t.freq_lo_hz, t.freq_hi_hz);
        let measured = db(p_sig / p_noise);
        assert!(
            (measured - 3.0).abs() <= 0.7,
            "{class:?} through multipath: {measured:.2} dB"
        );
    }
}

#[test]
fn truth_band_and_interval_hold_the_energy() {
    let mut least = 1.0f64;
    for &class in CLASSES {
        for seed in 0..6u64 {
            let mut rng = StdRng::seed_from_u64(1000 + seed * 17 + class as u64);
            let dur = 0.03 + 0.05 * seed as f64;
            // Fading and echoes included: the band carries the Doppler spread.
            let spec = random_emitter(&mut rng, class, 10.0, FS, (0.01, dur));
            let mut src = EmitterSource::new(&spec, FS, N, seed).expect("valid");
            let n = ((dur + 0.02) * FS) as usize;
            let mut x = vec![Complex32::default(); n];
            src.render_add(0, &mut x);
            let t = src.emission_in(0, n as u64).expect("on");
            let (inside, total) = band_power(&x, t.freq_lo_hz, t.freq_hi_hz);
            let frac = inside / total;
            least = least.min(frac);
            assert!(
                frac >= 0.99,
                "{class:?} seed {seed}: {frac:.4} in band; {spec:?}"
            );
            // On where the truth says: nothing outside, energy right at both ends (unless
            // a fade happens to sit there).
            let on = samples_of(&t);
            let outside: f32 = x[..on.start]
                .iter()
                .chain(&x[on.end..])
                .map(|v| v.norm_sqr())
                .sum();
            assert_eq!(outside, 0.0);
            if spec.channel.rayleigh_doppler_hz.is_some() {
                continue;
            }
            let mean = x[on.clone()]
                .iter()
                .map(|v| f64::from(v.norm_sqr()))
                .sum::<f64>()
                / on.len() as f64;
            let ms = (1e-3 * FS) as usize;
            for edge in [on.start..on.start + ms, on.end - ms..on.end] {
                let p = x[edge.clone()]
                    .iter()
                    .map(|v| f64::from(v.norm_sqr()))
                    .sum::<f64>()
                    / ms as f64;
                assert!(p > 0.05 * mean, "{class:?} seed {seed}: off near {edge:?}");
            }
        }
    }
    println!("least in-band energy fraction over classes and seeds: {least:.4}");
}

#[test]
fn noise_is_white_gaussian_with_the_set_power() {
    let rec = simulate(&SimConfig {
        duration_s: 0.5,
        seed: 9,
        ..SimConfig::default()
    });
    let x = &rec.samples;
    let l = x.len() as f64;
    let p: f64 = x.iter().map(|v| f64::from(v.norm_sqr())).sum::<f64>() / l;
    assert!((p / N - 1.0).abs() < 0.01, "power {p}");
    let m4: f64 = x.iter().map(|v| f64::from(v.re).powi(4)).sum::<f64>() / l;
    let kurtosis = m4 / (N / 2.0).powi(2);
    assert!((kurtosis - 3.0).abs() < 0.05, "kurtosis {kurtosis}");
    let cross: f64 = x.iter().map(|v| f64::from(v.re * v.im)).sum::<f64>() / l;
    assert!(cross.abs() < 0.01 * N);
    for k in 0..8 {
        let lo = -FS / 2.0 + k as f64 * FS / 8.0;
        let (inside, _) = band_power(x, lo, lo + FS / 8.0);
        assert!(
            (inside / (N / 8.0) - 1.0).abs() < 0.03,
            "sub-band {k}: {inside}"
        );
    }
}

#[test]
fn one_second_with_four_emitters_generates_quickly() {
    let mut cfg = scenario("mixed", 4, 1.0).expect("mixed");
    let mut rng = StdRng::seed_from_u64(4);
    cfg.emitters.truncate(4);
    while cfg.emitters.len() < 4 {
        cfg.emitters.push(random_emitter(
            &mut rng,
            WaveformClass::Cw,
            0.0,
            FS,
            (0.0, 1.0),
        ));
    }
    cfg.emitters.iter_mut().for_each(|e| {
        e.start_s = 0.0;
        e.duration_s = 1.0;
    });
    let t0 = Instant::now();
    let rec = simulate(&cfg);
    let took = t0.elapsed();
    let classes: Vec<_> = cfg.emitters.iter().map(|e| e.class().as_str()).collect();
    println!("1 s at 2.4 Msps with 4 emitters {classes:?}: {took:?}");
    assert_eq!(rec.samples.len(), 2_400_000);
    assert!(took.as_secs_f64() < 4.0, "{took:?}");
}
