//! The catch-up protocol (`/fieldmesh/catchup/2`): anti-entropy for replicated events.
//! The asker sends, per origin, the highest contiguous sequence it holds; the answerer
//! streams the events above those (each with its origin's signature), from any origin.
//! One exchange per bi-stream: the periodic rounds keep a partner's connection for a few
//! rounds ([`CatchUpPartner`]) instead of a handshake each.

use std::collections::BTreeMap;

use fieldmesh_actors::model::NodeId;
use fieldmesh_actors::store::Store;
use fieldmesh_actors::store::catchup::ranges_to_offer;
use iroh::endpoint::{Connection, RecvStream};
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointId, SecretKey};
use serde::{Deserialize, Serialize};

use crate::wire::{SignedEvent, decode, encode, sign_event, stored_event};
use crate::{CATCHUP_ALPN, MeshCounters, MeshError};

/// Most events one exchange carries (the next exchange goes on).
pub const MAX_EVENTS_PER_EXCHANGE: usize = 20_000;
/// Events per frame on the stream.
const FRAME_EVENTS: usize = 256;
/// Largest frame accepted.
const MAX_FRAME_BYTES: usize = 32 * 1024 * 1024;
/// An answerer drops a connection that asks nothing for this long.
const IDLE: std::time::Duration = std::time::Duration::from_secs(30);
/// Rounds asked of one partner over one connection before another partner is chosen.
pub(crate) const ROUNDS_PER_PARTNER: u32 = 5;

/// Per origin, the highest contiguous sequence the asker holds. Origins travel as
/// msgpack bytes (`NodeId`'s encoding, 34 bytes), not as arrays of 32 integers (~49).
#[derive(Serialize, Deserialize)]
struct Have {
    contiguous: Vec<(NodeId, u64)>,
}

/// Serves catch-up requests from members.
#[derive(Clone)]
pub struct CatchUpProtocol {
    pub(crate) store: Store,
    pub(crate) key: SecretKey,
}

impl std::fmt::Debug for CatchUpProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatchUpProtocol")
            .field("node", &self.store.local())
            .finish_non_exhaustive()
    }
}

impl CatchUpProtocol {
    /// The signed events `have` lacks, in frames.
    fn offer(&self, have: Have) -> Result<Vec<Vec<SignedEvent>>, MeshError> {
        let theirs: BTreeMap<NodeId, u64> = have.contiguous.into_iter().collect();
        let mine = self.store.origins().map_err(MeshError::store)?;
        let local = self.store.local();
        let mut frames = Vec::new();
        let mut frame = Vec::new();
        let mut sent = 0;
        for r in ranges_to_offer(&mine, &theirs) {
            let left = MAX_EVENTS_PER_EXCHANGE - sent;
            for (event, sig) in self
                .store
                .origin_range(&r.origin, r.from, r.to, left)
                .map_err(MeshError::store)?
            {
                let signed = if event.origin == local {
                    sign_event(&self.key, &event)
                } else if let Some(sig) = sig {
                    stored_event(&event, &sig)
                } else {
                    continue; // no origin signature (e.g. ingested over HTTP): not relayed
                };
                let Ok(signed) = signed else { continue };
                frame.push(signed);
                sent += 1;
                if frame.len() == FRAME_EVENTS {
                    frames.push(std::mem::take(&mut frame));
                }
            }
            if sent >= MAX_EVENTS_PER_EXCHANGE {
                break;
            }
        }
        if !frame.is_empty() {
            frames.push(frame);
        }
        Ok(frames)
    }
}

impl CatchUpProtocol {
    /// Answers one exchange on a bi-stream.
    async fn answer(&self, conn: &Connection) -> Result<bool, AcceptError> {
        let Ok(Ok((mut send, mut recv))) = tokio::time::timeout(IDLE, conn.accept_bi()).await
        else {
            return Ok(false); // closed by the asker, or idle
        };
        let bytes = recv
            .read_to_end(MAX_FRAME_BYTES)
            .await
            .map_err(AcceptError::from_err)?;
        let have: Have = decode(&bytes).map_err(AcceptError::from_err)?;
        let this = self.clone();
        let frames = tokio::task::spawn_blocking(move || this.offer(have))
            .await
            .map_err(AcceptError::from_err)?
            .map_err(AcceptError::from_err)?;
        for f in frames {
            crate::wire::write_frame(&mut send, &encode(&f))
                .await
                .map_err(AcceptError::from_err)?;
        }
        send.finish()?;
        Ok(true)
    }
}

impl ProtocolHandler for CatchUpProtocol {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        while self.answer(&conn).await? {}
        Ok(())
    }
}

async fn read_events(recv: &mut RecvStream) -> Result<Option<Vec<SignedEvent>>, MeshError> {
    match crate::wire::read_frame(recv, MAX_FRAME_BYTES).await? {
        Some(body) => decode(&body)
            .map(Some)
            .map_err(|e| MeshError::Protocol(e.to_string())),
        None => Ok(None),
    }
}

/// Asks `peer` for what this store lacks, on a connection of its own; stores what
/// verifies. Returns events stored.
pub async fn catch_up(
    ep: &Endpoint,
    peer: EndpointId,
    store: &Store,
    counters: &MeshCounters,
) -> Result<usize, MeshError> {
    let conn = connect(ep, peer).await?;
    let stored = exchange(&conn, store, counters).await;
    conn.close(0u32.into(), b"done");
    stored
}

/// A catch-up connection to `peer`.
pub(crate) async fn connect(ep: &Endpoint, peer: EndpointId) -> Result<Connection, MeshError> {
    ep.connect(peer, CATCHUP_ALPN)
        .await
        .map_err(|e| MeshError::Unreachable(format!("{}: {e}", peer.fmt_short())))
}

/// One exchange on `conn`: what this store lacks, asked and stored. Returns events stored.
pub(crate) async fn exchange(
    conn: &Connection,
    store: &Store,
    counters: &MeshCounters,
) -> Result<usize, MeshError> {
    let s = store.clone();
    let mine = tokio::task::spawn_blocking(move || s.origins())
        .await
        .map_err(|e| MeshError::Protocol(e.to_string()))?
        .map_err(MeshError::store)?;
    let have = Have {
        contiguous: mine
            .iter()
            .map(|(o, s)| (*o, s.contiguous.max(s.pruned)))
            .collect(),
    };
    let (mut send, mut recv) = conn
        .open_bi()
        .await
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    send.write_all(&encode(&have))
        .await
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    send.finish()
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    let local = store.local();
    let mut stored = 0;
    while let Some(frame) = read_events(&mut recv).await? {
        let good = counters.verified(frame, local);
        if !good.is_empty() {
            stored += store
                .append_signed(good)
                .await
                .map_err(MeshError::store)?
                .inserted;
        }
    }
    counters.add_caught_up(stored as u64);
    Ok(stored)
}

/// Who the periodic catch-up rounds ask (sans-IO): one random member for
/// [`ROUNDS_PER_PARTNER`] rounds, then another, so that a round rarely costs a handshake
/// while every member is still asked in time.
#[derive(Debug, Default)]
pub(crate) struct CatchUpPartner {
    current: Option<(EndpointId, u32)>,
}

impl CatchUpPartner {
    /// The partner of the next round among `members` (this node left out); `pick` draws an
    /// index below its argument.
    pub(crate) fn next(
        &mut self,
        members: &[EndpointId],
        pick: impl FnOnce(usize) -> usize,
    ) -> Option<EndpointId> {
        if let Some((id, rounds)) = &mut self.current
            && *rounds < ROUNDS_PER_PARTNER
            && members.contains(id)
        {
            *rounds += 1;
            return Some(*id);
        }
        let last = self.current.take().map(|(id, _)| id);
        let others: Vec<EndpointId> = members
            .iter()
            .copied()
            .filter(|m| Some(*m) != last || members.len() == 1)
            .collect();
        if others.is_empty() {
            return None;
        }
        let id = others[pick(others.len()).min(others.len() - 1)];
        self.current = Some((id, 1));
        Some(id)
    }

    /// The partner failed: the next round chooses again.
    pub(crate) fn failed(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> EndpointId {
        SecretKey::from_bytes(&[n; 32]).public()
    }

    #[test]
    fn a_partner_is_kept_for_some_rounds_then_another_is_chosen() {
        let members = [id(1), id(2), id(3)];
        let mut p = CatchUpPartner::default();
        let first = p.next(&members, |_| 0).unwrap();
        for _ in 1..ROUNDS_PER_PARTNER {
            assert_eq!(p.next(&members, |_| 2), Some(first));
        }
        let second = p.next(&members, |_| 0).unwrap();
        assert_ne!(
            second, first,
            "a new partner after {ROUNDS_PER_PARTNER} rounds"
        );
        // A partner that fails, or leaves, is replaced at once.
        p.failed();
        let third = p.next(&members, |_| 0).unwrap();
        assert_ne!(third, second, "chosen again, not kept");
        let rest: Vec<_> = members.iter().copied().filter(|m| *m != third).collect();
        assert_ne!(p.next(&rest, |_| 0), Some(third));
        // Alone with one member: that one, again and again; with none: nobody.
        let mut p = CatchUpPartner::default();
        for _ in 0..2 * ROUNDS_PER_PARTNER {
            assert_eq!(p.next(&members[..1], |_| 0), Some(members[0]));
        }
        assert_eq!(p.next(&[], |_| 0), None);
    }

    #[test]
    fn a_have_costs_about_forty_bytes_per_origin() {
        let have = Have {
            contiguous: (0..300u32)
                .map(|i| {
                    let mut id = [0xa5u8; 32];
                    id[..4].copy_from_slice(&i.to_le_bytes());
                    (NodeId::from_bytes(id), 40_000 + u64::from(i))
                })
                .collect(),
        };
        let bytes = encode(&have);
        assert!(bytes.len() <= 300 * 40, "{} bytes", bytes.len());
        let back: Have = decode(&bytes).unwrap();
        assert_eq!(back.contiguous, have.contiguous);
    }
}
