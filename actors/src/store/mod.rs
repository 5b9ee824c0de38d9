//! Durable storage: events in three tiers behind one read API (hot and warm in memory,
//! cold in redb) and content-addressed artifacts. [`StoreActor`] is the actor shell.

mod accounts;
mod actor;
mod announced;
mod artifacts;
pub mod catchup;
mod config;
mod error;
mod log;
mod query;
mod tables;
mod tiers;
mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use redb::Database;
use tokio::sync::{mpsc, oneshot};

pub use accounts::{Accounts, DeviceKey, KEY_PREFIX, UserRecord};
pub use actor::{StoreActor, StoreArgs, StoreClient, StoreMsg};
pub use artifacts::{ArtifactRecord, ArtifactStore};
pub use config::StoreConfig;
pub use error::StoreError;
pub(crate) use error::db_err;
pub use log::OriginSeqs;

/// A stored event with its origin's signature, when one was kept (replicated events).
pub type SignedStored = (Event, Option<[u8; 64]>);
pub use query::{EventQuery, MAX_QUERY_LIMIT, Order};
pub use tiers::{TierLimits, Tiers};
pub use writer::{AppendReport, REPLICATED_DURABLE_WITHIN};

use crate::metrics::NodeMetrics;
use crate::model::{Event, EventDraft, NodeId};
use writer::{WriteOp, Writer};

/// Microseconds since the Unix epoch, now.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Commits a [`Store::subscribe`] receiver may fall behind before it is told it lagged.
pub const COMMIT_BACKLOG: usize = 1024;

/// The node's store: events (hot, warm, cold) and artifacts. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    db: Arc<Database>,
    tiers: Arc<Mutex<Tiers>>,
    tx: mpsc::Sender<WriteOp>,
    writer: Mutex<Option<JoinHandle<()>>>,
    artifacts: ArtifactStore,
    accounts: Accounts,
    local: NodeId,
    config: StoreConfig,
    committed: tokio::sync::broadcast::Sender<Arc<[Event]>>,
}

impl Store {
    /// Opens (or creates) the store under `dir` for node `local`.
    pub fn open(
        dir: &Path,
        local: NodeId,
        config: StoreConfig,
        metrics: Arc<NodeMetrics>,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("store.redb");
        let db = Database::create(&path).map_err(|e| match db_err(e) {
            StoreError::Locked(_) => StoreError::Locked(path.display().to_string()),
            other => other,
        })?;
        let db = Arc::new(db);
        let txn = db.begin_write().map_err(db_err)?;
        log::init(&txn)?;
        announced::init(&txn)?;
        let next_seq = log::origin_seqs(&txn, &local)?.max_seen.saturating_add(1);
        let next_local_seq = log::local_only_seq(&txn)?.saturating_add(1);
        txn.commit().map_err(db_err)?;

        metrics.set_stored_events(log::count(&log::read(&db)?)?);
        let tiers = Arc::new(Mutex::new(load_tiers(&db, &config)?));
        let (tx, rx) = mpsc::channel(config.write_queue);
        let committed = tokio::sync::broadcast::channel(COMMIT_BACKLOG).0;
        // Outside a runtime (tools reading a store) there is no ticker: every commit durable.
        let lazy_replicated = match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(writer::flush_ticker(tx.downgrade()));
                true
            }
            Err(_) => false,
        };
        let writer = Writer {
            db: db.clone(),
            tiers: tiers.clone(),
            metrics,
            local,
            committed: committed.clone(),
            next_seq,
            next_local_seq,
            max_batch: config.commit_max_batch,
            lazy_replicated,
            undurable_since: None,
        };
        let handle = std::thread::Builder::new()
            .name("fieldmesh-store".into())
            .spawn(move || writer.run(rx))
            .map_err(|source| StoreError::Io {
                path: "store writer thread".into(),
                source,
            })?;
        let artifacts = ArtifactStore::open(dir.join("artifacts"), db.clone())?;
        let accounts = Accounts::open(db.clone())?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                db,
                tiers,
                tx,
                writer: Mutex::new(Some(handle)),
                artifacts,
                accounts,
                local,
                config,
                committed,
            }),
        })
    }

    /// New events of every commit from now on (local and replicated), in commit order. A
    /// receiver that falls more than `COMMIT_BACKLOG` commits behind is told it lagged.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<[Event]>> {
        self.inner.committed.subscribe()
    }

    /// The node this store seals local events for.
    pub fn local(&self) -> NodeId {
        self.inner.local
    }

    /// The redb file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The artifact side.
    pub fn artifacts(&self) -> &ArtifactStore {
        &self.inner.artifacts
    }

    /// The pointer and origin of artifact `hash`, from the event that announced it.
    pub fn announcement(
        &self,
        hash: &crate::model::ArtifactHash,
    ) -> Result<Option<(crate::model::ArtifactPtr, NodeId)>, StoreError> {
        announced::lookup(&self.inner.db, hash)
    }

    /// People and device keys.
    pub fn accounts(&self) -> &Accounts {
        &self.inner.accounts
    }

    /// Settings.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    async fn submit<T: Send + 'static>(
        &self,
        make: impl FnOnce(writer::Reply<T>) -> WriteOp,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.enqueue(make(Box::new(move |r| {
            let _ = tx.send(r);
        })))
        .await?;
        rx.await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    pub(crate) async fn enqueue(&self, op: WriteOp) -> Result<(), StoreError> {
        self.inner
            .tx
            .send(op)
            .await
            .map_err(|_| StoreError::Unavailable("store closed".into()))
    }

    /// Seals `drafts` as the next local events and stores them. Returns once durable.
    pub async fn append_local(&self, drafts: Vec<EventDraft>) -> Result<Vec<Event>, StoreError> {
        self.submit(|reply| WriteOp::Local { drafts, reply }).await
    }

    /// Stores events made elsewhere; the same id twice is stored once. Returns once
    /// durable (the caller may acknowledge them).
    pub async fn append(&self, events: Vec<Event>) -> Result<AppendReport, StoreError> {
        let sigs = vec![None; events.len()];
        self.submit(|reply| WriteOp::Replicated {
            events,
            sigs,
            durable: true,
            reply,
        })
        .await
    }

    /// Stores events the mesh brought, with each event's origin signature (checked by the
    /// caller) so they can be relayed to peers. Nobody is told they are stored: returns
    /// once committed, and the commit is durable within [`REPLICATED_DURABLE_WITHIN`]
    /// (after a crash, catch-up brings what was lost).
    pub async fn append_signed(
        &self,
        signed: Vec<(Event, [u8; 64])>,
    ) -> Result<AppendReport, StoreError> {
        let (events, sigs) = signed.into_iter().map(|(e, s)| (e, Some(s))).unzip();
        self.submit(|reply| WriteOp::Replicated {
            events,
            sigs,
            durable: false,
            reply,
        })
        .await
    }

    /// Applies event and artifact retention now. Returns events removed.
    pub async fn run_retention(&self) -> Result<u64, StoreError> {
        let c = &self.inner.config;
        let now = now_us();
        let min_ts_us = now.saturating_sub(c.cold_max_age_s.saturating_mul(1_000_000));
        let max_events = c.cold_max_events;
        let removed = self
            .submit(|reply| WriteOp::Prune {
                min_ts_us,
                max_events,
                reply,
            })
            .await?;
        let art = self.inner.artifacts.clone();
        let (max_bytes, min_stored) = (
            c.artifact_max_bytes,
            now.saturating_sub(c.artifact_max_age_s.saturating_mul(1_000_000)),
        );
        tokio::task::spawn_blocking(move || art.prune(max_bytes, min_stored))
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        Ok(removed)
    }

    /// Reads events: from memory when the tiers can answer exactly, else from redb.
    /// Blocking: call from a blocking context.
    pub fn query(&self, q: &EventQuery) -> Result<Vec<Event>, StoreError> {
        if let Ok(t) = self.inner.tiers.lock()
            && let Some(found) = t.query(q)
        {
            return Ok(found);
        }
        log::query(&log::read(&self.inner.db)?, q)
    }

    /// Events `from..=to` of `origin` that are stored (catch-up), each with its origin
    /// signature when one was kept. Blocking.
    pub fn origin_range(
        &self,
        origin: &NodeId,
        from: u64,
        to: u64,
        limit: usize,
    ) -> Result<Vec<SignedStored>, StoreError> {
        log::range_of_origin(&log::read(&self.inner.db)?, origin, from, to, limit)
    }

    /// Per-origin "highest contiguous sequence" (and more), for catch-up. Blocking.
    pub fn origins(&self) -> Result<BTreeMap<NodeId, OriginSeqs>, StoreError> {
        log::all_origins(&log::read(&self.inner.db)?)
    }

    /// Events stored in redb. Blocking.
    pub fn count(&self) -> Result<u64, StoreError> {
        log::count(&log::read(&self.inner.db)?)
    }

    /// Finishes queued writes and stops the writer thread. Later appends fail.
    pub async fn close(&self) {
        let _ = self.inner.tx.send(WriteOp::Close).await;
        let handle = self.inner.writer.lock().ok().and_then(|mut h| h.take());
        if let Some(h) = handle {
            let _ = tokio::task::spawn_blocking(move || h.join()).await;
        }
    }
}

fn load_tiers(db: &Database, config: &StoreConfig) -> Result<Tiers, StoreError> {
    let now = now_us();
    let since = now.saturating_sub(config.warm_max_age_s.saturating_mul(1_000_000));
    let q = EventQuery {
        since_us: Some(since),
        limit: config.warm_max_events,
        order: Order::Newest,
        ..EventQuery::default()
    };
    let recent = log::query(&log::read(db)?, &q)?;
    let complete_since = if recent.len() < config.warm_max_events {
        since
    } else {
        recent.last().map_or(since, |e| e.ts_us.saturating_add(1))
    };
    let mut tiers = Tiers::new(config.tier_limits(), complete_since);
    tiers.insert(recent, now);
    Ok(tiers)
}

#[cfg(test)]
mod durability_tests;
#[cfg(test)]
mod tests;
