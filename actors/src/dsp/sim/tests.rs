//! Structural tests of the simulator: determinism, code properties, scenarios, the
//! streaming source and full-scale headroom.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rustfft::num_complex::Complex32;

use super::codes::{BARKER13, frank, is_prime, p4, welch_costas};
use super::*;
use crate::dsp::WaveformClass;

#[test]
fn same_seed_same_samples_other_seed_differs() {
    let cfg = scenario("mixed", 7, 0.1).expect("scenario");
    let a = simulate(&cfg);
    let b = simulate(&cfg);
    assert_eq!(a, b);
    let c = simulate(&SimConfig {
        seed: 8,
        ..cfg.clone()
    });
    assert_ne!(a.samples, c.samples);
    assert!(!a.annotations.is_empty());
}

#[test]
fn costas_sequences_have_distinct_displacement_vectors() {
    for p in (3..=31).filter(|&p| is_prime(p)) {
        let seq = welch_costas(p).expect("prime");
        let n = seq.len();
        assert_eq!(n, p as usize - 1);
        let mut sorted = seq.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (1..p).collect::<Vec<_>>(), "permutation of 1..p");
        // Costas property: for every shift, the differences are all distinct.
        for shift in 1..n {
            let mut diffs: Vec<i64> = (0..n - shift)
                .map(|i| i64::from(seq[i + shift]) - i64::from(seq[i]))
                .collect();
            diffs.sort_unstable();
            diffs.dedup();
            assert_eq!(diffs.len(), n - shift, "p = {p}, shift {shift}");
        }
    }
    assert_eq!(welch_costas(9), None);
    assert_eq!(welch_costas(2), None);
}

#[test]
fn barker13_sidelobes_at_most_one() {
    let c: Vec<i32> = BARKER13.iter().map(|&x| i32::from(x)).collect();
    let peak: i32 = c.iter().map(|x| x * x).sum();
    assert_eq!(peak, 13);
    for lag in 1..13 {
        let r: i32 = (0..13 - lag).map(|i| c[i] * c[i + lag]).sum();
        assert!(r.abs() <= 1, "lag {lag}: {r}");
    }
}

#[test]
fn frank_and_p4_codes_have_their_length_and_ideal_periodic_autocorrelation() {
    let check = |phases: Vec<f64>| {
        let l = phases.len();
        let z: Vec<Complex32> = phases
            .iter()
            .map(|&p| Complex32::from_polar(1.0, p as f32))
            .collect();
        for lag in 1..l {
            let r: Complex32 = (0..l).map(|i| z[i] * z[(i + lag) % l].conj()).sum();
            assert!(
                r.norm() < 1e-3 * l as f32,
                "L = {l}, lag {lag}: {}",
                r.norm()
            );
        }
    };
    for m in 4..=8 {
        let code = frank(m);
        assert_eq!(code.len(), (m * m) as usize);
        check(code);
    }
    for n in [16, 36, 64] {
        assert_eq!(p4(n).len(), n as usize);
        check(p4(n));
    }
}

#[test]
fn scenarios_build_with_valid_disjoint_emitters() {
    let fs = DEFAULT_SAMPLE_RATE_HZ;
    for &name in SCENARIOS {
        for seed in 0..4 {
            let cfg = scenario(name, seed, 0.5).expect(name);
            assert_eq!(cfg.sample_rate_hz, fs);
            let n = cfg.emitters.len();
            match name {
                "noise" => assert_eq!(n, 0),
                "mixed" => assert!((3..=5).contains(&n), "{name}: {n}"),
                "weak" => assert!((2..=4).contains(&n), "{name}: {n}"),
                _ => assert!((2..=3).contains(&n), "{name}: {n}"),
            }
            let mut bands = Vec::new();
            for e in &cfg.emitters {
                let t = e.truth(fs).expect("valid").expect("not silent");
                assert!(t.stop_s - t.start_s >= 0.02, "{name}: {t:?}");
                assert!(t.start_s >= 0.0 && t.stop_s <= 0.5 + 1e-5, "{name}: {t:?}");
                assert!(
                    t.freq_lo_hz >= -0.45 * fs && t.freq_hi_hz <= 0.45 * fs,
                    "{t:?}"
                );
                if let Some(class) = WaveformClass::parse(name) {
                    assert_eq!(e.class(), class);
                }
                let snr = if name == "weak" {
                    -6.0..=0.0
                } else {
                    -6.0..=20.0
                };
                assert!(snr.contains(&e.snr_db), "{name}: {}", e.snr_db);
                bands.push((t.freq_lo_hz, t.freq_hi_hz));
            }
            bands.sort_by(|a, b| a.0.total_cmp(&b.0));
            for w in bands.windows(2) {
                assert!(w[0].1 < w[1].0, "{name} seed {seed}: overlapping {w:?}");
            }
        }
    }
    let rec = simulate(&scenario("noise", 1, 0.05).expect("noise"));
    assert!(rec.annotations.is_empty());
    assert_eq!(rec.samples.len(), 120_000);
    assert!(matches!(
        scenario("radar", 0, 1.0),
        Err(ScenarioError::Unknown(_))
    ));
    assert!(matches!(
        scenario("mixed", 0, 0.01),
        Err(ScenarioError::Duration(_))
    ));
}

#[test]
fn invalid_emitters_are_reported_and_skipped() {
    let fs = DEFAULT_SAMPLE_RATE_HZ;
    let mut rng = StdRng::seed_from_u64(3);
    let good = random_emitter(&mut rng, WaveformClass::Lfm, 0.0, fs, (0.0, 0.05));
    let bad_costas = EmitterSpec {
        params: WaveformParams::Costas {
            prime: 9,
            hop_s: 1e-3,
        },
        ..good.clone()
    };
    assert_eq!(bad_costas.truth(fs), Err(SpecError::Param("Costas prime")));
    let nan = EmitterSpec {
        duration_s: f64::NAN,
        ..good.clone()
    };
    assert_eq!(nan.truth(fs), Err(SpecError::Timing));
    let aliased = EmitterSpec {
        center_hz: 1.2e6,
        ..good.clone()
    };
    assert_eq!(aliased.truth(fs), Err(SpecError::OutsideNyquist));
    let cfg = SimConfig {
        duration_s: 0.1,
        emitters: vec![bad_costas, good, nan, aliased],
        ..SimConfig::default()
    };
    let rec = simulate(&cfg);
    assert_eq!(rec.annotations.len(), 1);
    assert_eq!(rec.annotations[0].label, "lfm");
}

#[test]
fn stream_windows_are_contiguous_slices_of_one_scene() {
    let fs = 1e6;
    let sizes = [1usize, 4095, 100_000, 333_333, 262_144, 498_427];
    let total: usize = sizes.iter().sum();
    let mut whole = SimStream::new(11, fs, 433.9e6).with_start_us(1_000);
    let one = whole.next_window(total);
    let mut parts = SimStream::new(11, fs, 433.9e6).with_start_us(1_000);
    let mut joined = Vec::with_capacity(total);
    let mut at = 0usize;
    let mut pieces = Vec::new();
    for &n in &sizes {
        let w = parts.next_window(n);
        assert_eq!(w.samples.len(), n);
        assert_eq!(
            w.start_us,
            Some(1_000 + (at as f64 * 1e6 / fs).round() as u64)
        );
        for a in &w.annotations {
            assert!(0.0 <= a.start_s && a.start_s < a.stop_s, "{a:?}");
            assert!(a.stop_s <= n as f64 / fs + 1e-9, "{a:?}");
            pieces.push((a.clone(), at));
        }
        joined.extend_from_slice(&w.samples);
        at += n;
    }
    // Bit-identical: same noise, same emitters, phase-continuous across every boundary.
    assert_eq!(joined, one.samples);
    assert!(one.annotations.len() >= 2, "{:?}", one.annotations);
    // Each whole-scene annotation is the union of its clipped pieces.
    for a in &one.annotations {
        let mine: Vec<_> = pieces
            .iter()
            .filter(|(p, _)| p.freq_lo_hz == a.freq_lo_hz && p.label == a.label)
            .map(|(p, off)| (p.start_s + *off as f64 / fs, p.stop_s + *off as f64 / fs))
            .collect();
        assert!(!mine.is_empty());
        let first = mine.iter().map(|m| m.0).fold(f64::INFINITY, f64::min);
        let last = mine.iter().map(|m| m.1).fold(0.0, f64::max);
        assert!((first - a.start_s).abs() < 1e-6 && (last - a.stop_s).abs() < 1e-6);
        let covered: f64 = mine.iter().map(|m| m.1 - m.0).sum();
        assert!(
            (covered - (a.stop_s - a.start_s)).abs() < 1e-6,
            "gaps in {mine:?}"
        );
    }
}

#[test]
fn no_clipping_at_plus_20_db() {
    // Worst realistic case: a 1 MHz Barker train at 10 % duty (peak power ×10), a 0.8 MHz
    // OFDM burst train and a chirp, all at +20 dB, plus random +20 dB scenes.
    let mut worst = SimConfig {
        duration_s: 0.1,
        ..SimConfig::default()
    };
    let at = |center_hz: f64, bandwidth_hz: f64, params| EmitterSpec {
        start_s: 0.0,
        duration_s: 0.1,
        center_hz,
        bandwidth_hz,
        snr_db: 20.0,
        params,
        channel: ChannelSpec::default(),
    };
    worst.emitters = vec![
        at(-0.5e6, 1e6, WaveformParams::Barker13 { pri_chips: 130 }),
        at(
            0.5e6,
            0.8e6,
            WaveformParams::Ofdm {
                subcarriers: 64,
                cp_fraction: 0.25,
                burst_s: 0.01,
                period_s: 0.02,
            },
        ),
        at(
            0.98e6,
            0.1e6,
            WaveformParams::Lfm {
                shape: LfmShape::Triangle,
                period_s: 0.01,
            },
        ),
    ];
    let mut configs = vec![worst];
    for seed in 0..6 {
        let mut cfg = scenario("mixed", seed, 0.2).expect("mixed");
        cfg.emitters.iter_mut().for_each(|e| e.snr_db = 20.0);
        configs.push(cfg);
    }
    let mut highest = 0.0f32;
    for cfg in &configs {
        let rec = simulate(cfg);
        assert_eq!(rec.annotations.len(), cfg.emitters.len());
        let peak = rec
            .samples
            .iter()
            .map(|s| s.re.abs().max(s.im.abs()))
            .fold(0.0f32, f32::max);
        assert!(peak < 1.0, "peak {peak}");
        assert!(peak > 0.03, "peak {peak}: emitters missing?");
        highest = highest.max(peak);
    }
    println!("highest |I| or |Q| over +20 dB scenes: {highest:.3}");
}
