//! The cold tier: events in redb, with a time index, a sensor index and per-origin
//! sequence bookkeeping. Functions here run inside a transaction the caller owns.

use std::collections::BTreeMap;

use redb::{ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

use super::query::{EventQuery, Order};
use super::tables::{
    BY_SENSOR, BY_TIME, COUNTERS, EVENT_COUNT, EVENTS, LOCAL_ONLY_SEQ, ORIGINS, SIGNATURES,
};
use super::{StoreError, db_err};
use crate::model::{Event, LOCAL_SEQ_BASE, NodeId, decode_event, encode_event};

/// Per-origin sequence bookkeeping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OriginSeqs {
    /// Every seq in 1..=contiguous is (or was, before retention) stored.
    pub contiguous: u64,
    /// Highest seq stored.
    pub max_seen: u64,
    /// Highest seq removed by retention (such seqs count as stored for dedup).
    pub pruned: u64,
}

fn sensor_key(e: &Event) -> &str {
    e.sensor.as_ref().map_or("", |s| s.as_str())
}

/// Creates the tables if missing.
pub(crate) fn init(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(EVENTS).map_err(db_err)?;
    txn.open_table(BY_TIME).map_err(db_err)?;
    txn.open_table(BY_SENSOR).map_err(db_err)?;
    txn.open_table(ORIGINS).map_err(db_err)?;
    txn.open_table(COUNTERS).map_err(db_err)?;
    txn.open_table(SIGNATURES).map_err(db_err)?;
    Ok(())
}

/// Reads one origin's bookkeeping.
pub(crate) fn origin_seqs(
    txn: &WriteTransaction,
    origin: &NodeId,
) -> Result<OriginSeqs, StoreError> {
    let t = txn.open_table(ORIGINS).map_err(db_err)?;
    Ok(t.get(origin.as_bytes())
        .map_err(db_err)?
        .map(|v| {
            let (contiguous, max_seen, pruned) = v.value();
            OriginSeqs {
                contiguous,
                max_seen,
                pruned,
            }
        })
        .unwrap_or_default())
}

/// Inserts `event` unless already stored (or pruned). Returns whether it was new.
pub(crate) fn insert(txn: &WriteTransaction, event: &Event) -> Result<bool, StoreError> {
    let bytes = encode_event(event)?;
    let origin = *event.origin.as_bytes();
    let mut seqs = origin_seqs(txn, &event.origin)?;
    if event.seq <= seqs.pruned {
        return Ok(false);
    }
    let mut events = txn.open_table(EVENTS).map_err(db_err)?;
    // Stored events are never replaced: the first copy wins, its indexes stay true.
    if events.get((origin, event.seq)).map_err(db_err)?.is_some() {
        return Ok(false);
    }
    events
        .insert((origin, event.seq), bytes.as_slice())
        .map_err(db_err)?;
    txn.open_table(BY_TIME)
        .map_err(db_err)?
        .insert((event.ts_us, origin, event.seq), ())
        .map_err(db_err)?;
    super::announced::record(txn, event)?;
    txn.open_table(BY_SENSOR)
        .map_err(db_err)?
        .insert((sensor_key(event), event.ts_us, origin, event.seq), ())
        .map_err(db_err)?;
    if !event.replicated() {
        // Local-only events have their own run; the replicated bookkeeping ignores them.
        add_count(txn, 1)?;
        return Ok(true);
    }
    seqs.max_seen = seqs.max_seen.max(event.seq);
    if event.seq == seqs.contiguous + 1 {
        seqs.contiguous = event.seq;
        while events
            .get((origin, seqs.contiguous + 1))
            .map_err(db_err)?
            .is_some()
        {
            seqs.contiguous += 1;
        }
    }
    txn.open_table(ORIGINS)
        .map_err(db_err)?
        .insert(origin, (seqs.contiguous, seqs.max_seen, seqs.pruned))
        .map_err(db_err)?;
    add_count(txn, 1)?;
    Ok(true)
}

fn add_count(txn: &WriteTransaction, delta: i64) -> Result<(), StoreError> {
    let mut c = txn.open_table(COUNTERS).map_err(db_err)?;
    let now = c.get(EVENT_COUNT).map_err(db_err)?.map_or(0, |v| v.value());
    c.insert(EVENT_COUNT, now.saturating_add_signed(delta))
        .map_err(db_err)?;
    Ok(())
}

/// The highest local-only sequence number given out (`LOCAL_SEQ_BASE` when none).
pub(crate) fn local_only_seq(txn: &WriteTransaction) -> Result<u64, StoreError> {
    let c = txn.open_table(COUNTERS).map_err(db_err)?;
    Ok(c.get(LOCAL_ONLY_SEQ)
        .map_err(db_err)?
        .map_or(LOCAL_SEQ_BASE, |v| v.value()))
}

/// Records the highest local-only sequence number given out.
pub(crate) fn set_local_only_seq(txn: &WriteTransaction, seq: u64) -> Result<(), StoreError> {
    let mut c = txn.open_table(COUNTERS).map_err(db_err)?;
    c.insert(LOCAL_ONLY_SEQ, seq).map_err(db_err)?;
    Ok(())
}

/// Events stored.
pub(crate) fn count(txn: &ReadTransaction) -> Result<u64, StoreError> {
    let c = txn.open_table(COUNTERS).map_err(db_err)?;
    Ok(c.get(EVENT_COUNT).map_err(db_err)?.map_or(0, |v| v.value()))
}

/// Every origin's bookkeeping.
pub(crate) fn all_origins(
    txn: &ReadTransaction,
) -> Result<BTreeMap<NodeId, OriginSeqs>, StoreError> {
    let t = txn.open_table(ORIGINS).map_err(db_err)?;
    let mut out = BTreeMap::new();
    for row in t.iter().map_err(db_err)? {
        let (k, v) = row.map_err(db_err)?;
        let (contiguous, max_seen, pruned) = v.value();
        out.insert(
            NodeId::from_bytes(k.value()),
            OriginSeqs {
                contiguous,
                max_seen,
                pruned,
            },
        );
    }
    Ok(out)
}

fn load(
    events: &impl ReadableTable<([u8; 32], u64), &'static [u8]>,
    origin: [u8; 32],
    seq: u64,
) -> Result<Option<Event>, StoreError> {
    match events.get((origin, seq)).map_err(db_err)? {
        Some(v) => Ok(Some(decode_event(v.value())?)),
        None => Ok(None),
    }
}

/// Answers `q` from redb.
pub(crate) fn query(txn: &ReadTransaction, q: &EventQuery) -> Result<Vec<Event>, StoreError> {
    let limit = q.capped_limit();
    let events = txn.open_table(EVENTS).map_err(db_err)?;
    let lo = q.since_us.unwrap_or(0);
    let hi = q.until_us.unwrap_or(u64::MAX);
    let mut out = Vec::new();
    if lo >= hi || limit == 0 {
        return Ok(out);
    }
    let mut take = |origin: [u8; 32], seq: u64| -> Result<bool, StoreError> {
        if let Some(e) = load(&events, origin, seq)?
            && q.matches(&e)
        {
            out.push(e);
        }
        Ok(out.len() >= limit)
    };
    if let Some(sensor) = &q.sensor {
        let t = txn.open_table(BY_SENSOR).map_err(db_err)?;
        let range = t
            .range((sensor.as_str(), lo, [0u8; 32], 0)..(sensor.as_str(), hi, [0u8; 32], 0))
            .map_err(db_err)?;
        let rows: Box<dyn Iterator<Item = _>> = match q.order {
            Order::Oldest => Box::new(range),
            Order::Newest => Box::new(range.rev()),
        };
        for row in rows {
            let (k, _) = row.map_err(db_err)?;
            let (_, _, origin, seq) = k.value();
            if take(origin, seq)? {
                break;
            }
        }
    } else {
        let t = txn.open_table(BY_TIME).map_err(db_err)?;
        let range = t
            .range((lo, [0u8; 32], 0)..(hi, [0u8; 32], 0))
            .map_err(db_err)?;
        let rows: Box<dyn Iterator<Item = _>> = match q.order {
            Order::Oldest => Box::new(range),
            Order::Newest => Box::new(range.rev()),
        };
        for row in rows {
            let (k, _) = row.map_err(db_err)?;
            let (_, origin, seq) = k.value();
            if take(origin, seq)? {
                break;
            }
        }
    }
    Ok(out)
}

/// Events `from..=to` of `origin` that are stored, in seq order (for catch-up), each with
/// the origin's signature when one was stored.
pub(crate) fn range_of_origin(
    txn: &ReadTransaction,
    origin: &NodeId,
    from: u64,
    to: u64,
    limit: usize,
) -> Result<Vec<super::SignedStored>, StoreError> {
    let events = txn.open_table(EVENTS).map_err(db_err)?;
    let sigs = txn.open_table(SIGNATURES).map_err(db_err)?;
    let o = *origin.as_bytes();
    let mut out = Vec::new();
    for row in events.range((o, from)..=(o, to)).map_err(db_err)? {
        let (k, v) = row.map_err(db_err)?;
        let sig = sigs
            .get(k.value())
            .map_err(db_err)?
            .and_then(|s| <[u8; 64]>::try_from(s.value()).ok());
        out.push((decode_event(v.value())?, sig));
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Keeps the origin's signature of a stored event.
pub(crate) fn insert_signature(
    txn: &WriteTransaction,
    event: &Event,
    sig: &[u8; 64],
) -> Result<(), StoreError> {
    txn.open_table(SIGNATURES)
        .map_err(db_err)?
        .insert((*event.origin.as_bytes(), event.seq), sig.as_slice())
        .map_err(db_err)?;
    Ok(())
}

/// Most events one retention pass removes (the next pass goes on).
pub(crate) const PRUNE_BATCH: usize = 50_000;

/// Retention: removes events older than `min_ts_us`, then the oldest until at most
/// `max_events` remain. Returns how many were removed.
pub(crate) fn prune(
    txn: &WriteTransaction,
    min_ts_us: u64,
    max_events: u64,
) -> Result<u64, StoreError> {
    let total = {
        let c = txn.open_table(COUNTERS).map_err(db_err)?;
        c.get(EVENT_COUNT).map_err(db_err)?.map_or(0, |v| v.value())
    };
    let over = total.saturating_sub(max_events);
    let mut victims = Vec::new();
    {
        let t = txn.open_table(BY_TIME).map_err(db_err)?;
        for row in t.iter().map_err(db_err)? {
            let (k, _) = row.map_err(db_err)?;
            let (ts, origin, seq) = k.value();
            if (ts >= min_ts_us && victims.len() as u64 >= over) || victims.len() >= PRUNE_BATCH {
                break;
            }
            victims.push((ts, origin, seq));
        }
    }
    if victims.is_empty() {
        return Ok(0);
    }
    let mut events = txn.open_table(EVENTS).map_err(db_err)?;
    let mut by_time = txn.open_table(BY_TIME).map_err(db_err)?;
    let mut by_sensor = txn.open_table(BY_SENSOR).map_err(db_err)?;
    let mut sigs = txn.open_table(SIGNATURES).map_err(db_err)?;
    let mut pruned_max: BTreeMap<[u8; 32], u64> = BTreeMap::new();
    for (ts, origin, seq) in &victims {
        if let Some(e) = load(&events, *origin, *seq)? {
            by_sensor
                .remove((sensor_key(&e), *ts, *origin, *seq))
                .map_err(db_err)?;
        }
        events.remove((*origin, *seq)).map_err(db_err)?;
        sigs.remove((*origin, *seq)).map_err(db_err)?;
        by_time.remove((*ts, *origin, *seq)).map_err(db_err)?;
        if *seq < LOCAL_SEQ_BASE {
            let m = pruned_max.entry(*origin).or_default();
            *m = (*m).max(*seq);
        }
    }
    drop((events, by_time, by_sensor, sigs));
    let mut origins = txn.open_table(ORIGINS).map_err(db_err)?;
    for (origin, seq) in pruned_max {
        let (c, m, p) = origins
            .get(origin)
            .map_err(db_err)?
            .map_or((0, 0, 0), |v| v.value());
        origins.insert(origin, (c, m, p.max(seq))).map_err(db_err)?;
    }
    drop(origins);
    add_count(txn, -(victims.len() as i64))?;
    Ok(victims.len() as u64)
}

/// Opens a read transaction.
pub(crate) fn read(db: &redb::Database) -> Result<ReadTransaction, StoreError> {
    db.begin_read().map_err(db_err)
}
