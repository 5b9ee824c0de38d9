//! Grouping CFAR hits into time-frequency boxes, streaming: hits extend open tracks,
//! quiet tracks close, fragments of one emission (pulses, hops) merge, edges are refined
//! on the averaged spectrum, and overlapping boxes are suppressed.

use serde::{Deserialize, Serialize};

use super::cfar::Hit;
use super::noise::RowBlock;

mod interval;
mod merge;
mod refine;
mod ring;
use interval::{ClosedShort, Interval, union_hits};
use merge::{merge_fragments, suppress};
use refine::{START_SETTLE_ROWS, flat, ring_profile, trim};
use ring::RowRing;

/// Grouping settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupConfig {
    /// Bins between hits that still join one track.
    pub freq_gap_bins: u32,
    /// Rows without a hit before a track closes.
    pub max_gap_rows: u64,
    /// Same-band fragments this many rows apart merge (pulse trains).
    pub pulse_gap_rows: u64,
    /// Fragments that follow each other within this many rows, at most `hop_span_bins`
    /// apart, merge (frequency hopping).
    pub hop_gap_rows: u64,
    /// See `hop_gap_rows`.
    pub hop_span_bins: u32,
    /// Margin (bins) kept around a track's band for edge refinement.
    pub margin_bins: u32,
    /// Most boxes reported per flush (strongest first).
    pub max_boxes: usize,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            freq_gap_bins: 3,
            max_gap_rows: 4,
            pulse_gap_rows: 40,
            hop_gap_rows: 8,
            hop_span_bins: 2048,
            margin_bins: 24,
            max_boxes: 64,
        }
    }
}

/// A closed time-frequency box, in row and bin units (conversion to seconds and hertz
/// happens where the sample rate is known).
#[derive(Clone, Debug, PartialEq)]
pub struct RawBox {
    /// First row with the emission.
    pub row_start: u64,
    /// Last row with the emission.
    pub row_stop: u64,
    /// First bin.
    pub lo: u32,
    /// One past the last bin.
    pub hi: u32,
    /// Highest mean normalised power of any hit.
    pub peak_ratio: f32,
    /// Mean normalised power over the box (1.0 = noise), from the averaged spectrum.
    pub mean_ratio: f32,
    /// Σ over the box's bins of (averaged ratio − 1): emission power over noise per bin.
    pub excess: f32,
    /// Effective width in bins of that excess: (Σ e)² / Σ e² (participation ratio).
    pub effective_bins: f32,
    /// Number of fragments merged into it.
    pub fragments: u32,
    /// Rows where a single-row window fired on it, ascending (how a hopper that revisits its
    /// frequencies is told from emitters that are on at the same time).
    pub active_rows: Vec<u64>,
}

struct Track {
    row_start: u64,
    row_last: u64,
    lo: u32,
    hi: u32,
    peak: f32,
    /// Per-bin sums of normalised power over the rows seen, for bins acc_lo.. .
    acc_lo: u32,
    acc: Vec<f32>,
    rows: u32,
    fragments: u32,
    opened: u64,
    start_fixed: bool,
    /// Rows without a hit before it closes.
    quiet_rows: u64,
    /// Half the integration of the hits that opened it: windows are that far apart, so the
    /// emission may begin up to that many rows earlier.
    open_stride: u64,
    /// Whether fine windows (narrower than `interval::COARSE_BINS`) found it.
    fine: bool,
    /// Whether windows no longer than `interval::LONG_ROWS` found it.
    short: bool,
    /// See [`RawBox::active_rows`].
    active_rows: Vec<u64>,
}

/// The grouping core.
pub struct Grouper {
    cfg: GroupConfig,
    nbins: u32,
    open: Vec<Track>,
    closed: Vec<RawBox>,
    intervals: Vec<Interval>,
    recent_short: Vec<ClosedShort>,
    ring: RowRing,
}

impl Grouper {
    /// A grouper for rows of `nbins`.
    pub fn new(nbins: usize, cfg: GroupConfig) -> Self {
        Self {
            cfg,
            nbins: nbins as u32,
            open: Vec::new(),
            closed: Vec::new(),
            intervals: Vec::new(),
            recent_short: Vec::new(),
            ring: RowRing::new(nbins),
        }
    }

    /// Bins per row.
    pub fn nbins(&self) -> usize {
        self.nbins as usize
    }

    /// Feeds a block of normalised rows and their hits (ascending by row). The grouper
    /// keeps the block to look back on; [`Grouper::take_spent`] hands buffers back.
    pub fn push_block(&mut self, block: RowBlock, hits: &[Hit]) {
        let n = self.nbins();
        if n == 0 {
            return;
        }
        let (first, rows) = (block.first, (block.data.len() / n) as u64);
        self.ring.push(block);
        let mut ring = std::mem::take(&mut self.ring);
        let mut at = 0;
        for row in first..first + rows {
            let from = at;
            while at < hits.len() && hits[at].row == row {
                at += 1;
            }
            ring.advance(row);
            self.step(row, &hits[from..at], &ring);
        }
        self.ring = ring;
    }

    /// A row buffer the grouper no longer needs, for the next block.
    pub fn take_spent(&mut self) -> Option<Vec<f32>> {
        self.ring.take_spent()
    }

    /// Groups row `row` (held by `ring`) and its hits.
    fn step(&mut self, row: u64, hits: &[Hit], ring: &RowRing) {
        let Some(ratio) = ring.get(row) else {
            return;
        };
        // 1. Union the hits into disjoint intervals, one class of window at a time.
        union_hits(hits, self.cfg.freq_gap_bins, &mut self.intervals);
        // 2. Extend (and merge) open tracks that overlap each interval; else open new ones.
        let gap = self.cfg.freq_gap_bins;
        for iv in &self.intervals {
            let near = |t: &Track| iv.lo <= t.hi + gap && t.lo <= iv.hi + gap;
            if !iv.long {
                // Short windows found what only long ones had: their timing is the better
                // one, so the track starts afresh from them.
                self.open.retain(|t| t.short || !near(t));
            }
            let touching: Vec<usize> = self
                .open
                .iter()
                .enumerate()
                .filter(|(_, t)| near(t))
                .map(|(i, _)| i)
                .collect();
            if iv.long
                && (touching.iter().any(|i| self.open[*i].short)
                    || self.recent_short.iter().any(|r| r.blocks(iv, gap)))
            {
                continue;
            }
            let quiet = self.cfg.max_gap_rows + u64::from(iv.rows / 2);
            if iv.coarse && touching.iter().any(|i| self.open[*i].fine) {
                // A wide window beside an emission that fine windows resolve fires on that
                // emission's own energy: it keeps the tracks alive but neither widens nor
                // joins them (or a strong emission would swallow its neighbours).
                for &i in &touching {
                    let t = &mut self.open[i];
                    t.row_last = row;
                    t.quiet_rows = t.quiet_rows.max(quiet);
                }
                continue;
            }
            let mut track = match touching.first() {
                None => {
                    // The integration reached back to `start`; the ring holds rows that far.
                    let back = (iv.start..row).filter(|r| ring.get(*r).is_some()).count() as u64;
                    Track {
                        row_start: row - back,
                        row_last: row,
                        lo: iv.lo,
                        hi: iv.hi,
                        peak: iv.peak,
                        acc_lo: iv.lo,
                        acc: Vec::new(),
                        rows: 0,
                        fragments: 1,
                        active_rows: Vec::new(),
                        opened: row,
                        start_fixed: false,
                        quiet_rows: 0,
                        open_stride: u64::from(iv.rows / 2),
                        fine: false,
                        short: false,
                    }
                }
                Some(_) => {
                    let mut merged = self.open.swap_remove(touching[touching.len() - 1]);
                    for &i in touching.iter().rev().skip(1) {
                        let other = self.open.swap_remove(i);
                        merge_tracks(&mut merged, other);
                    }
                    merged
                }
            };
            track.row_last = row;
            // A scale of r rows is tested every r/2 rows: wait that long for its next hit.
            track.quiet_rows = quiet;
            track.lo = track.lo.min(iv.lo);
            track.hi = track.hi.max(iv.hi);
            track.peak = track.peak.max(iv.peak);
            track.fine |= !iv.coarse;
            track.short |= !iv.long;
            if iv.single_row && track.active_rows.last() != Some(&row) {
                track.active_rows.push(row);
            }
            self.open.push(track);
        }
        // 3. Accumulate this row's spectrum around every open track (for edge refinement).
        let margin = self.cfg.margin_bins;
        for t in &mut self.open {
            let want_lo = t.lo.saturating_sub(margin);
            let want_hi = (t.hi + margin).min(self.nbins);
            grow(t, want_lo, want_hi);
            let from = t.acc_lo as usize;
            let len = t.acc.len();
            for (a, r) in t.acc.iter_mut().zip(&ratio[from..from + len]) {
                *a += r;
            }
            t.rows += 1;
            if !t.start_fixed && row >= t.opened + START_SETTLE_ROWS {
                // Search from a stride before the first window: the emission may have begun
                // between two windows.
                let from = t.row_start.saturating_sub(t.open_stride);
                let weights = flat(t.lo, t.hi);
                if let Some(p) = ring_profile(ring, (from, row), t.lo, &weights)
                    && let Some((first, _)) = trim(&p, weights.len() as f32)
                {
                    t.row_start = from + first as u64;
                }
                t.start_fixed = true;
            }
        }
        // 4. Close quiet tracks (and forget short ones no long window reaches back to).
        let reach = crate::dsp::cfar::MAX_ROWS as u64;
        self.recent_short
            .retain(|c| row.saturating_sub(c.row_last) <= reach);
        let mut i = 0;
        while i < self.open.len() {
            if row.saturating_sub(self.open[i].row_last) > self.open[i].quiet_rows {
                let t = self.open.swap_remove(i);
                if t.short {
                    self.recent_short.push(ClosedShort {
                        row_last: t.row_last,
                        lo: t.lo,
                        hi: t.hi,
                    });
                }
                let b = self.finish(t, ring);
                self.closed.push(b);
            } else {
                i += 1;
            }
        }
    }

    /// Boxes that can no longer grow, fragments merged, overlaps suppressed. With `all`,
    /// every open track is closed first (end of a recording).
    pub fn flush(&mut self, now_row: u64, all: bool) -> Vec<RawBox> {
        if all {
            for t in std::mem::take(&mut self.open) {
                let b = self.finish(t, &self.ring);
                self.closed.push(b);
            }
        }
        merge_fragments(&mut self.closed, &self.cfg);
        let hold = self.cfg.pulse_gap_rows.max(self.cfg.hop_gap_rows);
        // A closed box waits only for open tracks it could still merge with: one in its band
        // (pulses) or one that began as it ended, within the hop span (hops). A carrier that
        // never stops elsewhere does not hold everything back.
        let cfg = &self.cfg;
        let could_merge = |b: &RawBox| {
            self.open.iter().any(|t| {
                let pulse =
                    t.lo < b.hi && b.lo < t.hi && t.row_last + cfg.pulse_gap_rows >= b.row_start;
                let span = t.hi.max(b.hi) - t.lo.min(b.lo);
                let hop = t.row_start + cfg.hop_gap_rows >= b.row_stop && span <= cfg.hop_span_bins;
                pulse || hop
            })
        };
        let (ready, keep): (Vec<RawBox>, Vec<RawBox>) = self
            .closed
            .drain(..)
            .partition(|b| all || (now_row > b.row_stop + hold && !could_merge(b)));
        self.closed = keep;
        let mut ready = suppress(ready);
        ready.sort_by(|a, b| b.peak_ratio.total_cmp(&a.peak_ratio));
        ready.truncate(self.cfg.max_boxes);
        ready.sort_by_key(|b| (b.row_start, b.lo));
        ready
    }
}

fn grow(t: &mut Track, lo: u32, hi: u32) {
    let (old_lo, old_hi) = (t.acc_lo, t.acc_lo + t.acc.len() as u32);
    if t.acc.is_empty() {
        t.acc_lo = lo;
        t.acc = vec![0.0; (hi - lo) as usize];
        return;
    }
    if lo < old_lo || hi > old_hi {
        let (nlo, nhi) = (lo.min(old_lo), hi.max(old_hi));
        // Rows seen before the widening count as noise (ratio 1) in the new bins.
        let mut acc = vec![t.rows as f32; (nhi - nlo) as usize];
        let off = (old_lo - nlo) as usize;
        acc[off..off + t.acc.len()].copy_from_slice(&t.acc);
        t.acc_lo = nlo;
        t.acc = acc;
    }
}

/// The union of two ascending row lists, ascending.
fn merge_sorted(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out: Vec<u64> = a.iter().chain(b).copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn merge_tracks(a: &mut Track, b: Track) {
    a.row_start = a.row_start.min(b.row_start);
    a.row_last = a.row_last.max(b.row_last);
    a.lo = a.lo.min(b.lo);
    a.hi = a.hi.max(b.hi);
    a.peak = a.peak.max(b.peak);
    a.fragments += b.fragments;
    a.fine |= b.fine;
    a.short |= b.short;
    a.active_rows = merge_sorted(&a.active_rows, &b.active_rows);
    a.open_stride = a.open_stride.max(b.open_stride);
    // Both saw the same recent rows: keep the longer accumulation (the next row widens it).
    if b.rows > a.rows {
        a.acc_lo = b.acc_lo;
        a.acc = b.acc;
        a.rows = b.rows;
    }
    // Profiles end at the same row; keep the one that starts earlier.
}
