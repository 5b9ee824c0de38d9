//! The store's writer thread: one redb write transaction per group of queued appends
//! (group commit). Local events, and events made elsewhere that a caller acknowledges, are
//! answered after a durable commit; events the mesh brought after a commit made durable
//! within [`REPLICATED_DURABLE_WITHIN`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redb::{Database, Durability};
use tokio::sync::mpsc;

use super::{StoreError, db_err, log, tiers::Tiers};
use crate::metrics::NodeMetrics;
use crate::model::{Event, EventDraft, ModelError, NodeId, encode_event};

/// Groups of events the mesh brought are committed without a sync to disk; the next durable
/// commit, at most this much later, covers them. A crash in between loses only such events,
/// which nobody was told were stored and the mesh's catch-up brings again; a node receiving
/// 60 events a second from a large mesh does not sync 60 times a second.
pub const REPLICATED_DURABLE_WITHIN: Duration = Duration::from_secs(1);

/// A callback that receives the outcome of one operation.
pub(crate) type Reply<T> = Box<dyn FnOnce(Result<T, StoreError>) + Send>;

/// How an append of replicated events went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppendReport {
    /// Events that were new.
    pub inserted: usize,
    /// Events already stored (or pruned), skipped.
    pub duplicates: usize,
}

/// Work for the writer thread.
pub(crate) enum WriteOp {
    /// Seal drafts as the next local events and store them.
    Local {
        drafts: Vec<EventDraft>,
        reply: Reply<Vec<Event>>,
    },
    /// Store events made elsewhere (idempotent), with their origins' signatures if known;
    /// `durable`: acknowledged only once on disk, else within [`REPLICATED_DURABLE_WITHIN`].
    Replicated {
        events: Vec<Event>,
        sigs: Vec<Option<[u8; 64]>>,
        durable: bool,
        reply: Reply<AppendReport>,
    },
    /// Apply retention.
    Prune {
        min_ts_us: u64,
        max_events: u64,
        reply: Reply<u64>,
    },
    /// Make every commit so far durable (sent every [`REPLICATED_DURABLE_WITHIN`]).
    Flush,
    /// Finish queued work and stop.
    Close,
}

/// Asks the writer for a durable commit every [`REPLICATED_DURABLE_WITHIN`], until the
/// store is gone.
pub(crate) async fn flush_ticker(tx: mpsc::WeakSender<WriteOp>) {
    let mut tick = tokio::time::interval(REPLICATED_DURABLE_WITHIN);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(tx) = tx.upgrade() else { return };
        if tx.send(WriteOp::Flush).await.is_err() {
            return;
        }
    }
}

enum Outcome {
    Local(Result<Vec<Event>, StoreError>, Reply<Vec<Event>>),
    Replicated(
        Result<(AppendReport, Vec<Event>), StoreError>,
        Reply<AppendReport>,
    ),
    Prune(Result<u64, StoreError>, Reply<u64>),
}

pub(crate) struct Writer {
    pub db: Arc<Database>,
    pub tiers: Arc<Mutex<Tiers>>,
    pub metrics: Arc<NodeMetrics>,
    pub local: NodeId,
    /// Every commit's new events, for whoever replicates them.
    pub committed: tokio::sync::broadcast::Sender<Arc<[Event]>>,
    pub next_seq: u64,
    /// Next local-only sequence number (above `LOCAL_SEQ_BASE`).
    pub next_local_seq: u64,
    pub max_batch: usize,
    /// Whether replicated-only groups may wait for a later durable commit (there is a
    /// ticker sending [`WriteOp::Flush`]); if not, every commit is durable.
    pub lazy_replicated: bool,
    /// Since when commits have been waiting for a durable one.
    pub undurable_since: Option<Instant>,
}

impl Writer {
    /// Runs until `Close` or until every sender is gone.
    pub fn run(mut self, mut rx: mpsc::Receiver<WriteOp>) {
        let mut closing = false;
        while !closing {
            let Some(first) = rx.blocking_recv() else {
                break;
            };
            let mut ops = vec![first];
            while ops.len() < self.max_batch {
                match rx.try_recv() {
                    Ok(op) => ops.push(op),
                    Err(_) => break,
                }
            }
            if ops.iter().any(|op| matches!(op, WriteOp::Close)) {
                closing = true;
                rx.close();
                while let Ok(op) = rx.try_recv() {
                    ops.push(op);
                }
            }
            self.commit_group(ops);
        }
        self.make_durable();
    }

    /// An empty durable commit, if commits are waiting for one.
    fn make_durable(&mut self) {
        if self.undurable_since.is_none() {
            return;
        }
        let done = (|| -> Result<(), redb::Error> {
            self.db.begin_write()?.commit()?;
            Ok(())
        })();
        match done {
            Ok(()) => self.undurable_since = None,
            Err(e) => tracing::error!(error = %e, "store could not make its commits durable"),
        }
    }

    /// Whether a group's commit must be durable before it is acknowledged.
    fn must_be_durable(&self, ops: &[WriteOp]) -> bool {
        !self.lazy_replicated
            || ops
                .iter()
                .any(|op| !matches!(op, WriteOp::Replicated { durable: false, .. }))
            || self
                .undurable_since
                .is_some_and(|t| t.elapsed() >= REPLICATED_DURABLE_WITHIN)
    }

    fn commit_group(&mut self, ops: Vec<WriteOp>) {
        let flush = ops.iter().any(|op| matches!(op, WriteOp::Flush));
        let ops: Vec<WriteOp> = ops
            .into_iter()
            .filter(|op| !matches!(op, WriteOp::Close | WriteOp::Flush))
            .collect();
        if ops.is_empty() {
            if flush {
                self.make_durable();
            }
            return;
        }
        let durable = flush || self.must_be_durable(&ops);
        let started = Instant::now();
        let seq_before = (self.next_seq, self.next_local_seq);
        let mut txn = match self.db.begin_write() {
            Ok(t) => t,
            Err(e) => return fail_all(ops, db_err(e)),
        };
        let durable = durable || txn.set_durability(Durability::None).is_err();
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            outcomes.push(match op {
                WriteOp::Local { drafts, reply } => {
                    Outcome::Local(self.apply_local(&txn, drafts), reply)
                }
                WriteOp::Replicated {
                    events,
                    sigs,
                    reply,
                    ..
                } => Outcome::Replicated(apply_replicated(&txn, self.local, events, sigs), reply),
                WriteOp::Prune {
                    min_ts_us,
                    max_events,
                    reply,
                } => Outcome::Prune(log::prune(&txn, min_ts_us, max_events), reply),
                WriteOp::Close | WriteOp::Flush => continue,
            });
        }
        // Validation failures were caught before any insert; an error that remains is the
        // database's, and the transaction may hold part of an op: abort the whole group.
        let db_failure = outcomes.iter().find_map(|o| match o {
            Outcome::Local(Err(e @ StoreError::Db(_)), _)
            | Outcome::Replicated(Err(e @ StoreError::Db(_)), _)
            | Outcome::Prune(Err(e @ StoreError::Db(_)), _) => Some(e.to_string()),
            _ => None,
        });
        let committed = match db_failure {
            Some(msg) => {
                drop(txn);
                Err(msg)
            }
            None => txn.commit().map_err(|e| db_err(e).to_string()),
        };
        if let Err(msg) = committed {
            (self.next_seq, self.next_local_seq) = seq_before;
            tracing::error!(error = %msg, "store commit failed; nothing in this group was stored");
            for o in outcomes {
                let err = || StoreError::Db(msg.clone());
                match o {
                    Outcome::Local(_, r) => r(Err(err())),
                    Outcome::Replicated(_, r) => r(Err(err())),
                    Outcome::Prune(_, r) => r(Err(err())),
                }
            }
            return;
        }
        self.metrics.record_store_write(started.elapsed());
        match durable {
            true => self.undurable_since = None,
            false => {
                self.undurable_since.get_or_insert_with(Instant::now);
            }
        }
        let now = super::now_us();
        let mut committed = Vec::new();
        for o in &outcomes {
            match o {
                Outcome::Local(Ok(ev), _) => committed.extend(ev.iter().cloned()),
                Outcome::Replicated(Ok((_, ev)), _) => committed.extend(ev.iter().cloned()),
                _ => {}
            }
        }
        let pruned: u64 = outcomes
            .iter()
            .map(|o| match o {
                Outcome::Prune(Ok(n), _) => *n,
                _ => 0,
            })
            .sum();
        self.metrics
            .add_stored_events(committed.len() as i64 - pruned as i64);
        for e in &committed {
            let sensor = e.sensor.as_ref().map_or("node", |s| s.as_str());
            self.metrics.record_events(sensor, 1);
        }
        if !committed.is_empty() {
            // Nobody listening is fine: the mesh subscribes when it runs.
            let _ = self.committed.send(Arc::from(committed.as_slice()));
        }
        if let Ok(mut t) = self.tiers.lock() {
            t.insert(committed, now);
        }
        for o in outcomes {
            match o {
                Outcome::Local(r, reply) => reply(r),
                Outcome::Replicated(r, reply) => reply(r.map(|(rep, _)| rep)),
                Outcome::Prune(r, reply) => reply(r),
            }
        }
    }

    fn apply_local(
        &mut self,
        txn: &redb::WriteTransaction,
        drafts: Vec<EventDraft>,
    ) -> Result<Vec<Event>, StoreError> {
        // Seal and size-check everything first so a bad draft leaves no gap in a sequence.
        let (mut seq, mut local_seq) = (self.next_seq, self.next_local_seq);
        let events: Vec<Event> = drafts
            .into_iter()
            .map(|d| {
                let counter = match d.body.kind().replicated() {
                    true => &mut seq,
                    false => &mut local_seq,
                };
                *counter += 1;
                Event::seal(self.local, *counter - 1, d)
            })
            .collect();
        for e in &events {
            encode_event(e)?;
        }
        if local_seq != self.next_local_seq {
            log::set_local_only_seq(txn, local_seq - 1)?;
        }
        for e in &events {
            if !log::insert(txn, e)? {
                return Err(StoreError::Db(format!(
                    "local sequence {} is already taken: refusing to acknowledge it",
                    e.seq
                )));
            }
        }
        (self.next_seq, self.next_local_seq) = (seq, local_seq);
        Ok(events)
    }
}

fn apply_replicated(
    txn: &redb::WriteTransaction,
    local: NodeId,
    events: Vec<Event>,
    sigs: Vec<Option<[u8; 64]>>,
) -> Result<(AppendReport, Vec<Event>), StoreError> {
    let mut report = AppendReport::default();
    let mut fresh = Vec::new();
    for e in &events {
        crate::model::check_event(e)?;
        encode_event(e)?;
        if e.origin == local {
            return Err(ModelError::Invalid(format!(
                "event {} claims to come from this node; only this node makes those",
                e.id.short()
            ))
            .into());
        }
        if !e.replicated() {
            return Err(ModelError::Invalid(format!(
                "event {} is local-only (seq {}): such events are not replicated",
                e.id.short(),
                e.seq
            ))
            .into());
        }
    }
    let mut sigs = sigs.into_iter();
    for e in events {
        let sig = sigs.next().flatten();
        if log::insert(txn, &e)? {
            if let Some(sig) = &sig {
                log::insert_signature(txn, &e, sig)?;
            }
            report.inserted += 1;
            fresh.push(e);
        } else {
            report.duplicates += 1;
        }
    }
    Ok((report, fresh))
}

fn fail_all(ops: Vec<WriteOp>, err: StoreError) {
    let msg = err.to_string();
    for op in ops {
        let err = StoreError::Db(msg.clone());
        match op {
            WriteOp::Local { reply, .. } => reply(Err(err)),
            WriteOp::Replicated { reply, .. } => reply(Err(err)),
            WriteOp::Prune { reply, .. } => reply(Err(err)),
            WriteOp::Close | WriteOp::Flush => {}
        }
    }
}
