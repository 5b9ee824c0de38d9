//! The mesh directory: an iroh-docs document (namespace derived from the mesh secret) in
//! which every member keeps one entry about itself — name, role, addresses, rooms,
//! sensors. Rooms need no entry of their own: a room's document follows from the secret
//! and its id.

use std::net::SocketAddr;

use futures_util::StreamExt;
use iroh::EndpointAddr;
use iroh_docs::api::Doc;
use iroh_docs::protocol::Docs;
use iroh_docs::store::Query;
use iroh_docs::{AuthorId, Capability, NamespaceSecret};
use serde::{Deserialize, Serialize};

use crate::MeshError;
use crate::wire::{decode, encode};

/// What a member says about itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Endpoint id (hex).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Role (`dev`, `edge`, `constrained`, `datacenter`).
    pub role: String,
    /// Direct addresses.
    pub addrs: Vec<SocketAddr>,
    /// Rooms it keeps.
    pub rooms: Vec<String>,
    /// Its sensors (where their live data comes from).
    #[serde(default)]
    pub sensors: Vec<String>,
}

/// This node's view of the directory.
#[derive(Clone, Debug)]
pub struct Directory {
    doc: Doc,
    blobs: iroh_blobs::api::Store,
}

fn namespace(secret: &[u8; 32]) -> NamespaceSecret {
    NamespaceSecret::from_bytes(&blake3::derive_key("fieldmesh directory v1", secret))
}

impl Directory {
    /// Opens the directory, writes this node's entry and syncs with `peers`.
    pub(crate) async fn open(
        docs: &Docs,
        blobs: iroh_blobs::api::Store,
        secret: &[u8; 32],
        author: AuthorId,
        peers: Vec<EndpointAddr>,
        me: &MemberInfo,
    ) -> Result<Self, MeshError> {
        let err = |e: anyhow::Error| MeshError::Endpoint(format!("mesh directory: {e}"));
        let doc = docs
            .import_namespace(Capability::Write(namespace(secret)))
            .await
            .map_err(err)?;
        doc.set_bytes(author, format!("members/{}", me.id), encode(me))
            .await
            .map_err(err)?;
        doc.start_sync(peers).await.map_err(err)?;
        Ok(Self { doc, blobs })
    }

    /// Every member's entry this node has (its own included), by id.
    pub async fn members(&self) -> Result<Vec<MemberInfo>, MeshError> {
        let err = |e: anyhow::Error| MeshError::Endpoint(format!("mesh directory: {e}"));
        let entries = self
            .doc
            .get_many(Query::single_latest_per_key().key_prefix("members/"))
            .await
            .map_err(err)?;
        tokio::pin!(entries);
        let mut out = Vec::new();
        while let Some(entry) = entries.next().await {
            let Ok(entry) = entry else { continue };
            // Content not here yet: the entry shows once it arrives.
            let Ok(bytes) = self.blobs.get_bytes(entry.content_hash()).await else {
                continue;
            };
            if let Ok(info) = decode::<MemberInfo>(&bytes) {
                out.push(info);
            }
        }
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }
}
