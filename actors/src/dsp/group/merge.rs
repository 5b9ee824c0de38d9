//! Boxes after their tracks closed: fragments of one emission merge (pulse trains, hops),
//! and non-maximum suppression drops boxes mostly inside stronger ones.

use super::{GroupConfig, RawBox};

/// Merges fragments of one emission: the same band with short gaps (pulse trains), or
/// fragments that follow each other closely within a span (frequency hopping).
pub(super) fn merge_fragments(boxes: &mut Vec<RawBox>, cfg: &GroupConfig) {
    let mut changed = true;
    while changed {
        changed = false;
        boxes.sort_by_key(|b| b.row_start);
        'outer: for i in 0..boxes.len() {
            for j in (i + 1)..boxes.len() {
                let (a, b) = (&boxes[i], &boxes[j]);
                // a starts first; d < 0 means they overlap in time by −d rows.
                let d = b.row_start as i64 - a.row_stop as i64;
                let freq_overlap = a.lo < b.hi && b.lo < a.hi;
                let span = a.hi.max(b.hi) - a.lo.min(b.lo);
                let pulse = freq_overlap && d <= cfg.pulse_gap_rows as i64;
                let hop = d.unsigned_abs() <= cfg.hop_gap_rows && span <= cfg.hop_span_bins;
                let revisits = d < 0 && span <= cfg.hop_span_bins && interleaved(a, b);
                if pulse || hop || revisits {
                    let b = boxes.remove(j);
                    absorb(&mut boxes[i], b);
                    changed = true;
                    break 'outer;
                }
            }
        }
    }
}

/// Whether two boxes that overlap in time take turns: each fired alone on several rows and
/// hardly ever on the same row as the other (a hopper revisiting its frequencies does this;
/// two emitters that are on together do not).
fn interleaved(a: &RawBox, b: &RawBox) -> bool {
    let (x, y) = (&a.active_rows, &b.active_rows);
    if x.len() < 2 || y.len() < 2 {
        return false;
    }
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    both * 5 <= x.len().min(y.len())
}

fn absorb(a: &mut RawBox, b: RawBox) {
    let (wa, wb) = ((a.hi - a.lo) as f32, (b.hi - b.lo) as f32);
    a.excess += b.excess;
    a.effective_bins += b.effective_bins;
    a.mean_ratio = (a.mean_ratio * wa + b.mean_ratio * wb) / (wa + wb);
    a.row_start = a.row_start.min(b.row_start);
    a.row_stop = a.row_stop.max(b.row_stop);
    a.lo = a.lo.min(b.lo);
    a.hi = a.hi.max(b.hi);
    a.peak_ratio = a.peak_ratio.max(b.peak_ratio);
    a.fragments += b.fragments;
    a.active_rows.extend_from_slice(&b.active_rows);
    a.active_rows.sort_unstable();
    a.active_rows.dedup();
}

/// Non-maximum suppression: a box mostly inside a stronger one is dropped.
pub(super) fn suppress(mut boxes: Vec<RawBox>) -> Vec<RawBox> {
    boxes.sort_by(|a, b| b.peak_ratio.total_cmp(&a.peak_ratio));
    let mut kept: Vec<RawBox> = Vec::new();
    for b in boxes {
        let area = |x: &RawBox| (x.row_stop + 1 - x.row_start) as f64 * f64::from(x.hi - x.lo);
        let covered = kept.iter().any(|k| {
            let t = (k.row_stop.min(b.row_stop) + 1).saturating_sub(k.row_start.max(b.row_start))
                as f64;
            let f = f64::from(k.hi.min(b.hi).saturating_sub(k.lo.max(b.lo)));
            t * f > 0.5 * area(&b)
        });
        if !covered {
            kept.push(b);
        }
    }
    kept
}
