//! Per-bin noise floor: seeded by a per-bin median, then tracked slowly by an exponential
//! average of cells near the floor (louder ones are kept out: censored), capped near the
//! local median of all bins so a signal that never stops cannot raise its own floor.

use serde::{Deserialize, Serialize};

use super::simd;

/// Noise-floor settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseFloorConfig {
    /// Rows used to seed the floor (per-bin median over them).
    pub warmup_rows: usize,
    /// Weight of a new row in the per-bin average (1/512 ≈ 0.44 s at 2.4 Msps, hop 2048).
    pub alpha: f32,
    /// The average takes every this many rows (its weight scaled to match): cost control.
    pub update_every: usize,
    /// Recompute the published floor every this many rows (cost control).
    pub refresh_every: usize,
    /// Bins per segment for the cross-frequency reference.
    pub segment_bins: usize,
    /// A bin's floor may exceed its neighbourhood's median floor by at most this factor.
    pub max_over_local: f32,
    /// Half-width (bins) of the moving average that smooths the floor across frequency.
    pub smooth_bins: usize,
    /// Cells at or above this ratio to the floor stay out of the average.
    pub censor_ratio: f32,
}

impl Default for NoiseFloorConfig {
    fn default() -> Self {
        Self {
            warmup_rows: 48,
            alpha: 1.0 / 512.0,
            update_every: 4,
            refresh_every: 128,
            segment_bins: 64,
            max_over_local: 1.6,
            smooth_bins: 8,
            censor_ratio: 4.0,
        }
    }
}

/// Mean over median of an exponential distribution (|noise|² per bin): 1 / ln 2.
const MEAN_OVER_MEDIAN: f32 = std::f32::consts::LOG2_E;

/// Rows of one batch, `nbins` values each, row-major, and the index of the first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowBlock {
    /// Index of the first row in the stream.
    pub first: u64,
    /// The rows.
    pub data: Vec<f32>,
}

/// Tracks the noise floor of every bin (linear power: mean noise power per bin) and turns
/// power rows into ratios to it.
pub struct NoiseFloor {
    cfg: NoiseFloorConfig,
    nbins: usize,
    /// Per-bin exponential average of noise-only power (censored, so biased low by `bias`).
    mean: Vec<f32>,
    bias: f32,
    /// Published floor and its inverse.
    floor: Vec<f32>,
    inv: Vec<f32>,
    /// Rows held while warming up.
    warm: RowBlock,
    rows: u64,
    capped: Vec<f32>,
    prefix: Vec<f64>,
    scratch: Vec<f32>,
    /// Counts publications of the floor (see [`NoiseFloor::version`]).
    version: u64,
}

impl NoiseFloor {
    /// A tracker for rows of `nbins`.
    pub fn new(nbins: usize, cfg: NoiseFloorConfig) -> Self {
        // E[x | x < c] / E[x] for an exponential x: what censoring leaves of the mean.
        let c = cfg.censor_ratio.max(1.0);
        let bias = (1.0 - (1.0 + c) * (-c).exp()) / (1.0 - (-c).exp());
        Self {
            nbins,
            mean: vec![0.0; nbins],
            bias,
            floor: vec![1.0; nbins],
            inv: vec![1.0; nbins],
            warm: RowBlock::default(),
            rows: 0,
            capped: vec![0.0; nbins],
            prefix: vec![0.0; nbins + 1],
            scratch: Vec::with_capacity(nbins),
            version: 0,
            cfg,
        }
    }

    /// Whether enough rows were seen to trust the floor.
    pub fn ready(&self) -> bool {
        self.rows >= self.cfg.warmup_rows.max(1) as u64
    }

    /// Mean noise power per bin.
    pub fn floor(&self) -> &[f32] {
        &self.floor
    }

    /// Changes whenever the published floor does (a copy of it is current while equal).
    pub fn version(&self) -> u64 {
        self.version
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

    /// Feeds power rows whose first is row `first`. Returns the rows turned into ratios to
    /// the floor (1.0 = noise): none while warming up; the warm-up rows with the first
    /// batch after the floor is seeded.
    pub fn push(&mut self, first: u64, mut rows: Vec<f32>) -> Option<RowBlock> {
        let n = self.nbins.max(1);
        if !self.ready() {
            if self.warm.data.is_empty() {
                self.warm.first = first;
            }
            let warmup = self.cfg.warmup_rows.max(1) as u64;
            let take = ((warmup - self.rows) as usize * n).min(rows.len());
            self.warm.data.extend_from_slice(&rows[..take]);
            self.rows += (take / n) as u64;
            if !self.ready() {
                return None;
            }
            let mut out = self.seed_from_warm();
            let rest = rows.split_off(take);
            if !rest.is_empty() {
                let more = self.push(first + (take / n) as u64, rest)?;
                out.data.extend_from_slice(&more.data);
            }
            return Some(out);
        }
        let every = self.cfg.update_every.max(1) as u64;
        let refresh = self.cfg.refresh_every.max(1) as u64;
        let alpha = (self.cfg.alpha * every as f32).min(1.0);
        for row in rows.chunks_exact_mut(n) {
            if self.rows.is_multiple_of(every) {
                let censor = self.cfg.censor_ratio;
                simd::censored_average(&mut self.mean, row, &self.inv, alpha, censor);
            }
            simd::mul_assign(row, &self.inv);
            self.rows += 1;
            if self.rows.is_multiple_of(refresh) {
                self.refresh();
            }
        }
        Some(RowBlock { first, data: rows })
    }

    /// End of input: if still warming up, seeds from the rows there are and returns them
    /// normalised.
    pub fn finish(&mut self) -> Option<RowBlock> {
        if self.ready() || self.warm.data.is_empty() {
            return None;
        }
        Some(self.seed_from_warm())
    }

    fn seed_from_warm(&mut self) -> RowBlock {
        let n = self.nbins.max(1);
        let mut warm = std::mem::take(&mut self.warm);
        let rows = warm.data.len() / n;
        self.seed(&warm.data, rows);
        self.rows = self.rows.max(self.cfg.warmup_rows.max(1) as u64);
        for row in warm.data.chunks_exact_mut(n) {
            simd::mul_assign(row, &self.inv);
        }
        warm
    }

    fn seed(&mut self, warm: &[f32], rows: usize) {
        let n = self.nbins;
        if rows >= 12 {
            // Median of the means of three thirds: robust to an emission in one of them,
            // and it vectorises (a per-bin median over every row costs 0.1 ms a stream).
            let part = rows / 3;
            let mut sums = vec![vec![0.0f32; n]; 3];
            for (p, sum) in sums.iter_mut().enumerate() {
                for row in warm[p * part * n..(p + 1) * part * n].chunks_exact(n) {
                    simd::add_assign(sum, row);
                }
            }
            // Median of a Gamma(k, 1) variable ≈ k − 1/3: the mean of `part` unit-mean
            // exponentials has its median at 1 − 1/(3·part).
            let scale = 1.0 / (part as f32 - 1.0 / 3.0);
            simd::median3(&mut self.mean, &sums[0], &sums[1], &sums[2], scale);
        } else {
            let mut column = vec![0.0f32; rows.max(1)];
            for k in 0..n {
                for (r, c) in column.iter_mut().enumerate().take(rows) {
                    *c = warm[r * n + k];
                }
                let mid = rows / 2;
                column.select_nth_unstable_by(mid, f32::total_cmp);
                self.mean[k] = column[mid] * MEAN_OVER_MEDIAN;
            }
        }
        for m in &mut self.mean {
            *m = m.max(f32::MIN_POSITIVE);
        }
        self.refresh_with(1.0);
        // The seed is a noisy per-bin median: start the average from its smoothed form,
        // in the censored average's units.
        for (m, f) in self.mean.iter_mut().zip(&self.floor) {
            *m = f * self.bias;
        }
    }

    /// Floor = average, capped at `max_over_local` × the median of segment medians around
    /// the bin, smoothed across neighbouring bins.
    fn refresh(&mut self) {
        self.refresh_with(1.0 / self.bias);
    }

    /// Publishes `mean · unbias` as the floor, capped and smoothed.
    fn refresh_with(&mut self, unbias: f32) {
        self.version += 1;
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
                self.capped[k] = self.mean[k].min(cap) * unbias;
            }
        }
        for k in 0..self.nbins {
            self.prefix[k + 1] = self.prefix[k] + f64::from(self.capped[k]);
        }
        let w = self.cfg.smooth_bins;
        let full = 1.0 / (2 * w + 1) as f64;
        for k in 0..self.nbins {
            let (lo, hi) = (k.saturating_sub(w), (k + w + 1).min(self.nbins));
            let scale = if hi - lo == 2 * w + 1 {
                full
            } else {
                1.0 / (hi - lo) as f64
            };
            self.floor[k] =
                (((self.prefix[hi] - self.prefix[lo]) * scale) as f32).max(f32::MIN_POSITIVE);
        }
        simd::reciprocal(&mut self.inv, &self.floor);
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
        let mut out = 0;
        for i in 0..150u64 {
            let rows: Vec<f32> = (0..10 * nbins)
                .map(|c| {
                    let k = c % nbins;
                    if (500..503).contains(&k) {
                        1e-2
                    } else {
                        expo(&mut rng, level(k))
                    }
                })
                .collect();
            if let Some(b) = nf.push(10 * i, rows) {
                assert_eq!(b.first as usize, out / nbins, "rows come out in order");
                out += b.data.len();
            }
        }
        assert!(nf.ready());
        assert_eq!(
            out,
            1500 * nbins,
            "every row comes out once, warm-up included"
        );
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
    fn follows_a_slow_change_but_not_loud_cells() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let mut nf = NoiseFloor::new(256, NoiseFloorConfig::default());
        for i in 0..4000u64 {
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
            nf.push(i, row);
        }
        let ratio = nf.overall() / 4.0;
        assert!((0.9..1.1).contains(&ratio), "{ratio}");
        assert!(
            nf.floor()[120] < 4.0 * 1.7,
            "loud cells stay out: {}",
            nf.floor()[120]
        );
    }

    #[test]
    fn a_stream_shorter_than_the_warm_up_is_normalised_at_the_end() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut nf = NoiseFloor::new(64, NoiseFloorConfig::default());
        let rows: Vec<f32> = (0..10 * 64).map(|_| expo(&mut rng, 2.0)).collect();
        assert!(nf.push(7, rows).is_none());
        let b = nf.finish().expect("seeded from what there was");
        assert_eq!((b.first, b.data.len()), (7, 640));
        let mean = b.data.iter().sum::<f32>() / 640.0;
        assert!((0.7..1.4).contains(&mean), "{mean}");
    }
}
