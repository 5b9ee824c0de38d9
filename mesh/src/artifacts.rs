//! Heavy artifacts on demand over iroh-blobs: this node offers its own artifacts by hash
//! (BLAKE3 — the same hash its ArtifactStore uses), and fetches any member's, verified on
//! the way in and kept only whole. A fetch whose holders are all away waits, bounded.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldmesh_actors::model::{ArtifactHash, ArtifactPtr, NodeId};
use fieldmesh_actors::store::{Store, now_us};
use iroh::{Endpoint, EndpointId};
use iroh_blobs::api::blobs::{AddPathOptions, ImportMode};
use iroh_blobs::api::downloader::Downloader;
use iroh_blobs::store::fs::FsStore;
use iroh_blobs::store::mem::MemStore;
use iroh_blobs::{BlobFormat, BlobsProtocol, Hash};

use crate::MeshError;
use crate::gate::Members;

enum Blobs {
    Fs(FsStore),
    Mem(MemStore),
}

impl Blobs {
    fn api(&self) -> &iroh_blobs::api::Store {
        match self {
            Blobs::Fs(s) => s,
            Blobs::Mem(s) => s,
        }
    }
}

/// This node's side of artifact sharing.
#[derive(Clone)]
pub struct ArtifactShare {
    blobs: Arc<Blobs>,
    downloader: Downloader,
    store: Store,
    members: Members,
    me: EndpointId,
    wait: Duration,
}

impl std::fmt::Debug for ArtifactShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArtifactShare").finish_non_exhaustive()
    }
}

impl ArtifactShare {
    /// Opens the blob index under `dir` (in memory without one) for `ep`; returns the share
    /// and the protocol to mount. Fetches wait up to `wait` for a holder to answer.
    pub async fn open(
        dir: Option<&Path>,
        ep: &Endpoint,
        store: Store,
        members: Members,
        wait: Duration,
    ) -> Result<(Self, BlobsProtocol), MeshError> {
        let blobs = match dir {
            Some(d) => Blobs::Fs(FsStore::load(d).await.map_err(|e| MeshError::File {
                path: d.display().to_string(),
                message: e.to_string(),
            })?),
            None => Blobs::Mem(MemStore::new()),
        };
        let protocol = BlobsProtocol::new(blobs.api(), None);
        let downloader = blobs.api().downloader(ep);
        Ok((
            Self {
                blobs: Arc::new(blobs),
                downloader,
                store,
                members,
                me: ep.id(),
                wait,
            },
            protocol,
        ))
    }

    /// The blob store behind it (room documents keep their entries there too).
    pub fn blobs(&self) -> &iroh_blobs::api::Store {
        self.blobs.api()
    }

    /// Offers a local artifact (its file is referenced in place, not copied).
    pub async fn publish(&self, ptr: &ArtifactPtr) -> Result<(), MeshError> {
        let path = self.store.artifacts().path_of(&ptr.hash);
        let tag = self
            .blobs
            .api()
            .add_path_with_opts(AddPathOptions {
                path,
                format: BlobFormat::Raw,
                mode: ImportMode::TryReference,
            })
            .await
            .map_err(|e| MeshError::Store(format!("offering {}: {e}", ptr.hash.short())))?;
        if tag.hash.as_bytes() != ptr.hash.as_bytes() {
            return Err(MeshError::Store(format!(
                "artifact {} changed on disk",
                ptr.hash.short()
            )));
        }
        Ok(())
    }

    /// Fetches `hash` from whoever has it (its origin first, then any member), stores it
    /// in the ArtifactStore and returns its pointer. Already here: returned at once.
    pub async fn fetch(&self, hash: ArtifactHash) -> Result<ArtifactPtr, MeshError> {
        if let Ok(Some(r)) = self.store.artifacts().record(&hash) {
            return Ok(r.ptr);
        }
        let (ptr, origin) = self.announced(hash).await?;
        self.fetch_announced(&ptr, origin).await
    }

    /// Fetches the artifact `ptr` that `origin` announced (its origin first, then any
    /// member), stores it and returns its pointer. Already here: returned at once.
    pub async fn fetch_announced(
        &self,
        ptr: &ArtifactPtr,
        origin: NodeId,
    ) -> Result<ArtifactPtr, MeshError> {
        let hash = ptr.hash;
        if let Ok(Some(r)) = self.store.artifacts().record(&hash) {
            return Ok(r.ptr);
        }
        let mut providers: Vec<EndpointId> = Vec::new();
        if let Ok(o) = EndpointId::from_bytes(origin.as_bytes()) {
            providers.push(o);
        }
        for (id, _) in self.members.list() {
            if id != self.me && !providers.contains(&id) {
                providers.push(id);
            }
        }
        let h = Hash::from(*hash.as_bytes());
        let started = Instant::now();
        loop {
            match self.downloader.download(h, providers.clone()).await {
                Ok(()) => break,
                Err(e) if started.elapsed() < self.wait => {
                    tracing::debug!(artifact = %hash.short(), error = %e, "no holder answered yet");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => {
                    return Err(MeshError::Unreachable(format!(
                        "no holder of artifact {} answered within {:?}: {e}",
                        hash.short(),
                        self.wait
                    )));
                }
            }
        }
        let bytes = self
            .blobs
            .api()
            .get_bytes(h)
            .await
            .map_err(|e| MeshError::Store(e.to_string()))?;
        let store = self.store.clone();
        let kind = ptr.kind;
        let media = ptr.media_type.clone();
        let got = tokio::task::spawn_blocking(move || {
            store
                .artifacts()
                .put(kind, Some(&media), &bytes, origin, now_us())
        })
        .await
        .map_err(|e| MeshError::Store(e.to_string()))?
        .map_err(MeshError::store)?;
        if got.hash != hash {
            return Err(MeshError::Protocol(format!(
                "fetched bytes hash to {}, not {}",
                got.hash.short(),
                hash.short()
            )));
        }
        Ok(got)
    }

    /// What `hash` is and who made it: from this node's store, else from its
    /// `artifact_available` announcement.
    pub async fn describe(&self, hash: ArtifactHash) -> Result<(ArtifactPtr, NodeId), MeshError> {
        if let Ok(Some(r)) = self.store.artifacts().record(&hash) {
            return Ok((r.ptr, r.origin));
        }
        self.announced(hash).await
    }

    /// The `artifact_available` announcement of `hash`: its pointer and origin.
    async fn announced(&self, hash: ArtifactHash) -> Result<(ArtifactPtr, NodeId), MeshError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.announcement(&hash))
            .await
            .map_err(|e| MeshError::Store(e.to_string()))?
            .map_err(MeshError::store)?
            .ok_or_else(|| {
                MeshError::Protocol(format!(
                    "no artifact_available event announces {}",
                    hash.short()
                ))
            })
    }
}
