//! Who may talk to this node: the members of its mesh. Every connection, for every
//! protocol (gossip included), is checked once the TLS handshake proved the peer's id;
//! only the join protocol is open to strangers, and it demands proof of the mesh secret.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use iroh::EndpointId;
use iroh::endpoint::{AfterHandshakeOutcome, Connection, EndpointHooks, VarInt};

use crate::JOIN_ALPN;

/// QUIC close code for a peer that is not a member.
pub const NOT_A_MEMBER: u32 = 403;

/// The mesh members this node knows, with their direct addresses.
#[derive(Clone, Debug, Default)]
pub struct Members {
    inner: Arc<RwLock<BTreeMap<EndpointId, Vec<SocketAddr>>>>,
    greeted: Arc<RwLock<Vec<EndpointId>>>,
}

impl Members {
    /// Adds (or updates) a member; returns whether it was new.
    pub fn admit(&self, id: EndpointId, addrs: Vec<SocketAddr>) -> bool {
        let mut m = self.inner.write().unwrap_or_else(|p| p.into_inner());
        m.insert(id, addrs).is_none()
    }

    /// Whether `id` is a member.
    pub fn contains(&self, id: &EndpointId) -> bool {
        let m = self.inner.read().unwrap_or_else(|p| p.into_inner());
        m.contains_key(id)
    }

    /// Every member and its addresses.
    pub fn list(&self) -> Vec<(EndpointId, Vec<SocketAddr>)> {
        let m = self.inner.read().unwrap_or_else(|p| p.into_inner());
        m.iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// How many.
    pub fn len(&self) -> usize {
        self.inner.read().map(|m| m.len()).unwrap_or(0)
    }

    /// Records the members this node greeted while joining: they knew it first, so
    /// bootstraps pick them (the others learn of it through the directory).
    pub(crate) fn set_greeted(&self, ids: impl IntoIterator<Item = EndpointId>) {
        let mut g = self.greeted.write().unwrap_or_else(|p| p.into_inner());
        *g = ids.into_iter().collect();
    }

    /// Members greeted while joining (empty for the node that made the mesh).
    pub(crate) fn greeted(&self) -> Vec<EndpointId> {
        let g = self.greeted.read().unwrap_or_else(|p| p.into_inner());
        g.iter().filter(|id| self.contains(id)).copied().collect()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The endpoint hook that turns strangers away.
#[derive(Debug)]
pub struct MeshGate {
    members: Members,
    refused: Arc<AtomicU64>,
    traffic: crate::Traffic,
}

impl MeshGate {
    /// A gate admitting `members`; refusals are counted in `refused`, connections that
    /// pass (both ways) in `traffic`.
    pub fn new(members: Members, refused: Arc<AtomicU64>, traffic: crate::Traffic) -> Self {
        Self {
            members,
            refused,
            traffic,
        }
    }
}

impl EndpointHooks for MeshGate {
    async fn after_handshake<'a>(&'a self, conn: &'a Connection) -> AfterHandshakeOutcome {
        if conn.alpn() == JOIN_ALPN || self.members.contains(&conn.remote_id()) {
            self.traffic.track(conn);
            return AfterHandshakeOutcome::Accept;
        }
        self.refused.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(peer = %conn.remote_id().fmt_short(), "refused a stranger");
        AfterHandshakeOutcome::Reject {
            error_code: VarInt::from_u32(NOT_A_MEMBER),
            reason: b"not a member of this mesh".to_vec(),
        }
    }
}
