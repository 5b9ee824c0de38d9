//! The mesh directory: an iroh-docs document (namespace derived from the mesh secret) in
//! which every member keeps one entry about itself — name, role, addresses, rooms,
//! sensors — and every room kept anywhere has an entry: its name and its document ticket.

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

/// A room as the directory lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomEntry {
    /// Room id.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Its document's ticket (write capability and where to sync it), for tools and for
    /// members that do not keep the room yet.
    pub ticket: String,
}

/// This node's view of the directory.
#[derive(Clone, Debug)]
pub struct Directory {
    doc: Doc,
    blobs: iroh_blobs::api::Store,
}

/// Key prefix of the members' own entries.
pub(crate) const MEMBERS_PREFIX: &str = "members/";

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
        doc.set_bytes(author, format!("{MEMBERS_PREFIX}{}", me.id), encode(me))
            .await
            .map_err(err)?;
        doc.start_sync(peers).await.map_err(err)?;
        Ok(Self { doc, blobs })
    }

    /// The directory's document.
    pub(crate) fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Rewrites this node's own entry (e.g. its room list grew).
    pub(crate) async fn set_member(
        &self,
        author: AuthorId,
        me: &MemberInfo,
    ) -> Result<(), MeshError> {
        self.put(author, format!("{MEMBERS_PREFIX}{}", me.id), encode(me))
            .await
    }

    /// Writes this node's entry again as it stands: written before the document went live,
    /// it reached only the peers of the first sync; written now, gossip carries it to every
    /// member at once.
    pub(crate) async fn reannounce(&self, author: AuthorId, id: &str) -> Result<(), MeshError> {
        let err = |e: anyhow::Error| MeshError::Endpoint(format!("mesh directory: {e}"));
        let key = format!("{MEMBERS_PREFIX}{id}");
        let Some(entry) = self
            .doc
            .get_exact(author, key.as_bytes(), false)
            .await
            .map_err(err)?
        else {
            return Ok(());
        };
        self.doc
            .set_hash(author, key, entry.content_hash(), entry.content_len())
            .await
            .map_err(err)
    }

    /// Lists room `entry` (written by every node that keeps it; the latest wins).
    pub(crate) async fn add_room(
        &self,
        author: AuthorId,
        entry: &RoomEntry,
    ) -> Result<(), MeshError> {
        self.put(author, format!("rooms/{}", entry.id), encode(entry))
            .await
    }

    async fn put(&self, author: AuthorId, key: String, value: Vec<u8>) -> Result<(), MeshError> {
        self.doc
            .set_bytes(author, key, value)
            .await
            .map(|_| ())
            .map_err(|e| MeshError::Endpoint(format!("mesh directory: {e}")))
    }

    /// Every member's entry this node has (its own included), by id.
    pub async fn members(&self) -> Result<Vec<MemberInfo>, MeshError> {
        let mut out: Vec<MemberInfo> = self
            .entries(MEMBERS_PREFIX)
            .await?
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Every member's entry with the author that wrote it.
    pub(crate) async fn members_by_author(&self) -> Result<Vec<(MemberInfo, AuthorId)>, MeshError> {
        self.entries(MEMBERS_PREFIX).await
    }

    /// Every room listed, by id.
    pub async fn rooms(&self) -> Result<Vec<RoomEntry>, MeshError> {
        let mut out: Vec<RoomEntry> = self
            .entries("rooms/")
            .await?
            .into_iter()
            .map(|(r, _)| r)
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn entries<T: for<'de> Deserialize<'de>>(
        &self,
        prefix: &str,
    ) -> Result<Vec<(T, AuthorId)>, MeshError> {
        let err = |e: anyhow::Error| MeshError::Endpoint(format!("mesh directory: {e}"));
        let entries = self
            .doc
            .get_many(Query::single_latest_per_key().key_prefix(prefix))
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
            if let Ok(v) = decode::<T>(&bytes) {
                out.push((v, entry.author()));
            }
        }
        Ok(out)
    }
}

/// Longest a joining node waits before listing the rooms it keeps (see [`list_rooms`]).
const ROOM_LISTING_JITTER: std::time::Duration = std::time::Duration::from_secs(5);

/// Lists `entries` (rooms this node keeps) in the directory — after a random wait when
/// `joining`, and only those not listed by then: every node keeping a configured room
/// would otherwise write its own entry for it, and each entry is fetched by every node
/// (O(N²) downloads while a large mesh starts).
pub(crate) async fn list_rooms(
    directory: Directory,
    author: AuthorId,
    entries: Vec<RoomEntry>,
    joining: bool,
) {
    if joining {
        let wait = rand::random_range(0..ROOM_LISTING_JITTER.as_millis() as u64);
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
    }
    let listed = directory.rooms().await.unwrap_or_default();
    for entry in entries {
        if listed.iter().any(|r| r.id == entry.id) {
            continue;
        }
        if let Err(e) = directory.add_room(author, &entry).await {
            tracing::warn!(room = %entry.id, error = %e, "room not listed in the directory");
        }
    }
}
