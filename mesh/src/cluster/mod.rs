//! ractor_cluster over iroh (`/fieldmesh/cluster/1`): each node runs a ractor `NodeServer`
//! whose sessions ride iroh bi-directional streams, authenticated by the mesh secret.
//!
//! The member with the smaller endpoint id dials (it is the ractor client, which speaks
//! first); the gate already keeps strangers off the ALPN. Session ups and downs feed
//! [`ClusterPeers`], which the mesh view shows. ractor's registries and process groups are
//! process-wide: faithful across OS processes, not between nodes sharing one.

mod compute;
mod transport;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fieldmesh_actors::store::now_us;
use iroh::{Endpoint, EndpointId};
use ractor::{Actor, ActorRef};
use ractor_cluster::node::{
    NodeConnectionMode, NodeEventSubscription, NodeServerSessionInformation,
};
use ractor_cluster::{NodeServer, NodeServerMessage};
use serde::Serialize;

pub use compute::{
    ComputeMsg, HEAVY_COMPUTE_GROUP, HeavyCompute, HeavyComputeArgs, RefineReply, RefineRequest,
    Refiner, refine_remotely,
};
pub use transport::ClusterProtocol;

use crate::MeshError;
use crate::gate::Members;

/// Most bytes one cluster frame may carry (a refine reply with many boxes fits).
const MAX_FRAME_BYTES: u64 = 4 * 1024 * 1024;
/// Longest wait before dialling a member again after a failure.
const MAX_REDIAL: Duration = Duration::from_secs(10);

/// One cluster peer as this node last saw it.
#[derive(Clone, Debug, Serialize)]
pub struct ClusterPeer {
    /// Its endpoint id.
    pub id: String,
    /// Whether its session is up.
    pub up: bool,
    /// When it last went up or down, µs since the Unix epoch.
    pub since_us: u64,
}

/// Cluster sessions as they come and go (what the mesh view shows).
#[derive(Clone, Debug, Default)]
pub struct ClusterPeers {
    inner: Arc<Mutex<PeersInner>>,
}

#[derive(Debug, Default)]
struct PeersInner {
    peers: BTreeMap<String, ClusterPeer>,
    ups: u64,
    downs: u64,
}

impl ClusterPeers {
    fn set(&self, id: String, up: bool) {
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if up {
            g.ups += 1;
        } else {
            g.downs += 1;
        }
        tracing::info!(peer = %id, up, "cluster peer {}", if up { "up" } else { "down" });
        g.peers.insert(
            id.clone(),
            ClusterPeer {
                id,
                up,
                since_us: now_us(),
            },
        );
    }

    /// Whether the session with `id` is up.
    pub fn is_up(&self, id: &str) -> bool {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.peers.get(id).is_some_and(|p| p.up)
    }

    /// Every peer seen, and how many ups and downs there were.
    pub fn snapshot(&self) -> (Vec<ClusterPeer>, u64, u64) {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (g.peers.values().cloned().collect(), g.ups, g.downs)
    }
}

struct PeerEvents(ClusterPeers);

impl NodeEventSubscription for PeerEvents {
    fn node_session_opened(&self, _: NodeServerSessionInformation) {}
    fn node_session_authenticated(&self, _: NodeServerSessionInformation) {}
    fn node_session_ready(&self, ses: NodeServerSessionInformation) {
        self.0.set(ses.peer_addr, true);
    }
    fn node_session_disconnected(&self, ses: NodeServerSessionInformation) {
        self.0.set(ses.peer_addr, false);
    }
}

/// This node's part of the ractor cluster.
pub struct MeshCluster {
    server: ActorRef<NodeServerMessage>,
    peers: ClusterPeers,
}

impl MeshCluster {
    /// Starts the NodeServer for endpoint `me`, with the mesh secret as cookie. Its TCP
    /// listener (ractor always opens one) binds an ephemeral loopback port and is unused.
    pub async fn start(me: EndpointId, secret: &[u8; 32]) -> Result<Self, MeshError> {
        let cookie = blake3::derive_key("fieldmesh cluster cookie v1", secret);
        let server = NodeServer::new(
            0,
            hex(&cookie),
            me.to_string(),
            "localhost".into(),
            None,
            Some(NodeConnectionMode::Isolated),
        )
        .with_listen_addr(std::net::IpAddr::from([127, 0, 0, 1]))
        .with_max_inbound_frame_size(MAX_FRAME_BYTES);
        let (server, _) = Actor::spawn(None, server, ())
            .await
            .map_err(|e| MeshError::Endpoint(format!("cluster node server: {e}")))?;
        let peers = ClusterPeers::default();
        server
            .cast(NodeServerMessage::SubscribeToEvents {
                id: "fieldmesh-peers".into(),
                subscription: Box::new(PeerEvents(peers.clone())),
            })
            .map_err(|e| MeshError::Endpoint(format!("cluster node server: {e}")))?;
        Ok(Self { server, peers })
    }

    /// The protocol to mount under [`crate::CLUSTER_ALPN`].
    pub fn protocol(&self) -> ClusterProtocol {
        ClusterProtocol {
            server: self.server.clone(),
        }
    }

    /// Sessions up and down.
    pub fn peers(&self) -> &ClusterPeers {
        &self.peers
    }

    /// Keeps a session with every member whose id is larger than ours (they dial us).
    pub fn dial_members(&self, ep: Endpoint, members: Members) -> tokio::task::JoinHandle<()> {
        let server = self.server.clone();
        let peers = self.peers.clone();
        tokio::spawn(async move {
            let me = ep.id();
            let mut next_try: BTreeMap<EndpointId, (Instant, Duration)> = BTreeMap::new();
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tick.tick().await;
                for (id, _) in members.list() {
                    if id.as_bytes() <= me.as_bytes() || peers.is_up(&id.to_string()) {
                        continue;
                    }
                    let now = Instant::now();
                    let (at, backoff) = next_try
                        .get(&id)
                        .copied()
                        .unwrap_or((now, Duration::from_secs(1)));
                    if now < at {
                        continue;
                    }
                    // A session takes a moment to come up: look again after `backoff`.
                    next_try.insert(id, (now + backoff, (backoff * 2).min(MAX_REDIAL)));
                    if let Err(e) = transport::dial(&ep, id, &server).await {
                        tracing::debug!(peer = %id.fmt_short(), error = %e, "cluster dial failed");
                    }
                }
                next_try.retain(|id, _| !peers.is_up(&id.to_string()));
            }
        })
    }

    /// Stops the NodeServer (and with it every session).
    pub fn stop(&self) {
        self.server.stop(None);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
