//! The normalised rows a grouper looks back on when a track opens or closes: whole row
//! blocks, held as they arrived (not copied row by row) until they are `RING` rows old.

use std::collections::VecDeque;

use crate::dsp::noise::RowBlock;

/// Rows kept for looking back.
pub(super) const RING: u64 = 160;

/// Buffers of let-go blocks kept for reuse; more are freed (a caller that never takes them,
/// such as a stage whose blocks arrive in fresh messages, must not make them pile up).
const SPARE_BUFFERS: usize = 2;

/// Row blocks covering at least the last `RING` rows up to the current one.
#[derive(Default)]
pub(super) struct RowRing {
    nbins: usize,
    blocks: VecDeque<RowBlock>,
    /// The row being grouped: rows after it are not visible yet.
    current: Option<u64>,
    /// Buffers of blocks that aged out, for reuse.
    spent: Vec<Vec<f32>>,
}

impl RowRing {
    pub(super) fn new(nbins: usize) -> Self {
        Self {
            nbins: nbins.max(1),
            ..Self::default()
        }
    }

    /// Takes a block whose rows follow those held; blocks no row of which can be looked
    /// back on any more are let go.
    pub(super) fn push(&mut self, block: RowBlock) {
        if block.data.len() < self.nbins {
            return;
        }
        while let Some(old) = self.blocks.front() {
            let last = old.first + (old.data.len() / self.nbins) as u64 - 1;
            if last + RING >= block.first && last < block.first {
                break;
            }
            if let Some(old) = self.blocks.pop_front()
                && self.spent.len() < SPARE_BUFFERS
            {
                self.spent.push(old.data);
            }
        }
        self.blocks.push_back(block);
    }

    /// Makes `row` the current row.
    pub(super) fn advance(&mut self, row: u64) {
        self.current = Some(row);
    }

    /// The current row.
    pub(super) fn current(&self) -> Option<u64> {
        self.current
    }

    /// Row `r`, if it is at most `RING − 1` rows before the current one and held.
    pub(super) fn get(&self, r: u64) -> Option<&[f32]> {
        let cur = self.current?;
        if r > cur || r + RING <= cur {
            return None;
        }
        let n = self.nbins;
        self.blocks.iter().rev().find_map(|b| {
            let i = usize::try_from(r.checked_sub(b.first)?).ok()?;
            b.data.get(i * n..(i + 1) * n)
        })
    }

    /// A buffer let go, for the caller's next block.
    pub(super) fn take_spent(&mut self) -> Option<Vec<f32>> {
        self.spent.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(first: u64, rows: usize, nbins: usize) -> RowBlock {
        RowBlock {
            first,
            data: (0..rows * nbins)
                .map(|c| (first as usize + c / nbins) as f32)
                .collect(),
        }
    }

    #[test]
    fn holds_the_last_ring_rows_up_to_the_current_one() {
        let mut ring = RowRing::new(4);
        for b in 0..20u64 {
            ring.push(block(b * 32, 32, 4));
            for r in b * 32..(b + 1) * 32 {
                ring.advance(r);
                assert_eq!(ring.get(r).map(|v| v[0]), Some(r as f32));
                assert_eq!(ring.get(r + 1), None, "not yet grouped");
                let back = r.saturating_sub(RING - 1);
                assert_eq!(ring.get(back).map(|v| v[3]), Some(back as f32));
                if r >= RING {
                    assert_eq!(ring.get(r - RING), None);
                }
            }
        }
        // Seven blocks of 32 cover 160 rows back from any row of the newest.
        assert!(ring.blocks.len() <= 7, "{}", ring.blocks.len());
        // Buffers nobody took do not pile up.
        assert_eq!(ring.spent.len(), SPARE_BUFFERS);
        assert!(ring.take_spent().is_some());
    }

    #[test]
    fn a_restarted_stream_drops_what_came_before() {
        let mut ring = RowRing::new(2);
        ring.push(block(1000, 8, 2));
        ring.push(block(0, 8, 2));
        ring.advance(5);
        assert_eq!(ring.blocks.len(), 1);
        assert_eq!(ring.get(5).map(|v| v[0]), Some(5.0));
    }
}
