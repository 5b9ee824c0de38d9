//! Anti-entropy for the documents (directory and rooms): iroh-docs syncs when a document
//! opens and then only follows gossip, so a missed neighbour-up or a failed content download
//! would leave a node's view stale for good. Every round this syncs one open document (in
//! turn) with a random member and fetches entry contents still missing, from their author.
//! The sync is a plain set reconciliation on the docs ALPN (`connect_and_sync`): asking the
//! engine (`Doc::start_sync`) would also re-join the document's gossip topic each round,
//! and those joins cascade through HyParView (measured: 3× the traffic of the whole node).

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldmesh_actors::model::RoomId;
use futures_util::StreamExt;
use iroh::EndpointId;
use iroh_docs::actor::SyncHandle;
use iroh_docs::api::Doc;
use iroh_docs::engine::{DefaultAuthorStorage, Engine};
use iroh_docs::net::connect_and_sync;
use iroh_docs::protocol::Docs;
use iroh_docs::store::Query;

use crate::MeshError;
use crate::contents::EntryContents;
use crate::gate::Members;

/// Room documents open here, by room.
pub(crate) type OpenDocs = Arc<Mutex<BTreeMap<RoomId, Doc>>>;

/// Entry contents fetched in one round at most (per document).
const MAX_FETCHES_PER_ROUND: usize = 32;
/// Contents remembered as here at most.
const PRESENT_MAX: usize = 16_384;

/// Starts iroh-docs on `ep` (persistent under `dir`/docs, else in memory), keeping a handle
/// on its replica actor for anti-entropy rounds.
pub(crate) async fn spawn_docs(
    dir: Option<&std::path::Path>,
    ep: &iroh::Endpoint,
    blobs: &iroh_blobs::api::Store,
    gossip: &iroh_gossip::net::Gossip,
) -> Result<(Docs, SyncHandle), MeshError> {
    let err = |e: anyhow::Error| MeshError::Endpoint(format!("room documents: {e}"));
    let (replicas, authors) = match dir {
        Some(d) => {
            let dir = d.join("docs");
            std::fs::create_dir_all(&dir).map_err(|e| MeshError::File {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?;
            (
                iroh_docs::store::Store::persistent(dir.join("docs.redb")).map_err(err)?,
                DefaultAuthorStorage::Persistent(dir.join("default-author")),
            )
        }
        None => (iroh_docs::store::Store::memory(), DefaultAuthorStorage::Mem),
    };
    let engine = Engine::spawn(
        ep.clone(),
        gossip.clone(),
        replicas,
        blobs.clone(),
        blobs.downloader(ep),
        authors,
        None,
    )
    .await
    .map_err(err)?;
    let sync = engine.sync.clone();
    Ok((Docs::new(engine), sync))
}

/// What a resync round works on.
pub(crate) struct DocSync {
    /// This node's endpoint.
    pub ep: iroh::Endpoint,
    /// The docs engine's replica actor.
    pub sync: SyncHandle,
    /// The mesh directory's document.
    pub directory: Doc,
    /// Room documents (grows as rooms are added).
    pub rooms: OpenDocs,
    /// Entry contents: read here, fetched from their authors.
    pub contents: EntryContents,
    /// Who to sync with.
    pub members: Members,
    /// This node.
    pub me: EndpointId,
    /// Contents seen here already: not asked of the blob store again (a document holds
    /// an entry per member, and every round would otherwise ask for each).
    pub present: Mutex<HashSet<iroh_blobs::Hash>>,
}

impl DocSync {
    /// One round every `every`, forever.
    pub(crate) async fn run(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        for turn in 0.. {
            tick.tick().await;
            self.round(turn).await;
        }
    }

    /// Syncs one document (the directory and the rooms in turn: one connection a round)
    /// with a random member, then fetches what that document still misses (one document
    /// a round: each check walks all its entries).
    async fn round(&self, turn: usize) {
        let peers = crate::rooms::peers(&self.members, self.me);
        if peers.is_empty() {
            return;
        }
        let peer = peers[rand::random_range(0..peers.len())].clone();
        let mut docs = vec![self.directory.clone()];
        docs.extend(
            self.rooms
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .cloned(),
        );
        let doc = &docs[turn % docs.len()];
        // A peer already syncing it with us answers "already syncing": fine.
        if let Err(e) = connect_and_sync(&self.ep, &self.sync, doc.id(), peer, None).await {
            tracing::debug!(error = %e, "document resync failed");
        }
        self.fetch_missing(doc).await;
    }

    /// Entries whose content is not here: fetched from their author (an author id is its
    /// node's key) or, failing that, any member.
    async fn fetch_missing(&self, doc: &Doc) {
        let Ok(entries) = doc.get_many(Query::single_latest_per_key()).await else {
            return;
        };
        tokio::pin!(entries);
        let mut missing = Vec::new();
        while let Some(entry) = entries.next().await {
            let Ok(entry) = entry else { continue };
            let hash = entry.content_hash();
            if self.is_present(hash) {
                continue;
            }
            if self.contents.has(hash).await {
                self.present_now(hash);
                continue;
            }
            missing.push((hash, entry.author()));
            if missing.len() == MAX_FETCHES_PER_ROUND {
                break;
            }
        }
        for (hash, author) in missing {
            if self.contents.fetch(hash, author, None).await {
                self.present_now(hash);
            }
        }
    }

    fn is_present(&self, hash: iroh_blobs::Hash) -> bool {
        let present = self.present.lock().unwrap_or_else(|p| p.into_inner());
        present.contains(&hash)
    }

    /// Remembers `hash` as here; the memory is dropped whole when it grows past
    /// `PRESENT_MAX` (contents superseded by newer entries stay in it until then).
    fn present_now(&self, hash: iroh_blobs::Hash) {
        let mut present = self.present.lock().unwrap_or_else(|p| p.into_inner());
        if present.len() >= PRESENT_MAX {
            present.clear();
        }
        present.insert(hash);
    }
}
