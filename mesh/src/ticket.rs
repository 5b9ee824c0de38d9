//! Mesh tickets: what a newcomer needs to join — the mesh id, the mesh secret (the
//! capability: who knows it may join) and bootstrap peers with direct addresses.
//! Text form: `fieldmesh1` + hex of MessagePack body + 4-byte BLAKE3 checksum.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Prefix of every ticket's text form (versioned).
pub const TICKET_PREFIX: &str = "fieldmesh1";

/// A peer to contact first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketPeer {
    /// Endpoint id (the node's public key).
    #[serde(with = "serde_bytes")]
    pub id: [u8; 32],
    /// Direct addresses.
    pub addrs: Vec<SocketAddr>,
}

/// A mesh ticket.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeshTicket {
    /// The mesh secret: proof of membership is derived from it. Never logged.
    #[serde(with = "serde_bytes")]
    pub secret: [u8; 32],
    /// Peers to join through.
    pub peers: Vec<TicketPeer>,
}

impl fmt::Debug for MeshTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeshTicket")
            .field("mesh_id", &hex(&self.mesh_id()[..8]))
            .field("peers", &self.peers)
            .finish_non_exhaustive()
    }
}

/// Why a ticket was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TicketError {
    /// Not a fieldmesh ticket (another format or another version).
    #[error("not a fieldmesh ticket: it must start with {TICKET_PREFIX:?}")]
    Foreign,
    /// Characters that are not hex.
    #[error("garbled ticket: {0}")]
    Garbled(String),
    /// Shorter than any ticket, or cut off.
    #[error("truncated ticket: {0} bytes after the prefix")]
    Truncated(usize),
    /// The checksum does not match: a character was changed or lost.
    #[error("corrupt ticket: checksum mismatch (was it copied completely?)")]
    Checksum,
    /// The body does not decode.
    #[error("garbled ticket body: {0}")]
    Body(String),
    /// No peer to join through.
    #[error("ticket names no peer to join through")]
    NoPeers,
}

impl MeshTicket {
    /// A new mesh: a fresh secret, `peers` to join through (usually the creator).
    pub fn new_mesh(peers: Vec<TicketPeer>) -> Self {
        Self {
            secret: rand::random(),
            peers,
        }
    }

    /// The mesh's public id (BLAKE3 of the secret): safe to show, useless to join with.
    pub fn mesh_id(&self) -> [u8; 32] {
        blake3::derive_key("fieldmesh mesh id v1", &self.secret)
    }

    /// The same mesh, joined through `peers`.
    pub fn with_peers(&self, peers: Vec<TicketPeer>) -> Self {
        Self {
            secret: self.secret,
            peers,
        }
    }
}

impl fmt::Display for MeshTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let body = rmp_serde::to_vec(self).map_err(|_| fmt::Error)?;
        let sum = blake3::hash(&body);
        write!(
            f,
            "{TICKET_PREFIX}{}{}",
            hex(&body),
            hex(&sum.as_bytes()[..4])
        )
    }
}

impl FromStr for MeshTicket {
    type Err = TicketError;

    fn from_str(s: &str) -> Result<Self, TicketError> {
        let s = s.trim();
        let rest = s.strip_prefix(TICKET_PREFIX).ok_or(TicketError::Foreign)?;
        let bytes = unhex(rest)?;
        if bytes.len() < 4 + 8 {
            return Err(TicketError::Truncated(bytes.len()));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 4);
        if blake3::hash(body).as_bytes()[..4] != *sum {
            return Err(TicketError::Checksum);
        }
        let t: MeshTicket =
            rmp_serde::from_slice(body).map_err(|e| TicketError::Body(e.to_string()))?;
        if t.peers.is_empty() {
            return Err(TicketError::NoPeers);
        }
        Ok(t)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>, TicketError> {
    if !s.len().is_multiple_of(2) {
        return Err(TicketError::Garbled("odd number of hex digits".into()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| TicketError::Garbled(format!("not hex at character {}", i + 1)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticket() -> MeshTicket {
        MeshTicket::new_mesh(vec![TicketPeer {
            id: [7; 32],
            addrs: vec!["127.0.0.1:4433".parse().unwrap()],
        }])
    }

    #[test]
    fn round_trips_and_hides_its_secret_in_debug() {
        let t = ticket();
        let text = t.to_string();
        assert!(text.starts_with(TICKET_PREFIX));
        // Keys travel as bytes, not as arrays of integers: a short line to copy.
        assert!(
            text.len() < TICKET_PREFIX.len() + 2 * 100,
            "{} chars",
            text.len()
        );
        assert_eq!(text.parse::<MeshTicket>().unwrap(), t);
        let dbg = format!("{t:?}");
        assert!(!dbg.contains(&hex(&t.secret)), "{dbg}");
    }

    #[test]
    fn bad_tickets_get_clear_errors() {
        let text = ticket().to_string();
        assert_eq!("hello".parse::<MeshTicket>(), Err(TicketError::Foreign));
        assert!(matches!(
            text[..text.len() / 2].parse::<MeshTicket>(),
            Err(TicketError::Checksum | TicketError::Garbled(_))
        ));
        assert!(matches!(
            format!("{TICKET_PREFIX}00ff").parse::<MeshTicket>(),
            Err(TicketError::Truncated(2))
        ));
        let mut flipped = text.clone().into_bytes();
        let i = TICKET_PREFIX.len() + 10;
        flipped[i] = if flipped[i] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            String::from_utf8(flipped).unwrap().parse::<MeshTicket>(),
            Err(TicketError::Checksum)
        );
        assert!(matches!(
            format!("{TICKET_PREFIX}zz").parse::<MeshTicket>(),
            Err(TicketError::Garbled(_))
        ));
        let empty = MeshTicket::new_mesh(vec![]).to_string();
        assert_eq!(empty.parse::<MeshTicket>(), Err(TicketError::NoPeers));
    }
}
