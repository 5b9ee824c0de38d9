//! Per-bin noise floor: seeded by a per-bin median, then tracked slowly by an exponential
//! average that skips cells the detector flagged (censored), capped near the local median
//! of all bins so a signal that never stops cannot raise its own floor.

use serde::{Deserialize, Serialize};

/// Noise-floor settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseFloorConfig {
    /// Rows used to seed the floor (per-bin median over them).
    pub warmup_rows: usize,
    /// Weight of a new row in the per-bin average (1/512 ≈ 0.44 s at 2.4 Msps, hop 2048).
    pub alpha: f32,
    /// Recompute the published floor every this many rows (cost control).
    pub refresh_every: usize,
    /// Bins per segment for the cross-frequency reference.
    pub segment_bins: usize,
    /// A bin's floor may exceed its neighbourhood's median floor by at most this factor.
    pub max_over_local: f32,
    /// Half-width (bins) of the moving average that smooths the floor across frequency.
    pub smooth_bins: usize,
    /// Bins around each detection also kept out of the average.
    pub guard_bins: usize,
}

impl Default for NoiseFloorConfig {
    fn default() -> Self {
        Self {
            warmup_rows: 48,
            alpha: 1.0 / 512.0,
            refresh_every: 32,
            segment_bins: 64,
            max_over_local: 1.6,
            smooth_bins: 8,
            guard_bins: 2,
        }
    }
}

/// Mean over median of an exponential distribution (|noise|² per bin): 1 / ln 2.
const MEAN_OVER_MEDIAN: f32 = std::f32::consts::LOG2_E;

/// Tracks the noise floor of every bin (linear power: mean noise power per bin).
pub struct NoiseFloor {
    cfg: NoiseFloorConfig,
    nbins: usize,
    /// Per-bin exponential average of noise-only power.
    mean: Vec<f32>,
    /// Published floor and its inverse.
    floor: Vec<f32>,
    inv: Vec<f32>,
    warm: Vec<f32>,
    rows: usize,
    mask: Vec<bool>,
    capped: Vec<f32>,
    prefix: Vec<f64>,
    scratch: Vec<f32>,
}

impl NoiseFloor {
    /// A tracker for rows of `nbins`.
    pub fn new(nbins: usize, cfg: NoiseFloorConfig) -> Self {
        Self {
            nbins,
            mean: vec![0.0; nbins],
            floor: vec![1.0; nbins],
            inv: vec![1.0; nbins],
            warm: Vec::with_capacity(cfg.warmup_rows.max(1) * nbins),
            rows: 0,
            mask: vec![false; nbins],
            capped: vec![0.0; nbins],
            prefix: vec![0.0; nbins + 1],
            scratch: Vec::with_capacity(nbins),
            cfg,
        }
    }

    /// Whether enough rows were seen to trust the floor.
    pub fn ready(&self) -> bool {
        self.rows >= self.cfg.warmup_rows.max(1)
    }

    /// Mean noise power per bin.
    pub fn floor(&self) -> &[f32] {
        &self.floor
    }

    /// 1 / floor per bin.
    pub fn inverse(&self) -> &[f32] {
        &self.inv
    }

    /// Median of the floor over all bins, linear.
    pub fn overall(&self) -> f32 {
        let mut v = self.floor.clone();
        let mid = v.len() / 2;
        v.select_nth_unstable_by(mid, f32::total_cmp);
        v[mid]
    }

    /// Feeds one power row; bins in `busy` (half-open bin ranges the detector flagged in
    /// this row) do not update the average.
    pub fn push(&mut self, row: &[f32], busy: impl IntoIterator<Item = (u32, u32)>) {
        debug_assert_eq!(row.len(), self.nbins);
        self.rows += 1;
        let warmup = self.cfg.warmup_rows.max(1);
        if self.rows <= warmup {
            self.warm.extend_from_slice(row);
            if self.rows == warmup {
                self.seed(warmup);
            }
            return;
        }
        self.mask.fill(false);
        let g = self.cfg.guard_bins;
        for (lo, hi) in busy {
            let (lo, hi) = (
                (lo as usize).saturating_sub(g),
                (hi as usize + g).min(self.nbins),
            );
            if lo < hi {
                self.mask[lo..hi].fill(true);
            }
        }
        let a = self.cfg.alpha;
        for ((m, p), busy) in self.mean.iter_mut().zip(row).zip(&self.mask) {
            if !busy {
                *m += a * (p - *m);
            }
        }
        if self.rows.is_multiple_of(self.cfg.refresh_every.max(1)) {
            self.refresh();
        }
    }

    fn seed(&mut self, rows: usize) {
        let mut column = vec![0.0f32; rows];
        for k in 0..self.nbins {
            for (r, c) in column.iter_mut().enumerate() {
                *c = self.warm[r * self.nbins + k];
            }
            let mid = rows / 2;
            column.select_nth_unstable_by(mid, f32::total_cmp);
            self.mean[k] = (column[mid] * MEAN_OVER_MEDIAN).max(f32::MIN_POSITIVE);
        }
        self.warm = Vec::new();
        self.refresh();
        // The seed is a noisy per-bin median: start the average from its smoothed form.
        self.mean.copy_from_slice(&self.floor);
    }

    /// Floor = average, capped at `max_over_local` × the median of segment medians around
    /// the bin, smoothed across neighbouring bins.
    fn refresh(&mut self) {
        let seg = self.cfg.segment_bins.clamp(1, self.nbins.max(1));
        let nseg = self.nbins.div_ceil(seg);
        let mut seg_medians = Vec::with_capacity(nseg);
        for s in 0..nseg {
            let (lo, hi) = (s * seg, ((s + 1) * seg).min(self.nbins));
            self.scratch.clear();
            self.scratch.extend_from_slice(&self.mean[lo..hi]);
            let mid = self.scratch.len() / 2;
            self.scratch.select_nth_unstable_by(mid, f32::total_cmp);
            seg_medians.push(self.scratch[mid]);
        }
        let mut around = Vec::with_capacity(9);
        for s in 0..nseg {
            around.clear();
            around.extend_from_slice(&seg_medians[s.saturating_sub(4)..(s + 5).min(nseg)]);
            let mid = around.len() / 2;
            around.select_nth_unstable_by(mid, f32::total_cmp);
            let cap = around[mid] * self.cfg.max_over_local;
            let (lo, hi) = (s * seg, ((s + 1) * seg).min(self.nbins));
            for k in lo..hi {
                self.capped[k] = self.mean[k].min(cap);
            }
        }
        for k in 0..self.nbins {
            self.prefix[k + 1] = self.prefix[k] + f64::from(self.capped[k]);
        }
        let w = self.cfg.smooth_bins;
        for k in 0..self.nbins {
            let (lo, hi) = (k.saturating_sub(w), (k + w + 1).min(self.nbins));
            let f = (((self.prefix[hi] - self.prefix[lo]) / (hi - lo) as f64) as f32)
                .max(f32::MIN_POSITIVE);
            self.floor[k] = f;
            self.inv[k] = 1.0 / f;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};

    /// Exponential(mean) samples.
    fn expo(rng: &mut rand::rngs::StdRng, mean: f32) -> f32 {
        -mean * (1.0 - rng.random::<f32>()).max(1e-12).ln()
    }

    #[test]
    fn finds_a_sloped_floor_precisely_and_ignores_a_permanent_tone() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let nbins = 1024;
        let level = |k: usize| 1e-4 * (1.0 + k as f32 / nbins as f32); // 3 dB slope
        let mut nf = NoiseFloor::new(nbins, NoiseFloorConfig::default());
        for _ in 0..1500 {
            let row: Vec<f32> = (0..nbins)
                .map(|k| {
                    if (500..503).contains(&k) {
                        1e-2
                    } else {
                        expo(&mut rng, level(k))
                    }
                })
                .collect();
            nf.push(&row, []);
        }
        assert!(nf.ready());
        let worst = (0..nbins)
            .filter(|k| !(480..525).contains(k))
            .map(|k| (nf.floor()[k] / level(k) - 1.0).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.08, "worst floor error {worst}");
        let tone_floor = nf.floor()[501] / level(501);
        assert!(
            tone_floor < 2.0,
            "a tone present from the start must not become the floor: {tone_floor}"
        );
    }

    #[test]
    fn follows_a_slow_change_but_not_flagged_cells() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let mut nf = NoiseFloor::new(256, NoiseFloorConfig::default());
        for i in 0..4000 {
            let level = if i < 300 { 1.0 } else { 4.0 };
            let row: Vec<f32> = (0..256)
                .map(|k| {
                    if (100..140).contains(&k) && i > 500 {
                        50.0
                    } else {
                        expo(&mut rng, level)
                    }
                })
                .collect();
            nf.push(&row, (i > 500).then_some((100u32, 140u32)));
        }
        let ratio = nf.overall() / 4.0;
        assert!((0.9..1.1).contains(&ratio), "{ratio}");
        assert!(
            nf.floor()[120] < 4.0 * 1.7,
            "flagged cells stay out: {}",
            nf.floor()[120]
        );
    }
}
