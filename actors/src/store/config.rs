//! The store's settings (config section `[store]`): tier sizes and ages, retention,
//! commit batching and the write queue, with their validation.

use serde::{Deserialize, Serialize};

use super::TierLimits;

/// Store settings (config section `[store]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Hot tier: newest events kept in memory per sensor.
    pub hot_per_sensor: usize,
    /// Warm tier: most events kept in memory.
    pub warm_max_events: usize,
    /// Warm tier: oldest event kept, seconds.
    pub warm_max_age_s: u64,
    /// Cold tier (redb): most events kept.
    pub cold_max_events: u64,
    /// Cold tier: oldest event kept, seconds.
    pub cold_max_age_s: u64,
    /// Artifacts: most bytes kept.
    pub artifact_max_bytes: u64,
    /// Artifacts: oldest kept, seconds.
    pub artifact_max_age_s: u64,
    /// How often retention runs, seconds.
    pub retention_interval_s: u64,
    /// Most queued writes committed in one transaction.
    pub commit_max_batch: usize,
    /// Writes queued before writers wait (backpressure).
    pub write_queue: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            hot_per_sensor: 64,
            warm_max_events: 20_000,
            warm_max_age_s: 600,
            cold_max_events: 5_000_000,
            cold_max_age_s: 30 * 24 * 3600,
            artifact_max_bytes: 1 << 30,
            artifact_max_age_s: 7 * 24 * 3600,
            retention_interval_s: 60,
            commit_max_batch: 256,
            write_queue: 1024,
        }
    }
}

impl StoreConfig {
    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut need = |ok: bool, key: &'static str, msg: &str| {
            if !ok {
                out.push((key, msg.to_string()));
            }
        };
        need(
            self.hot_per_sensor >= 1,
            "hot_per_sensor",
            "must be at least 1",
        );
        need(
            self.warm_max_events >= self.hot_per_sensor,
            "warm_max_events",
            "must be at least hot_per_sensor",
        );
        need(
            self.warm_max_events <= 10_000_000,
            "warm_max_events",
            "must be at most 10000000",
        );
        need(
            self.cold_max_events >= 1,
            "cold_max_events",
            "must be at least 1",
        );
        need(
            self.cold_max_age_s >= 1,
            "cold_max_age_s",
            "must be at least 1",
        );
        need(
            self.retention_interval_s >= 1,
            "retention_interval_s",
            "must be at least 1",
        );
        need(
            (1..=65_536).contains(&self.commit_max_batch),
            "commit_max_batch",
            "must be in 1..=65536",
        );
        need(
            (1..=1_000_000).contains(&self.write_queue),
            "write_queue",
            "must be in 1..=1000000",
        );
        out
    }

    pub(super) fn tier_limits(&self) -> TierLimits {
        TierLimits {
            hot_per_sensor: self.hot_per_sensor,
            warm_max_events: self.warm_max_events,
            warm_max_age_s: self.warm_max_age_s,
        }
    }
}
