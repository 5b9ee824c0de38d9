//! Anti-entropy planning, sans-IO: from what a peer says it holds (per origin, the highest
//! contiguous sequence) and what this store holds, the ranges to send it.

use std::collections::BTreeMap;

use super::OriginSeqs;
use crate::model::NodeId;

/// Sequences `from..=to` of `origin` that a peer lacks and this node may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// Whose events.
    pub origin: NodeId,
    /// First sequence.
    pub from: u64,
    /// Last sequence.
    pub to: u64,
}

/// What to offer a peer that holds `theirs` (origin → highest contiguous seq), given
/// `mine`: for every origin, everything above the peer's contiguous prefix up to the
/// highest seq here. Events the peer holds beyond a gap are offered again; it drops them
/// as duplicates (cheaper than exchanging full sets).
pub fn ranges_to_offer(
    mine: &BTreeMap<NodeId, OriginSeqs>,
    theirs: &BTreeMap<NodeId, u64>,
) -> Vec<Range> {
    mine.iter()
        .filter_map(|(origin, seqs)| {
            let have = theirs.get(origin).copied().unwrap_or(0);
            // Below `pruned` nothing is left here to send.
            let from = have.max(seqs.pruned) + 1;
            (seqs.max_seen >= from).then_some(Range {
                origin: *origin,
                from,
                to: seqs.max_seen,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(b: u8) -> NodeId {
        NodeId::from_bytes([b; 32])
    }

    #[test]
    fn offers_what_the_peer_lacks_and_nothing_it_has() {
        let mut mine = BTreeMap::new();
        let s = |contiguous, max_seen, pruned| OriginSeqs {
            contiguous,
            max_seen,
            pruned,
        };
        mine.insert(id(1), s(10, 10, 0));
        mine.insert(id(2), s(5, 9, 0));
        mine.insert(id(3), s(100, 100, 60));
        mine.insert(id(4), s(3, 3, 0));
        let theirs = BTreeMap::from([(id(1), 10), (id(2), 2), (id(3), 10)]);
        let r = ranges_to_offer(&mine, &theirs);
        assert_eq!(
            r,
            vec![
                Range {
                    origin: id(2),
                    from: 3,
                    to: 9
                },
                Range {
                    origin: id(3),
                    from: 61,
                    to: 100
                },
                Range {
                    origin: id(4),
                    from: 1,
                    to: 3
                },
            ]
        );
    }
}
