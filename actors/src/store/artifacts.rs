//! [`ArtifactStore`]: heavy artifacts as files named by their BLAKE3 hash, indexed in redb,
//! verified on every read, with retention by total bytes and age.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

use super::tables::ARTIFACTS;
use super::{StoreError, db_err};
use crate::model::{ArtifactHash, ArtifactKind, ArtifactPtr, NodeId};

/// What the index knows about one artifact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    /// Hash, kind, size, media type.
    pub ptr: ArtifactPtr,
    /// Node that made it.
    pub origin: NodeId,
    /// When it was stored here, µs since the Unix epoch.
    pub stored_us: u64,
}

/// Content-addressed artifact files plus their redb index.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    dir: PathBuf,
    db: Arc<Database>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl ArtifactStore {
    pub(crate) fn open(dir: PathBuf, db: Arc<Database>) -> Result<Self, StoreError> {
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(ARTIFACTS).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(Self { dir, db })
    }

    /// Where the bytes of `hash` live.
    pub fn path_of(&self, hash: &ArtifactHash) -> PathBuf {
        let hex = hash.to_hex();
        self.dir.join(&hex[..2]).join(hex)
    }

    /// Stores `bytes` (idempotent by hash): the file is written to a temporary name,
    /// synced and renamed into place before it is indexed.
    pub fn put(
        &self,
        kind: ArtifactKind,
        media_type: Option<&str>,
        bytes: &[u8],
        origin: NodeId,
        now_us: u64,
    ) -> Result<ArtifactPtr, StoreError> {
        let mut ptr = ArtifactPtr::for_bytes(kind, bytes);
        if let Some(m) = media_type {
            ptr.media_type = m.to_string();
        }
        if let Some(existing) = self.record(&ptr.hash)? {
            return Ok(existing.ptr);
        }
        let path = self.path_of(&ptr.hash);
        let parent = path.parent().unwrap_or(&self.dir).to_path_buf();
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        let tmp = parent.join(format!(
            ".tmp-{}-{}",
            ptr.hash.short(),
            rand::random::<u32>()
        ));
        {
            let mut f = fs::File::create(&tmp).map_err(io_err(&tmp))?;
            f.write_all(bytes).map_err(io_err(&tmp))?;
            f.sync_all().map_err(io_err(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io_err(&path))?;
        if let Ok(d) = fs::File::open(&parent) {
            let _ = d.sync_all();
        }
        let record = ArtifactRecord {
            ptr: ptr.clone(),
            origin,
            stored_us: now_us,
        };
        let enc = rmp_serde::to_vec_named(&record).map_err(|e| StoreError::Db(e.to_string()))?;
        let txn = self.db.begin_write().map_err(db_err)?;
        txn.open_table(ARTIFACTS)
            .map_err(db_err)?
            .insert(*ptr.hash.as_bytes(), enc.as_slice())
            .map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(ptr)
    }

    /// The index entry of `hash`.
    pub fn record(&self, hash: &ArtifactHash) -> Result<Option<ArtifactRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(ARTIFACTS).map_err(db_err)?;
        match t.get(hash.as_bytes()).map_err(db_err)? {
            Some(v) => Ok(Some(decode_record(v.value())?)),
            None => Ok(None),
        }
    }

    /// Reads and verifies the bytes of `hash`. A file whose content does not hash to
    /// `hash` is an error, never returned as data.
    pub fn get(&self, hash: &ArtifactHash) -> Result<(ArtifactRecord, Vec<u8>), StoreError> {
        let record = self.record(hash)?.ok_or(StoreError::NotFound(*hash))?;
        let path = self.path_of(hash);
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        let actual = ArtifactHash::of(&bytes);
        if actual != *hash {
            return Err(StoreError::Corrupt {
                hash: *hash,
                actual,
            });
        }
        Ok((record, bytes))
    }

    /// Every indexed artifact, oldest first.
    pub fn list(&self) -> Result<Vec<ArtifactRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(ARTIFACTS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            out.push(decode_record(v.value())?);
        }
        out.sort_by_key(|r| r.stored_us);
        Ok(out)
    }

    /// Retention: removes artifacts stored before `min_stored_us`, then the oldest until
    /// at most `max_bytes` remain. Returns (artifacts removed, bytes freed).
    pub fn prune(&self, max_bytes: u64, min_stored_us: u64) -> Result<(u64, u64), StoreError> {
        let all = self.list()?;
        let mut total: u64 = all.iter().map(|r| r.ptr.size).sum();
        let mut victims = Vec::new();
        for r in all {
            if r.stored_us >= min_stored_us && total <= max_bytes {
                break;
            }
            total -= r.ptr.size;
            victims.push(r);
        }
        if victims.is_empty() {
            return Ok((0, 0));
        }
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut t = txn.open_table(ARTIFACTS).map_err(db_err)?;
            for r in &victims {
                t.remove(r.ptr.hash.as_bytes()).map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        let mut freed = 0;
        for r in &victims {
            let path = self.path_of(&r.ptr.hash);
            if fs::remove_file(&path).is_ok() {
                freed += r.ptr.size;
            }
        }
        Ok((victims.len() as u64, freed))
    }
}

fn decode_record(bytes: &[u8]) -> Result<ArtifactRecord, StoreError> {
    rmp_serde::from_slice(bytes).map_err(|e| StoreError::Db(format!("artifact index: {e}")))
}
