//! The join protocol (`/fieldmesh/join/2`): the only door open to strangers. A newcomer
//! proves it holds the mesh secret (a keyed hash bound to both endpoint ids, so a proof
//! cannot be replayed by anyone else or to anyone else) and gets the member list.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use fieldmesh_actors::model::NodeId;
use iroh::address_lookup::memory::MemoryLookup;
use iroh::endpoint::Connection;
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointAddr, EndpointId};
use serde::{Deserialize, Serialize};

use crate::gate::Members;
use crate::wire::{decode, encode};
use crate::{JOIN_ALPN, MeshError};

/// Largest join message.
const MAX_JOIN_BYTES: usize = 256 * 1024;

#[derive(Serialize, Deserialize)]
struct JoinRequest {
    #[serde(with = "serde_bytes")]
    proof: Vec<u8>,
    addrs: Vec<SocketAddr>,
}

#[derive(Serialize, Deserialize)]
enum JoinReply {
    Welcome {
        members: Vec<(NodeId, Vec<SocketAddr>)>,
    },
    Refused(String),
}

/// Proof that `joiner` knows `secret`, for `host` only.
fn proof(secret: &[u8; 32], joiner: &EndpointId, host: &EndpointId) -> [u8; 32] {
    let mut msg = b"fieldmesh join v1".to_vec();
    msg.extend_from_slice(joiner.as_bytes());
    msg.extend_from_slice(host.as_bytes());
    *blake3::keyed_hash(secret, &msg).as_bytes()
}

/// Serves joins.
#[derive(Debug, Clone)]
pub struct JoinProtocol {
    pub(crate) secret: [u8; 32],
    pub(crate) me: EndpointId,
    pub(crate) members: Members,
    pub(crate) lookup: MemoryLookup,
    pub(crate) refused: Arc<AtomicU64>,
}

impl JoinProtocol {
    fn answer(&self, joiner: EndpointId, bytes: &[u8]) -> JoinReply {
        let req: JoinRequest = match decode(bytes) {
            Ok(r) => r,
            Err(e) => return JoinReply::Refused(e.to_string()),
        };
        let want = proof(&self.secret, &joiner, &self.me);
        // Compared as hashes: equal time whatever the input.
        if blake3::hash(&req.proof) != blake3::hash(&want) {
            return JoinReply::Refused("wrong mesh secret".into());
        }
        let addrs: Vec<SocketAddr> = req.addrs.into_iter().take(16).collect();
        remember(&self.lookup, joiner, &addrs);
        if self.members.admit(joiner, addrs) {
            tracing::info!(peer = %joiner.fmt_short(), "admitted a new member");
        }
        JoinReply::Welcome {
            members: self
                .members
                .list()
                .into_iter()
                .map(|(id, a)| (NodeId::from_bytes(*id.as_bytes()), a))
                .collect(),
        }
    }
}

impl ProtocolHandler for JoinProtocol {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        let joiner = conn.remote_id();
        let (mut send, mut recv) = conn.accept_bi().await?;
        let reply = match recv.read_to_end(MAX_JOIN_BYTES).await {
            Ok(bytes) => self.answer(joiner, &bytes),
            Err(e) => JoinReply::Refused(format!("unreadable join request: {e}")),
        };
        if matches!(reply, JoinReply::Refused(_)) {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        send.write_all(&encode(&reply))
            .await
            .map_err(AcceptError::from_err)?;
        send.finish()?;
        // Let the reply reach the joiner before the connection goes.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), conn.closed()).await;
        Ok(())
    }
}

/// Makes `id` reachable at `addrs`.
pub(crate) fn remember(lookup: &MemoryLookup, id: EndpointId, addrs: &[SocketAddr]) {
    let mut a = EndpointAddr::new(id);
    for s in addrs {
        a = a.with_ip_addr(*s);
    }
    lookup.add_endpoint_info(a);
}

/// Joins through `host`: proves the secret, returns the members it knows.
pub async fn join(
    ep: &Endpoint,
    host: EndpointId,
    secret: &[u8; 32],
    my_addrs: Vec<SocketAddr>,
) -> Result<Vec<(EndpointId, Vec<SocketAddr>)>, MeshError> {
    let conn = ep
        .connect(host, JOIN_ALPN)
        .await
        .map_err(|e| MeshError::Unreachable(format!("{}: {e}", host.fmt_short())))?;
    let (mut send, mut recv) = conn
        .open_bi()
        .await
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    let req = JoinRequest {
        proof: proof(secret, &ep.id(), &host).to_vec(),
        addrs: my_addrs,
    };
    send.write_all(&encode(&req))
        .await
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    send.finish()
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    let bytes = recv
        .read_to_end(MAX_JOIN_BYTES)
        .await
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    conn.close(0u32.into(), b"joined");
    match decode::<JoinReply>(&bytes).map_err(|e| MeshError::Refused(e.to_string()))? {
        JoinReply::Welcome { members } => Ok(members
            .into_iter()
            .filter_map(|(id, a)| EndpointId::from_bytes(id.as_bytes()).ok().map(|id| (id, a)))
            .collect()),
        JoinReply::Refused(why) => Err(MeshError::Refused(why)),
    }
}
