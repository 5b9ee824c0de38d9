//! Multi-scale CFAR detection on noise-normalised power: each scale sums T rows × F bins
//! and compares with the exact threshold for a false-alarm rate, so short strong and long
//! weak emissions are both found. Windows overlap by half in time and in frequency; sums are
//! built from a pyramid of block sums (no running sums to drift). Sans-IO: rows in, hits out.

use serde::{Deserialize, Serialize};

use super::simd;
pub use super::threshold::{effective_cells, gamma_mean_threshold};

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
                s(32, 2),
                s(64, 1),
                s(64, 2),
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
                .any(|s| !valid(s.rows, MAX_ROWS) || !valid(s.bins, MAX_BINS))
        {
            out.push((
                "scales",
                format!(
                    "need at least one, each with rows a power of two up to {MAX_ROWS} and \
                     bins a power of two up to {MAX_BINS}"
                ),
            ));
        }
        out
    }
}

fn valid(v: usize, max: usize) -> bool {
    v.is_power_of_two() && v <= max
}

/// Occupancy is counted on one row in this many (it is a summary, not a detection).
const OCCUPANCY_EVERY: u64 = 4;

/// Longest time integration supported.
pub const MAX_ROWS: usize = 64;
/// Widest frequency integration supported.
pub const MAX_BINS: usize = 4096;

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

/// The scales of one time integration: (bins, threshold on the sum).
struct RowGroup {
    rows: usize,
    tests: Vec<(usize, f32)>,
}

/// Completed blocks of 2^(i+1) rows: the last two.
struct Level {
    prev: Vec<f32>,
    last: Vec<f32>,
    blocks: u64,
}

/// The detector core.
pub struct Cfar {
    nbins: usize,
    /// Scales grouped by their row count, ascending.
    groups: Vec<RowGroup>,
    levels: Vec<Level>,
    /// The previous row when a block ended on an even row.
    prev_row: Vec<f32>,
    sum: Vec<f32>,
    /// pools[k]: sums over 2^k adjacent bins.
    pools: Vec<Vec<f32>>,
    words: Vec<u64>,
    occupied: usize,
    seen: u64,
}

impl Cfar {
    /// A detector for rows of `nbins`.
    pub fn new(nbins: usize, cfg: &CfarConfig) -> Self {
        let mut groups: Vec<RowGroup> = Vec::new();
        for s in &cfg.scales {
            let rows = s.rows.clamp(1, MAX_ROWS).next_power_of_two();
            let bins = s.bins.clamp(1, nbins.max(1)).next_power_of_two();
            if bins > nbins.max(1) {
                continue;
            }
            let n_eff = effective_cells(rows, bins, cfg.row_corr, cfg.bin_corr);
            let thr = (gamma_mean_threshold(n_eff, cfg.pfa) * (rows * bins) as f64) as f32;
            match groups.iter_mut().find(|g| g.rows == rows) {
                Some(g) => g.tests.push((bins, thr)),
                None => groups.push(RowGroup {
                    rows,
                    tests: vec![(bins, thr)],
                }),
            }
        }
        groups.sort_by_key(|g| g.rows);
        let deepest = groups.last().map_or(1, |g| g.rows);
        // Blocks of 2, 4, … rows up to half the longest integration.
        let levels = (1..deepest.trailing_zeros())
            .map(|_| Level {
                prev: vec![0.0; nbins],
                last: vec![0.0; nbins],
                blocks: 0,
            })
            .collect();
        let pools = (0..=nbins.max(1).ilog2())
            .map(|k| vec![0.0; nbins >> k])
            .collect();
        Self {
            nbins,
            groups,
            levels,
            prev_row: vec![0.0; nbins],
            sum: vec![0.0; nbins],
            pools,
            words: vec![0; nbins.div_ceil(64)],
            occupied: 0,
            seen: 0,
        }
    }

    /// Cells more than 6 dB above the floor in the rows pushed since the last call (an
    /// estimate from every `OCCUPANCY_EVERY`th row).
    pub fn take_occupied(&mut self) -> usize {
        std::mem::take(&mut self.occupied)
    }

    /// Feeds normalised rows (`nbins` each, row-major) whose first is row `first`; appends
    /// hits to `out`.
    pub fn push(&mut self, first: u64, rows: &[f32], out: &mut Vec<Hit>) {
        let n = self.nbins;
        if n == 0 {
            return;
        }
        for (i, ratio) in rows.chunks_exact(n).enumerate() {
            let row = first + i as u64;
            let index = self.seen;
            self.seen += 1;
            if self.groups.first().is_some_and(|g| g.rows == 1) {
                self.tests(0, ratio, row, out);
            }
            if index.is_multiple_of(OCCUPANCY_EVERY) {
                self.occupied += OCCUPANCY_EVERY as usize * simd::count_over(ratio, 4.0);
            }
            if index % 2 == 1 {
                let prev = if i > 0 {
                    &rows[(i - 1) * n..i * n]
                } else {
                    &self.prev_row[..]
                };
                let g2 = self.groups.iter().position(|g| g.rows == 2);
                if g2.is_some() || !self.levels.is_empty() {
                    let mut sum = std::mem::take(&mut self.sum);
                    simd::add(&mut sum, prev, ratio);
                    if let Some(g) = g2 {
                        self.tests(g, &sum, row, out);
                    }
                    self.sum = sum;
                    self.complete(0, row, out);
                }
            }
        }
        let last = rows.len() / n;
        if last > 0 && self.seen % 2 == 1 {
            self.prev_row
                .copy_from_slice(&rows[(last - 1) * n..last * n]);
        }
    }

    /// `self.sum` holds a new block for level `l`: store it, test the scales that span two
    /// blocks of it, and build the next level's block when two align.
    fn complete(&mut self, l: usize, row: u64, out: &mut Vec<Hit>) {
        let Some(level) = self.levels.get_mut(l) else {
            return;
        };
        std::mem::swap(&mut level.prev, &mut level.last);
        std::mem::swap(&mut level.last, &mut self.sum);
        level.blocks += 1;
        if level.blocks < 2 {
            return;
        }
        let rows = 2usize << (l + 1);
        let group = self.groups.iter().position(|g| g.rows == rows);
        let build = level.blocks % 2 == 0 && l + 1 < self.levels.len();
        if group.is_none() && !build {
            return;
        }
        let mut sum = std::mem::take(&mut self.sum);
        let level = &self.levels[l];
        simd::add(&mut sum, &level.prev, &level.last);
        if let Some(g) = group {
            self.tests(g, &sum, row, out);
        }
        self.sum = sum;
        if build {
            self.complete(l + 1, row, out);
        }
    }

    /// Runs group `g`'s tests on `sum` (its row count of rows ending at `row`).
    fn tests(&mut self, g: usize, sum: &[f32], row: u64, out: &mut Vec<Hit>) {
        let groups = std::mem::take(&mut self.groups);
        self.run_tests(&groups[g], sum, row, out);
        self.groups = groups;
    }

    fn run_tests(&mut self, group: &RowGroup, sum: &[f32], row: u64, out: &mut Vec<Hit>) {
        let rows = group.rows;
        // Pool only as far as the widest scale needs; start at 8 bins when nothing is finer.
        // Windows of 2 bins test adjacent pairs of `sum` itself (pool 0): no pooling.
        let finest = group
            .tests
            .iter()
            .filter(|(f, _)| *f > 2)
            .map(|(f, _)| f.trailing_zeros() - 1)
            .min();
        let widest = group
            .tests
            .iter()
            .map(|(f, _)| f.trailing_zeros().saturating_sub(1))
            .max()
            .unwrap_or(0) as usize;
        if let Some(finest) = finest {
            let start = if finest >= 3 { 3 } else { 1 };
            if start == 3 {
                simd::sum8(&mut self.pools[3], sum);
            } else {
                simd::pairwise(&mut self.pools[1], sum);
            }
            for k in start + 1..=widest.min(self.pools.len() - 1) {
                let (lower, upper) = self.pools.split_at_mut(k);
                simd::pairwise(&mut upper[0], &lower[k - 1]);
            }
        }
        for &(bins, thr) in &group.tests {
            let norm = 1.0 / (rows * bins) as f32;
            let mark = out.len();
            // Overlapping windows of one scale that fire together become one hit (their
            // union, the strongest mean): a strong emission gives a few hits, not thousands.
            // `hit(lo, hi, s)`: a run of fired windows covering bins [lo, hi), the strongest
            // with sum `s`.
            let mut hit = |lo: usize, hi: usize, s: f32| {
                let (lo, hi, ratio) = (lo as u32, hi as u32, s * norm);
                let mine = out.len() > mark;
                match out.last_mut() {
                    Some(h) if mine && lo <= h.hi => {
                        h.hi = h.hi.max(hi);
                        h.ratio = h.ratio.max(ratio);
                    }
                    _ => out.push(Hit {
                        row,
                        rows: rows as u32,
                        lo,
                        hi,
                        ratio,
                    }),
                }
            };
            if bins == 1 {
                simd::exceed(sum, thr, &mut self.words);
                set_runs(&self.words, |a, b| {
                    let s = sum[a..b].iter().copied().fold(f32::MIN, f32::max);
                    hit(a, b, s);
                });
            } else {
                let half = bins / 2;
                let pool = match half {
                    1 => sum,
                    _ => &self.pools[half.trailing_zeros() as usize][..],
                };
                let words = &mut self.words[..pool.len().saturating_sub(1).div_ceil(64)];
                simd::exceed_pairs(pool, thr, words);
                set_runs(words, |a, b| {
                    let s = (a..b)
                        .map(|j| pool[j] + pool[j + 1])
                        .fold(f32::MIN, f32::max);
                    hit(a * half, (b - 1) * half + bins, s);
                });
            }
        }
    }
}

/// Calls `run(a, b)` for every maximal run [a, b) of set bits (bit i of `words[w]` is
/// index 64·w + i).
fn set_runs(words: &[u64], mut run: impl FnMut(usize, usize)) {
    let mut open: Option<(usize, usize)> = None;
    for (w, &word) in words.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let tz = bits.trailing_zeros();
            let len = (!(bits >> tz)).trailing_zeros();
            let (a, b) = (w * 64 + tz as usize, w * 64 + (tz + len) as usize);
            bits = bits
                .checked_shr(tz + len)
                .map_or(0, |v| v.checked_shl(tz + len).unwrap_or(0));
            open = match open {
                Some((oa, ob)) if ob == a => Some((oa, b)),
                Some((oa, ob)) => {
                    run(oa, ob);
                    Some((a, b))
                }
                None => Some((a, b)),
            };
        }
    }
    if let Some((a, b)) = open {
        run(a, b);
    }
}

#[cfg(test)]
#[path = "cfar_tests.rs"]
mod tests;
