//! The store's writer thread: one redb write transaction per group of queued appends
//! (group commit), acknowledged only after the commit is durable.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use redb::Database;
use tokio::sync::mpsc;

use super::{StoreError, db_err, log, tiers::Tiers};
use crate::metrics::NodeMetrics;
use crate::model::{Event, EventDraft, ModelError, NodeId, encode_event};

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
    /// Store events made elsewhere (idempotent), with their origins' signatures if known.
    Replicated {
        events: Vec<Event>,
        sigs: Vec<Option<[u8; 64]>>,
        reply: Reply<AppendReport>,
    },
    /// Apply retention.
    Prune {
        min_ts_us: u64,
        max_events: u64,
        reply: Reply<u64>,
    },
    /// Finish queued work and stop.
    Close,
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
    }

    fn commit_group(&mut self, ops: Vec<WriteOp>) {
        let ops: Vec<WriteOp> = ops
            .into_iter()
            .filter(|op| !matches!(op, WriteOp::Close))
            .collect();
        if ops.is_empty() {
            return;
        }
        let started = Instant::now();
        let seq_before = (self.next_seq, self.next_local_seq);
        let txn = match self.db.begin_write() {
            Ok(t) => t,
            Err(e) => return fail_all(ops, db_err(e)),
        };
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
                } => Outcome::Replicated(apply_replicated(&txn, self.local, events, sigs), reply),
                WriteOp::Prune {
                    min_ts_us,
                    max_events,
                    reply,
                } => Outcome::Prune(log::prune(&txn, min_ts_us, max_events), reply),
                WriteOp::Close => continue,
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
            WriteOp::Close => {}
        }
    }
}
