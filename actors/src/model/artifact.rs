//! Artifacts: heavy data (IQ windows as SigMF, TF tiles, feature matrices, clips) stored
//! where made and addressed by BLAKE3 — the hash iroh-blobs uses — so the mesh can fetch by hash.

use std::fmt;

use serde::{Deserialize, Serialize};

/// BLAKE3 hash of an artifact's bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArtifactHash([u8; 32]);
fixed_bytes_id!(ArtifactHash, 32, "artifact hash");

impl ArtifactHash {
    /// Hashes `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(*blake3::hash(bytes).as_bytes())
    }

    /// The first `n` bytes, as carried by compact (kbps) detections.
    pub fn prefix<const N: usize>(&self) -> [u8; N] {
        let mut p = [0u8; N];
        p.copy_from_slice(&self.0[..N]);
        p
    }
}

/// What an artifact holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArtifactKind {
    /// A raw IQ window, as a SigMF archive.
    IqWindow,
    /// A time-frequency (spectrogram) tile.
    TfTile,
    /// A feature matrix.
    Features,
    /// A recorded clip (uploaded capture).
    Clip,
}

impl ArtifactKind {
    /// The media type artifacts of this kind are stored with unless told otherwise.
    pub fn default_media_type(self) -> &'static str {
        match self {
            ArtifactKind::IqWindow => "application/x-sigmf",
            ArtifactKind::TfTile => "application/x-fieldmesh-tf-tile",
            ArtifactKind::Features => "application/msgpack",
            ArtifactKind::Clip => "application/octet-stream",
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::IqWindow => "iq_window",
            ArtifactKind::TfTile => "tf_tile",
            ArtifactKind::Features => "features",
            ArtifactKind::Clip => "clip",
        }
    }
}

impl fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pointer to an artifact: enough to fetch it by hash and know what it is before fetching.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactPtr {
    /// BLAKE3 of the bytes.
    pub hash: ArtifactHash,
    /// What it holds.
    pub kind: ArtifactKind,
    /// Size in bytes.
    pub size: u64,
    /// Media type, e.g. `application/x-sigmf`.
    pub media_type: String,
}

impl ArtifactPtr {
    /// The pointer for `bytes` of `kind`, with the kind's default media type.
    pub fn for_bytes(kind: ArtifactKind, bytes: &[u8]) -> Self {
        Self {
            hash: ArtifactHash::of(bytes),
            kind,
            size: bytes.len() as u64,
            media_type: kind.default_media_type().to_string(),
        }
    }
}
