//! Tests of `cfar`.

use super::*;
use rand::{RngExt, SeedableRng};

#[test]
fn gamma_threshold_matches_known_values() {
    assert!((gamma_mean_threshold(1, 1e-6) - 13.8155).abs() < 1e-3);
    // Sum of 2 exponentials: P(S > x) = e^{-x}(1 + x) = 1e-6 at x ≈ 16.7
    let x = gamma_mean_threshold(2, 1e-6) * 2.0;
    assert!(((-x).exp() * (1.0 + x) - 1e-6).abs() < 1e-9);
    // Large n approaches 1 + z/√n.
    let t = gamma_mean_threshold(10_000, 1e-9);
    assert!((1.05..1.07).contains(&t), "{t}");
}

#[test]
fn false_alarm_rate_on_independent_noise_matches_the_design() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let nbins = 512;
    let cfg = CfarConfig {
        pfa: 1e-3,
        row_corr: 1.0,
        bin_corr: 1.0,
        ..CfarConfig::default()
    };
    let mut cfar = Cfar::new(nbins, &cfg);
    let mut hits = Vec::new();
    let rows = 2000;
    for r in 0..rows {
        let row: Vec<f32> = (0..nbins)
            .map(|_| -(1.0 - rng.random::<f32>()).max(1e-12).ln())
            .collect();
        cfar.push(r, &row, &mut hits);
    }
    for s in &cfg.scales {
        let evals = if s.rows == 1 {
            rows as usize
        } else {
            rows as usize / (s.rows / 2) - 1
        };
        let tests = evals * ((nbins - s.bins) / (s.bins / 2).max(1) + 1);
        let n = hits
            .iter()
            .filter(|h| h.rows as usize == s.rows && (h.hi - h.lo) as usize == s.bins)
            .count();
        let rate = n as f64 / tests as f64;
        assert!(rate < 2.5e-3, "scale {s:?}: false-alarm rate {rate}");
    }
}

#[test]
fn finds_a_weak_wide_signal_by_integration_and_a_strong_short_one_directly() {
    let nbins = 1024;
    let mut cfar = Cfar::new(nbins, &CfarConfig::default());
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    let mut hits = Vec::new();
    for r in 0..40u64 {
        let row: Vec<f32> = (0..nbins)
            .map(|k| {
                let mut mean = 1.0;
                if (200..600).contains(&k) {
                    mean += 0.5; // −3 dB in band, 400 bins wide, always on
                }
                if r == 30 && (900..904).contains(&k) {
                    mean += 100.0; // strong, one row
                }
                -mean * (1.0 - rng.random::<f32>()).max(1e-12).ln()
            })
            .collect();
        cfar.push(r, &row, &mut hits);
    }
    assert!(
        hits.iter().any(|h| h.lo >= 150 && h.hi <= 650),
        "the weak wide signal is found"
    );
    assert!(
        hits.iter()
            .any(|h| h.row == 30 && h.rows == 1 && h.lo >= 890 && h.hi <= 910)
    );
    assert!(
        hits.iter()
            .all(|h| (h.lo < 650 && h.hi > 150) || (h.lo < 910 && h.hi > 890)),
        "no false hits"
    );
}

#[test]
fn a_huge_burst_does_not_blind_a_bin_afterwards() {
    let nbins = 64;
    let cfg = CfarConfig {
        scales: vec![Scale { rows: 16, bins: 1 }],
        ..CfarConfig::default()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mut count_hits = |burst: f32| {
        let mut hits = Vec::new();
        let mut cfar = Cfar::new(nbins, &cfg);
        let mut n = 0;
        for r in 0..2000u64 {
            let row: Vec<f32> = (0..nbins)
                .map(|k| {
                    if k == 10 && r == 5 {
                        return burst;
                    }
                    let mean = if k == 10 && r > 200 { 3.0 } else { 1.0 };
                    -mean * (1.0 - rng.random::<f32>()).max(1e-12).ln()
                })
                .collect();
            hits.clear();
            cfar.push(r, &row, &mut hits);
            n += hits.iter().filter(|h| h.lo == 10 && r > 300).count();
        }
        n
    };
    let clean = count_hits(1.0);
    let after_burst = count_hits(1e9);
    // Tested every 8 rows: about 210 windows after row 300.
    assert!(clean > 20, "the 4.8 dB signal is seen: {clean}");
    assert!(
        after_burst * 10 >= clean * 8,
        "after a 1e9 burst: {after_burst} hits vs {clean}"
    );
}

#[test]
fn every_scale_fires_on_an_emission_of_its_own_size() {
    let nbins = 1024;
    for scale in CfarConfig::default().scales {
        let cfg = CfarConfig {
            scales: vec![scale],
            ..CfarConfig::default()
        };
        let mut cfar = Cfar::new(nbins, &cfg);
        let mut hits = Vec::new();
        // Noise at exactly the floor (below every threshold), and a block 2 windows long
        // and wide at 50× the floor (above every threshold).
        let (rows, bins) = (2 * scale.rows as u64, 2 * scale.bins.min(256));
        for r in 0..200 + rows {
            let row: Vec<f32> = (0..nbins)
                .map(|k| {
                    let on = (100..100 + rows).contains(&r) && (300..300 + bins).contains(&k);
                    if on { 50.0 } else { 1.0 }
                })
                .collect();
            cfar.push(r, &row, &mut hits);
        }
        assert!(!hits.is_empty(), "scale {scale:?} never fired");
        assert!(
            hits.iter()
                .all(|h| h.rows as usize == scale.rows && h.lo < 300 + bins as u32 && h.hi > 300),
            "scale {scale:?}: {hits:?}"
        );
    }
}

#[test]
fn runs_of_set_bits_are_found_across_words() {
    let mut words = vec![0u64; 3];
    let set: Vec<usize> = [0, 1, 2, 10, 60, 61, 62, 63, 64, 65, 127, 128, 191]
        .into_iter()
        .collect();
    for i in &set {
        words[i / 64] |= 1 << (i % 64);
    }
    let mut runs = Vec::new();
    set_runs(&words, |a, b| runs.push((a, b)));
    assert_eq!(
        runs,
        vec![(0, 3), (10, 11), (60, 66), (127, 129), (191, 192)]
    );
    let mut all = Vec::new();
    set_runs(&[u64::MAX, u64::MAX], |a, b| all.push((a, b)));
    assert_eq!(all, vec![(0, 128)]);
}
