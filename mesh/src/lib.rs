//! fieldmesh's mesh adapter: one iroh endpoint per node, a gate that admits only mesh
//! members, joining by ticket, events everywhere over gossip with catch-up. The domain
//! (`fieldmesh-actors`) never sees iroh: this crate speaks to it through its `Store`.

mod artifacts;
mod catchup;
mod cluster;
mod config;
mod contents;
mod directory;
mod docsync;
mod documents;
mod gate;
mod join;
mod link;
mod live;
mod node;
mod pull;
mod room_entry;
mod rooms;
mod roster;
mod tasks;
mod ticket;
mod traffic;
pub mod wire;

use std::sync::atomic::{AtomicU64, Ordering};

use fieldmesh_actors::model::{Event, NodeId};

pub use artifacts::ArtifactShare;
pub use catchup::{CatchUpProtocol, MAX_EVENTS_PER_EXCHANGE, catch_up};
pub use cluster::{
    ClusterPeer, ClusterPeers, ComputeMsg, HEAVY_COMPUTE_GROUP, RefineReply, RefineRequest,
    Refiner, refine_remotely,
};
pub use config::{MeshConfig, MeshJoin, MeshLocal, MeshNetwork};
pub use directory::{Directory, MemberInfo, RoomEntry};
pub use gate::{Members, MeshGate, NOT_A_MEMBER};
pub use join::{JoinProtocol, join};
pub use link::LinkNetwork;
pub use live::{LiveFrame, LiveProtocol};
pub use node::MeshNode;
pub use pull::PullPolicy;
pub use rooms::MeshRooms;
pub use ticket::{MeshTicket, TICKET_PREFIX, TicketError, TicketPeer};
pub use traffic::{ProtocolTraffic, Traffic};

/// Versioned ALPN of the join protocol (the only one open to strangers).
pub const JOIN_ALPN: &[u8] = b"/fieldmesh/join/2";
/// Versioned ALPN of the catch-up (anti-entropy) protocol.
pub const CATCHUP_ALPN: &[u8] = b"/fieldmesh/catchup/2";
/// Versioned ALPN of the ractor_cluster transport.
pub const CLUSTER_ALPN: &[u8] = b"/fieldmesh/cluster/1";
/// Versioned ALPN of live data for viewers (waterfall rows, measurement batches).
pub const LIVE_ALPN: &[u8] = b"/fieldmesh/live/1";

/// The next commit's events; a receiver that fell behind logs what it skipped (`lost` says
/// what that costs) and goes on. `None` once the store is gone.
pub(crate) async fn next_commit(
    rx: &mut tokio::sync::broadcast::Receiver<std::sync::Arc<[Event]>>,
    lost: &str,
) -> Option<std::sync::Arc<[Event]>> {
    loop {
        match rx.recv().await {
            Ok(e) => return Some(e),
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(missed_commits = n, "{lost}");
            }
            Err(_) => return None,
        }
    }
}

/// Mesh failures.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// The endpoint could not start.
    #[error("mesh endpoint: {0}")]
    Endpoint(String),
    /// A peer could not be reached.
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    /// A peer refused us (e.g. a wrong mesh secret).
    #[error("refused by the mesh: {0}")]
    Refused(String),
    /// A peer spoke nonsense.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The local store failed.
    #[error("store: {0}")]
    Store(String),
    /// A file in the data dir.
    #[error("{path}: {message}")]
    File {
        /// Which file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl MeshError {
    pub(crate) fn store(e: impl std::fmt::Display) -> Self {
        Self::Store(e.to_string())
    }
}

/// What the mesh did, for metrics and tests.
#[derive(Debug, Default)]
pub struct MeshCounters {
    /// Events received (gossip or catch-up) that verified.
    pub received: AtomicU64,
    /// Events dropped: signature not the origin's, or altered.
    pub forged: AtomicU64,
    /// Messages or events that did not decode.
    pub malformed: AtomicU64,
    /// Events stored through catch-up.
    pub caught_up: AtomicU64,
    /// Events this node broadcast.
    pub broadcast: AtomicU64,
    /// Connections from non-members refused by the gate.
    pub refused: std::sync::Arc<AtomicU64>,
    /// Live frames sent to watching nodes.
    pub live_out: AtomicU64,
    /// Live frames received for viewers here.
    pub live_in: AtomicU64,
    /// Join attempts refused (wrong secret, garbage).
    pub join_refused: std::sync::Arc<AtomicU64>,
    /// Connections and bytes by protocol.
    pub traffic: Traffic,
}

impl MeshCounters {
    /// Verifies signed events; returns those that hold (never this node's own, which only
    /// it makes), counting the rest.
    pub fn verified(
        &self,
        events: Vec<wire::SignedEvent>,
        local: NodeId,
    ) -> Vec<(Event, [u8; 64])> {
        let mut out = Vec::with_capacity(events.len());
        for s in events {
            match wire::verify_event(&s) {
                Ok((e, _)) if e.origin == local => {}
                Ok((e, _)) if !e.replicated() => {
                    // Local-only data never travels as events: a peer that sends it is
                    // broken or lying.
                    self.malformed.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(seq = e.seq, "dropped a local-only event");
                }
                Ok(ok) => {
                    self.received.fetch_add(1, Ordering::Relaxed);
                    out.push(ok);
                }
                Err(wire::WireError::Forged(why)) => {
                    self.forged.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%why, "dropped a forged event");
                }
                Err(wire::WireError::Malformed(why)) => {
                    self.malformed.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%why, "dropped a malformed event");
                }
            }
        }
        out
    }

    pub(crate) fn add_caught_up(&self, n: u64) {
        self.caught_up.fetch_add(n, Ordering::Relaxed);
    }

    /// A counter's value.
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}
