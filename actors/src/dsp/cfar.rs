//! Multi-scale CFAR detection on noise-normalised power: each scale averages T rows × F bins
//! and compares with the exact threshold for a false-alarm rate, so short strong and long
//! weak emissions are both found. Sans-IO: rows and floors in, hits out.

use serde::{Deserialize, Serialize};

/// One integration scale: rows in time × bins in frequency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    /// Rows averaged (time).
    pub rows: usize,
    /// Bins averaged (frequency).
    pub bins: usize,
}

/// Detector settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CfarConfig {
    /// False-alarm probability per test cell.
    pub pfa: f64,
    /// Integration scales.
    pub scales: Vec<Scale>,
    /// Correlation between overlapping rows and adjacent bins makes T×F cells worth fewer
    /// independent ones: N_eff = T/row_corr × F/bin_corr. For Hann, adjacent bins correlate
    /// with |ρ|² = 4/9 and next-but-one 1/36 (variance ×1.94); rows at 50% overlap 1/36.
    pub row_corr: f64,
    /// See `row_corr`.
    pub bin_corr: f64,
}

impl Default for CfarConfig {
    fn default() -> Self {
        let s = |rows, bins| Scale { rows, bins };
        Self {
            pfa: 1e-10,
            scales: vec![
                s(1, 1),
                s(1, 16),
                s(1, 128),
                s(4, 4),
                s(4, 32),
                s(4, 256),
                s(16, 1),
                s(16, 8),
                s(16, 64),
                s(16, 512),
            ],
            row_corr: 1.06,
            bin_corr: 1.94,
        }
    }
}

impl CfarConfig {
    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(self.pfa > 0.0 && self.pfa < 0.1) {
            out.push(("pfa", "must be in (0, 0.1)".into()));
        }
        if self.scales.is_empty()
            || self
                .scales
                .iter()
                .any(|s| s.rows == 0 || s.rows > MAX_ROWS || s.bins == 0)
        {
            out.push((
                "scales",
                format!("need at least one, each with rows in 1..={MAX_ROWS} and bins ≥ 1"),
            ));
        }
        out
    }
}

/// Longest time integration supported.
pub const MAX_ROWS: usize = 64;

/// A detection: the mean normalised power over `bins` [lo, hi) and rows
/// [row + 1 − rows, row] exceeded the scale's threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hit {
    /// Last row of the integration.
    pub row: u64,
    /// Rows integrated.
    pub rows: u32,
    /// First bin.
    pub lo: u32,
    /// One past the last bin.
    pub hi: u32,
    /// Mean normalised power (1.0 = noise).
    pub ratio: f32,
}

struct ScaleState {
    scale: Scale,
    threshold: f32,
    stride: usize,
    /// Index into the distinct row counts.
    sum_index: usize,
}

/// The detector core.
pub struct Cfar {
    nbins: usize,
    scales: Vec<ScaleState>,
    /// Distinct row counts and their running sums over the last `rows` rows.
    row_counts: Vec<usize>,
    sums: Vec<Vec<f32>>,
    /// Ring of the last MAX_ROWS normalised rows.
    ring: Vec<Vec<f32>>,
    prefix: Vec<f64>,
    /// Per distinct row count: bins per prefix block (divides every window size and stride).
    granularity: Vec<usize>,
    ratio: Vec<f32>,
    occupied: usize,
    seen: u64,
}

impl Cfar {
    /// A detector for rows of `nbins`.
    pub fn new(nbins: usize, cfg: &CfarConfig) -> Self {
        let mut row_counts: Vec<usize> = cfg
            .scales
            .iter()
            .map(|s| s.rows.clamp(1, MAX_ROWS))
            .collect();
        row_counts.sort_unstable();
        row_counts.dedup();
        let depth = row_counts.last().copied().unwrap_or(1);
        let scales: Vec<ScaleState> = cfg
            .scales
            .iter()
            .map(|s| {
                let rows = s.rows.clamp(1, MAX_ROWS);
                let bins = s.bins.clamp(1, nbins.max(1));
                let n_eff = effective_cells(rows, bins, cfg.row_corr, cfg.bin_corr);
                ScaleState {
                    scale: Scale { rows, bins },
                    threshold: gamma_mean_threshold(n_eff, cfg.pfa) as f32,
                    stride: (bins / 2).max(1),
                    sum_index: row_counts.iter().position(|r| *r == rows).unwrap_or(0),
                }
            })
            .collect();
        let granularity = (0..row_counts.len())
            .map(|ci| {
                scales
                    .iter()
                    .filter(|s: &&ScaleState| s.sum_index == ci && s.scale.bins > 1)
                    .fold(0usize, |g, s| gcd(gcd(g, s.stride), s.scale.bins))
                    .max(1)
            })
            .collect();
        Self {
            nbins,
            granularity,
            scales,
            sums: vec![vec![0.0; nbins]; row_counts.len()],
            row_counts,
            ring: vec![vec![0.0; nbins]; depth],
            prefix: vec![0.0; nbins + 1],
            ratio: vec![0.0; nbins],
            occupied: 0,
            seen: 0,
        }
    }

    /// Cells of the last row more than 6 dB above the floor.
    pub fn last_occupied(&self) -> usize {
        self.occupied
    }

    /// The normalised power of the last row pushed (1.0 = noise).
    pub fn last_ratio(&self) -> &[f32] {
        &self.ratio
    }

    /// Feeds row `row` (power) with the floor's inverse; appends hits to `out`.
    pub fn push(&mut self, row: u64, power: &[f32], inv_floor: &[f32], out: &mut Vec<Hit>) {
        let depth = self.ring.len();
        let slot = (self.seen as usize) % depth;
        let mut occupied = 0usize;
        for ((r, p), i) in self.ratio.iter_mut().zip(power).zip(inv_floor) {
            *r = p * i;
            occupied += usize::from(*r > 4.0);
        }
        self.occupied = occupied;
        self.seen += 1;
        // Running sums: add the new row, drop the one that left each window.
        for (ci, &count) in self.row_counts.iter().enumerate() {
            let sum = &mut self.sums[ci];
            if count == 1 {
                continue; // the row itself
            }
            if self.seen > count as u64 {
                let old = &self.ring[(slot + depth - count) % depth];
                for ((s, n), o) in sum.iter_mut().zip(&self.ratio).zip(old) {
                    *s += n - o;
                }
            } else {
                for (s, n) in sum.iter_mut().zip(&self.ratio) {
                    *s += n;
                }
            }
        }
        self.ring[slot].copy_from_slice(&self.ratio);
        // f32 running sums keep the rounding error of every strong cell that passed through;
        // rebuild them from the ring once per ring length so a burst cannot blind a bin.
        if self.seen.is_multiple_of(depth as u64) {
            for (ci, &count) in self.row_counts.iter().enumerate() {
                if count == 1 || self.seen < count as u64 {
                    continue;
                }
                let sum = &mut self.sums[ci];
                sum.fill(0.0);
                for back in 0..count {
                    let row = &self.ring[(slot + depth - back) % depth];
                    for (s, v) in sum.iter_mut().zip(row) {
                        *s += v;
                    }
                }
            }
        }

        let mut last_sum = usize::MAX;
        for st in &self.scales {
            let count = st.scale.rows;
            if self.seen < count as u64 {
                continue;
            }
            let sum: &[f32] = if count == 1 {
                &self.ratio
            } else {
                &self.sums[st.sum_index]
            };
            let norm = 1.0 / (count * st.scale.bins) as f32;
            if st.scale.bins == 1 {
                let thr = st.threshold * count as f32;
                for (k, v) in sum.iter().enumerate() {
                    if *v > thr {
                        out.push(Hit {
                            row,
                            rows: count as u32,
                            lo: k as u32,
                            hi: k as u32 + 1,
                            ratio: v / count as f32,
                        });
                    }
                }
                continue;
            }
            // Prefix sums over blocks of `g` bins (every window edge is a block edge): the
            // serial part is g times shorter and the block sums vectorise.
            let g = self.granularity[st.sum_index];
            if last_sum != st.sum_index {
                let mut acc = 0.0f64;
                self.prefix[0] = 0.0;
                for (p, block) in self.prefix[1..].iter_mut().zip(sum.chunks_exact(g)) {
                    acc += f64::from(block.iter().sum::<f32>());
                    *p = acc;
                }
                last_sum = st.sum_index;
            }
            let f = st.scale.bins;
            // Walk in block units: no division in the loop.
            let (blocks, f_b, step_b) = (self.nbins / g, f / g, (st.stride / g).max(1));
            let thr = st.threshold;
            let prefix = &self.prefix[..=blocks];
            let mut b = 0;
            while b + f_b <= blocks {
                let mean = ((prefix[b + f_b] - prefix[b]) as f32) * norm;
                if mean > thr {
                    out.push(Hit {
                        row,
                        rows: count as u32,
                        lo: (b * g) as u32,
                        hi: ((b + f_b) * g) as u32,
                        ratio: mean,
                    });
                }
                b += step_b;
            }
        }
    }
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Independent cells worth of T rows × F bins.
pub fn effective_cells(rows: usize, bins: usize, row_corr: f64, bin_corr: f64) -> usize {
    let r = if rows > 1 {
        rows as f64 / row_corr
    } else {
        1.0
    };
    let b = if bins > 1 {
        bins as f64 / bin_corr
    } else {
        1.0
    };
    ((r * b).floor() as usize).max(1)
}

/// Threshold on the mean of `n` independent unit-mean exponentials (a Gamma(n, 1/n) variable)
/// exceeded with probability `pfa`. Exact for integer `n`:
/// P(sum > x) = e^{−x} Σ_{k<n} x^k / k!, solved by bisection in log space.
pub fn gamma_mean_threshold(n: usize, pfa: f64) -> f64 {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // Solving costs O(n) per step; detectors are made often (restarts, tests): remember.
    static KNOWN: OnceLock<Mutex<HashMap<(usize, u64), f64>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    let key = (n, pfa.to_bits());
    if let Some(t) = known.lock().ok().and_then(|m| m.get(&key).copied()) {
        return t;
    }
    let t = solve_gamma_mean_threshold(n, pfa);
    if let Ok(mut m) = known.lock() {
        m.insert(key, t);
    }
    t
}

fn solve_gamma_mean_threshold(n: usize, pfa: f64) -> f64 {
    let n = n.max(1);
    if n == 1 {
        return -pfa.ln();
    }
    let target = pfa.ln();
    let log_tail = |x: f64| {
        // log Σ_{k<n} exp(k ln x − x − ln k!)
        let mut terms = Vec::with_capacity(n);
        let mut lfact = 0.0;
        for k in 0..n {
            if k > 0 {
                lfact += (k as f64).ln();
            }
            terms.push(k as f64 * x.ln() - x - lfact);
        }
        let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
    };
    let nf = n as f64;
    let (mut lo, mut hi) = (nf, nf + 20.0 * nf.sqrt() + 60.0);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if log_tail(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi) / nf
}

#[cfg(test)]
#[path = "cfar_tests.rs"]
mod tests;
