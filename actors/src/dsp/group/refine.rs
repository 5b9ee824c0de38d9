//! Refining a closing track: its band from the averaged spectrum, its start and end from
//! single rows where they are strong enough to judge, and its measurements.

use super::ring::RowRing;
use super::{Grouper, RawBox, Track};

/// Rows after opening before a track's start is refined (its band has settled by then).
pub(super) const START_SETTLE_ROWS: u64 = 8;

/// Band edges are where the averaged excess falls to this share of its peak (the −10 dB
/// bandwidth), or to 4σ of noise where that is higher.
const EDGE_LEVEL: f32 = 0.1;

/// Bands at most this wide are re-cut on the unsmoothed spectrum.
const NARROW_BINS: u32 = 12;

/// A narrow band's edges re-cut on the unsmoothed averaged spectrum `avg` (bins from
/// `acc_lo`, `rows` averaged): the 5-bin smoothing that steadies wide bands would widen a
/// tone by two bins each side. Only shrinks `[lo, hi)`.
fn narrow_edges(avg: &[f32], acc_lo: u32, (lo, hi): (u32, u32), rows: f32) -> (u32, u32) {
    if hi - lo > NARROW_BINS {
        return (lo, hi);
    }
    let Some(band) = avg.get((lo - acc_lo) as usize..(hi - acc_lo) as usize) else {
        return (lo, hi);
    };
    let peak = band.iter().copied().fold(1.0f32, f32::max);
    let thr = (1.0 + 4.0 * (1.5 / rows).sqrt()).max(1.0 + EDGE_LEVEL * (peak - 1.0));
    match (
        band.iter().position(|v| *v > thr),
        band.iter().rposition(|v| *v > thr),
    ) {
        (Some(a), Some(b)) => (lo + a as u32, lo + b as u32 + 1),
        _ => (lo, hi),
    }
}

/// Per-row mean normalised power over bins [lo, lo + weights.len()) for rows [from, to],
/// from the ring, each bin weighted (the band's excess over noise: a matched filter in
/// frequency, so a tone's two bins are not diluted by the noise beside them); `None` when a
/// row has left the ring.
pub(super) fn ring_profile(
    ring: &RowRing,
    (from, to): (u64, u64),
    lo: u32,
    weights: &[f32],
) -> Option<Vec<f32>> {
    let lo = lo as usize;
    let total: f32 = weights.iter().sum();
    (from..=to)
        .map(|r| {
            ring.get(r).map(|row| {
                let row = row.get(lo..).unwrap_or(&[]);
                row.iter().zip(weights).map(|(v, w)| v * w).sum::<f32>() / total.max(1e-12)
            })
        })
        .collect()
}

/// Equal weights for bins [lo, hi).
pub(super) fn flat(lo: u32, hi: u32) -> Vec<f32> {
    vec![1.0; hi.saturating_sub(lo) as usize]
}

/// Weights ∝ excess over noise of `avg` (an averaged normalised spectrum), and their
/// effective width in bins; flat when nothing stands above noise.
pub(super) fn excess_weights(avg: &[f32]) -> (Vec<f32>, f32) {
    let w: Vec<f32> = avg.iter().map(|v| (v - 1.0).max(0.0)).collect();
    let (sum, sq) = w.iter().fold((0.0, 0.0), |(s, q), v| (s + v, q + v * v));
    if sum <= 0.0 {
        return (vec![1.0; avg.len()], avg.len() as f32);
    }
    (w, sum * sum / sq)
}

/// Where a band of `width` (effective) bins holds the emission in a per-row profile: the
/// first and last row whose 3-row mean reaches half the emission's level above noise (rows
/// overlap, so the level ramps over about two rows and the half-way row is the edge) — or
/// `None` when the rows are too weak to judge (integrating scales found it; keep their
/// extent).
pub(super) fn trim(profile: &[f32], width: f32) -> Option<(usize, usize)> {
    let n = profile.len();
    if n < 3 {
        return None;
    }
    let smooth: Vec<f32> = (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(1), (i + 2).min(n));
            profile[a..b].iter().sum::<f32>() / (b - a) as f32
        })
        .collect();
    let noise = 1.0 + 3.0 * (1.5 / (3.0 * width.max(1.0))).sqrt();
    let mut sorted = smooth.clone();
    sorted.sort_by(f32::total_cmp);
    let level = sorted[n * 3 / 4];
    if level <= noise {
        return None;
    }
    let thr = noise.max(1.0 + 0.5 * (level - 1.0));
    let first = smooth.iter().position(|v| *v > thr)?;
    let last = smooth.iter().rposition(|v| *v > thr)?;
    Some((first, last))
}

impl Grouper {
    /// Closes a track: refines its band on the averaged spectrum and its end on the ring,
    /// and measures it.
    pub(super) fn finish(&self, t: Track, ring: &RowRing) -> RawBox {
        let rows = t.rows.max(1) as f32;
        let avg: Vec<f32> = t.acc.iter().map(|a| a / rows).collect();
        let n = avg.len();
        let smooth: Vec<f32> = (0..n)
            .map(|k| {
                let (a, b) = (k.saturating_sub(2), (k + 3).min(n));
                avg[a..b].iter().sum::<f32>() / (b - a) as f32
            })
            .collect();
        // Occupied: above noise by 4σ and above 10% of the strongest excess, contiguous
        // (gaps ≤ 2 bins) around the band the hits found.
        let core_lo = (t.lo.saturating_sub(t.acc_lo) as usize).min(n.saturating_sub(1));
        let core_hi = ((t.hi - t.acc_lo) as usize).clamp(core_lo + 1, n.max(core_lo + 1));
        let peak = smooth[core_lo..core_hi.min(n)]
            .iter()
            .cloned()
            .fold(1.0f32, f32::max);
        let sigma = (1.5 / (5.0 * rows)).sqrt();
        let thr = (1.0 + 4.0 * sigma).max(1.0 + EDGE_LEVEL * (peak - 1.0));
        let above = |k: usize| smooth.get(k).is_some_and(|v| *v > thr);
        let (mut lo, mut hi) = (None::<usize>, None::<usize>);
        for k in core_lo..core_hi.min(n) {
            if above(k) {
                lo = Some(lo.map_or(k, |l: usize| l.min(k)));
                hi = Some(hi.map_or(k, |h: usize| h.max(k)));
            }
        }
        let (lo, hi) = match (lo, hi) {
            (Some(mut l), Some(mut h)) => {
                while l > 0
                    && (above(l - 1) || above(l.saturating_sub(2)) || above(l.saturating_sub(3)))
                {
                    l -= 1;
                }
                while h + 1 < n && (above(h + 1) || above(h + 2) || above(h + 3)) {
                    h += 1;
                }
                (t.acc_lo + l as u32, t.acc_lo + h as u32 + 1)
            }
            _ => (t.lo, t.hi),
        };
        let (lo, hi) = (lo.max(t.acc_lo), hi.min(t.acc_lo + n as u32).max(lo + 1));
        let (lo, hi) = narrow_edges(&avg, t.acc_lo, (lo, hi), rows);
        let band = &avg[(lo - t.acc_lo) as usize..(hi - t.acc_lo) as usize];
        let excess: f32 = band.iter().map(|v| v - 1.0).sum();
        let excess_sq: f32 = band.iter().map(|v| (v - 1.0).max(0.0).powi(2)).sum();
        let effective_bins = if excess_sq > 0.0 {
            excess.max(0.0).powi(2) / excess_sq
        } else {
            band.len() as f32
        };
        let mean_ratio = band.iter().sum::<f32>() / band.len().max(1) as f32;
        // End: integrating scales keep firing after the emission stops, and its last rows
        // may be too faint for any window to fire on: trim on the ring, from the track's
        // rows up to its closing (as far as the ring holds).
        let (mut row_start, mut row_stop) = (t.row_start, t.row_last);
        let to = ring.current().unwrap_or(t.row_last).max(t.row_last);
        let (weights, width) = excess_weights(band);
        let profile = |from| ring_profile(ring, (from, to), lo, &weights);
        // Start too, when the ring still holds the whole track: judged on the final band, it
        // is better than the start fixed early on the band found by then (a chirp's first
        // rows lie outside it, and tracks opened by long windows merge in with their reach).
        let whole = t
            .row_start
            .saturating_sub(t.open_stride.max(self.cfg.max_gap_rows));
        if let Some(p) = profile(whole)
            && let Some((first, last)) = trim(&p, width)
        {
            row_start = whole + first as u64;
            row_stop = whole + last as u64;
        } else {
            let from = t.row_start.max(t.row_last.saturating_sub(40));
            if let Some(p) = profile(from)
                && let Some((_, last)) = trim(&p, width)
            {
                row_stop = from + last as u64;
            }
        }
        RawBox {
            row_start: row_start.min(row_stop),
            row_stop,
            lo,
            hi,
            peak_ratio: t.peak,
            mean_ratio,
            excess,
            effective_bins,
            fragments: t.fragments,
            active_rows: t.active_rows,
        }
    }
}
