//! Anti-entropy for the documents (directory and rooms): iroh-docs syncs when a document
//! opens and then only follows gossip, so a missed neighbour-up or a failed content download
//! would leave a node's view stale for good. Every round this syncs each open document with
//! one random member and fetches entry contents still missing, from the entry's author.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldmesh_actors::model::RoomId;
use futures_util::StreamExt;
use iroh::{EndpointId, PublicKey};
use iroh_blobs::api::downloader::Downloader;
use iroh_docs::api::Doc;
use iroh_docs::store::Query;

use crate::gate::Members;

/// Room documents open here, by room.
pub(crate) type OpenDocs = Arc<Mutex<BTreeMap<RoomId, Doc>>>;

/// Entry contents fetched in one round at most (per document).
const MAX_FETCHES_PER_ROUND: usize = 32;

/// What a resync round works on.
pub(crate) struct DocSync {
    /// The mesh directory's document.
    pub directory: Doc,
    /// Room documents (grows as rooms are added).
    pub rooms: OpenDocs,
    /// Where entry contents live.
    pub blobs: iroh_blobs::api::Store,
    /// Fetches missing contents.
    pub downloader: Downloader,
    /// Who to sync with.
    pub members: Members,
    /// This node.
    pub me: EndpointId,
}

impl DocSync {
    /// One round every `every`, forever.
    pub(crate) async fn run(self, every: Duration) {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            self.round().await;
        }
    }

    async fn round(&self) {
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
        for doc in docs {
            // Already syncing with that peer: iroh-docs marks it for a resync instead.
            if let Err(e) = doc.start_sync(vec![peer.clone()]).await {
                tracing::debug!(error = %e, "document resync not started");
            }
            self.fetch_missing(&doc).await;
        }
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
            if matches!(self.blobs.has(hash).await, Ok(true)) {
                continue;
            }
            missing.push((hash, entry.author()));
            if missing.len() == MAX_FETCHES_PER_ROUND {
                break;
            }
        }
        for (hash, author) in missing {
            let mut from: Vec<EndpointId> = PublicKey::from_bytes(author.as_bytes())
                .into_iter()
                .filter(|a| *a != self.me)
                .collect();
            for (id, _) in self.members.list() {
                if id != self.me && !from.contains(&id) {
                    from.push(id);
                }
            }
            if let Err(e) = self.downloader.download(hash, from).await {
                tracing::debug!(%hash, error = %e, "document entry content not fetched");
            }
        }
    }
}
