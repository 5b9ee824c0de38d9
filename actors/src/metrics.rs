//! In-memory counters of one node: events per sensor, restarts, drops, store commit latency
//! (with a histogram), queue depths of the pipeline edges. Cheap to update from any actor;
//! read by the CLI summary and the `/metrics` exporter.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Weak};
use std::time::Duration;

/// Counters for one node. Share it as `Arc<NodeMetrics>`.
#[derive(Debug, Default)]
pub struct NodeMetrics {
    restarts: AtomicU64,
    dropped: AtomicU64,
    store_writes: AtomicU64,
    store_write_us_total: AtomicU64,
    store_write_us_max: AtomicU64,
    events_by_sensor: Mutex<BTreeMap<String, u64>>,
    stored_events: AtomicU64,
    /// Commits per latency bucket (upper bounds in [`COMMIT_BUCKETS_S`]; the last counts
    /// everything slower).
    commit_buckets: [AtomicU64; COMMIT_BUCKETS_S.len() + 1],
    /// Pipeline edges: name → (credits left, capacity).
    queues: Mutex<BTreeMap<String, (Weak<tokio::sync::Semaphore>, usize)>>,
}

/// Upper bounds (seconds) of the store commit latency histogram.
pub const COMMIT_BUCKETS_S: [f64; 11] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Store commit latency as a histogram: cumulative counts per upper bound, sum, count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitHistogram {
    /// (upper bound s, commits at or below it), bounds ascending.
    pub buckets: Vec<(f64, u64)>,
    /// Total seconds.
    pub sum_s: f64,
    /// Commits.
    pub count: u64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct MetricsSnapshot {
    /// Actor restarts since start.
    pub restarts: u64,
    /// Messages dropped by a `drop` overflow policy.
    pub dropped: u64,
    /// Store commits.
    pub store_writes: u64,
    /// Mean commit latency, µs.
    pub store_write_mean_us: u64,
    /// Worst commit latency, µs.
    pub store_write_max_us: u64,
    /// Events stored since start per sensor (`node` for node-level events).
    pub events_by_sensor: BTreeMap<String, u64>,
    /// Events in the store.
    pub stored_events: u64,
}

impl NodeMetrics {
    /// Counts one actor restart.
    pub fn record_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a dropped message.
    pub fn record_drop(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one store commit and how long it took.
    pub fn record_store_write(&self, took: Duration) {
        let us = took.as_micros() as u64;
        self.store_writes.fetch_add(1, Ordering::Relaxed);
        self.store_write_us_total.fetch_add(us, Ordering::Relaxed);
        self.store_write_us_max.fetch_max(us, Ordering::Relaxed);
        let s = took.as_secs_f64();
        let i = COMMIT_BUCKETS_S
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(COMMIT_BUCKETS_S.len());
        self.commit_buckets[i].fetch_add(1, Ordering::Relaxed);
    }

    /// The store commit latency histogram so far.
    pub fn commit_histogram(&self) -> CommitHistogram {
        let mut cumulative = 0;
        let buckets = COMMIT_BUCKETS_S
            .iter()
            .zip(&self.commit_buckets)
            .map(|(b, c)| {
                cumulative += c.load(Ordering::Relaxed);
                (*b, cumulative)
            })
            .collect();
        CommitHistogram {
            buckets,
            sum_s: self.store_write_us_total.load(Ordering::Relaxed) as f64 / 1e6,
            count: self.store_writes.load(Ordering::Relaxed),
        }
    }

    /// Registers a pipeline edge whose credits are `credits` (replaces a restarted one's).
    pub fn register_queue(
        &self,
        name: &str,
        credits: &std::sync::Arc<tokio::sync::Semaphore>,
        capacity: usize,
    ) {
        if let Ok(mut q) = self.queues.lock() {
            q.insert(
                name.to_string(),
                (std::sync::Arc::downgrade(credits), capacity),
            );
        }
    }

    /// Every live pipeline edge: (name, messages waiting or in work, capacity).
    pub fn queue_depths(&self) -> Vec<(String, usize, usize)> {
        let Ok(mut q) = self.queues.lock() else {
            return Vec::new();
        };
        q.retain(|_, (w, _)| w.strong_count() > 0);
        q.iter()
            .filter_map(|(name, (w, cap))| {
                let s = w.upgrade()?;
                Some((
                    name.clone(),
                    cap.saturating_sub(s.available_permits()),
                    *cap,
                ))
            })
            .collect()
    }

    /// Counts `n` events stored for `sensor`.
    pub fn record_events(&self, sensor: &str, n: u64) {
        if let Ok(mut m) = self.events_by_sensor.lock() {
            *m.entry(sensor.to_string()).or_default() += n;
        }
    }

    /// Sets the number of events in the store (on open).
    pub fn set_stored_events(&self, n: u64) {
        self.stored_events.store(n, Ordering::Relaxed);
    }

    /// Adjusts the number of events in the store.
    pub fn add_stored_events(&self, delta: i64) {
        let _ = self
            .stored_events
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_add_signed(delta))
            });
    }

    /// Events in the store.
    pub fn stored_events(&self) -> u64 {
        self.stored_events.load(Ordering::Relaxed)
    }

    /// Restarts so far.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let writes = self.store_writes.load(Ordering::Relaxed);
        MetricsSnapshot {
            restarts: self.restarts(),
            dropped: self.dropped.load(Ordering::Relaxed),
            store_writes: writes,
            store_write_mean_us: self.store_write_us_total.load(Ordering::Relaxed) / writes.max(1),
            store_write_max_us: self.store_write_us_max.load(Ordering::Relaxed),
            events_by_sensor: self
                .events_by_sensor
                .lock()
                .map(|m| m.clone())
                .unwrap_or_default(),
            stored_events: self.stored_events(),
        }
    }
}
