//! One row's CFAR hits as disjoint intervals, by class of window: coarse (wide in
//! frequency) and long (deep in time) windows only shape what finer ones have not found.

use crate::dsp::cfar::Hit;

/// Windows this wide or wider are coarse: they fire up to their width beside a strong
/// emission, so they only shape tracks no fine window has found.
const COARSE_BINS: u32 = 64;

fn is_coarse(h: &Hit) -> bool {
    h.hi - h.lo >= COARSE_BINS
}

/// Windows longer than this are long: they keep firing up to their length after an
/// emission stops, so they only shape tracks no shorter window has found (the weakest,
/// longest emissions, such as a faint carrier).
const LONG_ROWS: u32 = 16;

fn is_long(h: &Hit) -> bool {
    h.rows > LONG_ROWS
}

/// A track short windows found, recently closed: long windows reaching back over it fire
/// on its energy, not on something new.
pub(super) struct ClosedShort {
    pub(super) row_last: u64,
    pub(super) lo: u32,
    pub(super) hi: u32,
}

impl ClosedShort {
    pub(super) fn blocks(&self, iv: &Interval, gap: u32) -> bool {
        iv.start <= self.row_last && iv.lo <= self.hi + gap && self.lo <= iv.hi + gap
    }
}

/// A disjoint union of one row's hits.
pub(super) struct Interval {
    pub(super) lo: u32,
    pub(super) hi: u32,
    /// Earliest row the integrations reach back to.
    pub(super) start: u64,
    pub(super) peak: f32,
    /// Longest integration.
    pub(super) rows: u32,
    pub(super) coarse: bool,
    pub(super) long: bool,
    /// Whether a single-row window is among its hits.
    pub(super) single_row: bool,
}

/// Unions one row's hits into disjoint intervals (`out`, cleared first); hits of different
/// classes (fine or coarse, short or long) never share an interval.
pub(super) fn union_hits(hits: &[Hit], gap: u32, out: &mut Vec<Interval>) {
    out.clear();
    let mut sorted: Vec<&Hit> = hits.iter().collect();
    sorted.sort_unstable_by_key(|h| (is_long(h), is_coarse(h), h.lo, h.hi));
    for h in sorted {
        let start = h.row + 1 - u64::from(h.rows);
        let (coarse, long) = (is_coarse(h), is_long(h));
        match out.last_mut() {
            Some(last) if last.coarse == coarse && last.long == long && h.lo <= last.hi + gap => {
                last.hi = last.hi.max(h.hi);
                last.start = last.start.min(start);
                last.peak = last.peak.max(h.ratio);
                last.rows = last.rows.max(h.rows);
                last.single_row |= h.rows == 1;
            }
            _ => out.push(Interval {
                lo: h.lo,
                hi: h.hi,
                start,
                peak: h.ratio,
                rows: h.rows,
                coarse,
                long,
                single_row: h.rows == 1,
            }),
        }
    }
}
