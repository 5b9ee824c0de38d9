//! Sensor settings (config `[[sensors]]`).

use serde::{Deserialize, Serialize};

use crate::model::{RoomId, SensorId};

/// What a sensor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SensorKind {
    /// Simulated heart rate, bpm, one channel.
    HeartRate,
    /// Simulated accelerometer, m/s², three channels.
    Imu,
}

/// One configured sensor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SensorConfig {
    /// Unique on the node.
    pub id: SensorId,
    /// What it is.
    pub kind: SensorKind,
    /// Room it belongs to.
    #[serde(default)]
    pub room: Option<RoomId>,
    /// Samples per second.
    #[serde(default = "default_rate")]
    pub rate_hz: f64,
    /// A batch is sent when it holds this many samples ...
    #[serde(default = "default_batch_max")]
    pub batch_max_samples: usize,
    /// ... or when its oldest sample is this old, ms.
    #[serde(default = "default_batch_window")]
    pub batch_window_ms: u64,
    /// Emission profile name, reported in `sensor_profile_updated`.
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Seed of the simulated signal (reproducible runs).
    #[serde(default)]
    pub seed: u64,
}

fn default_rate() -> f64 {
    50.0
}
fn default_batch_max() -> usize {
    50
}
fn default_batch_window() -> u64 {
    1000
}
fn default_profile() -> String {
    "lan".into()
}

/// Most samples × channels one batch may hold (keeps events under the size limit).
pub const MAX_BATCH_VALUES: usize = 8192;

impl SensorConfig {
    /// Interleaved channels per sample.
    pub fn channels(&self) -> usize {
        match self.kind {
            SensorKind::HeartRate => 1,
            SensorKind::Imu => 3,
        }
    }

    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(self.rate_hz > 0.0 && self.rate_hz <= 10_000.0) {
            out.push(("rate_hz", "must be in (0, 10000]".into()));
        }
        if self.batch_max_samples == 0
            || self.batch_max_samples * self.channels() > MAX_BATCH_VALUES
        {
            out.push((
                "batch_max_samples",
                format!("must be in 1..={}", MAX_BATCH_VALUES / self.channels()),
            ));
        }
        if !(10..=60_000).contains(&self.batch_window_ms) {
            out.push(("batch_window_ms", "must be in 10..=60000".into()));
        }
        out
    }
}
