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
    /// Software-defined radio (simulated IQ source) running the edge RF pipeline.
    Sdr,
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
    /// Radio settings (`kind = "sdr"` only).
    #[serde(default)]
    pub rf: RfConfig,
}

/// Radio settings of an SDR sensor (`[sensors.rf]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RfConfig {
    /// Samples per second.
    pub sample_rate_hz: f64,
    /// Tuned center frequency, Hz.
    pub center_freq_hz: f64,
    /// Samples per IQ window handed from the source to the detector.
    pub window_samples: usize,
    /// A `tf_computed` summary every this many ms.
    pub tf_every_ms: u64,
    /// IQ kept around each candidate for its evidence artifact, ms on each side.
    pub iq_margin_ms: u64,
    /// Longest IQ evidence per candidate, ms.
    pub iq_max_ms: u64,
    /// The detection path (STFT, noise floor, CFAR, grouping).
    pub analyzer: crate::dsp::analyzer::AnalyzerConfig,
    /// Where the IQ comes from.
    pub source: IqSourceConfig,
    /// What runs on it: the full detection path, or band-energy alerts (constrained nodes).
    pub mode: RfMode,
    /// Bands watched in `band_energy` mode.
    pub band_energy: crate::dsp::band_energy::BandEnergyConfig,
    /// Waterfall rows for viewers (full mode; a display stream, never events).
    pub waterfall: crate::dsp::waterfall::WaterfallConfig,
}

/// What an SDR sensor runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RfMode {
    /// STFT, noise floor, CFAR, grouping, features, evidence artifacts.
    #[default]
    Full,
    /// A cheap band-energy detector producing tiny alerts (the kbps island path).
    BandEnergy,
}

/// Where an SDR sensor's IQ comes from (`[sensors.rf.source]`, tagged by `type`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum IqSourceConfig {
    /// The seeded simulator (`seed` of the sensor): an endless scene of emitters.
    #[default]
    Simulated,
    /// A SigMF recording streamed at real time or as fast as the pipeline takes it.
    Replay {
        /// `.sigmf-meta`, `.sigmf-data` or `.sigmf` archive.
        path: std::path::PathBuf,
        /// Pace at the recording's sample rate (else as fast as possible).
        #[serde(default = "yes")]
        realtime: bool,
        /// Start again at the end.
        #[serde(default)]
        repeat: bool,
    },
    /// IQ01 frames from a TCP peer (a remote SDR).
    Iq01Tcp {
        /// Address to listen on, e.g. `127.0.0.1:5555`.
        bind: std::net::SocketAddr,
    },
    /// IQ01 frames from a device over the node's ingest socket (`/ws/ingest`, binary
    /// messages after a `discovery` of this sensor id), authenticated by its API key.
    Ingest,
}

fn yes() -> bool {
    true
}

impl Default for RfConfig {
    fn default() -> Self {
        Self {
            sample_rate_hz: 2.4e6,
            center_freq_hz: 433.92e6,
            window_samples: 1 << 16,
            tf_every_ms: 1000,
            iq_margin_ms: 10,
            iq_max_ms: 250,
            analyzer: Default::default(),
            source: IqSourceConfig::Simulated,
            mode: RfMode::Full,
            band_energy: Default::default(),
            waterfall: Default::default(),
        }
    }
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
            SensorKind::HeartRate | SensorKind::Sdr => 1,
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
        if self.kind == SensorKind::Sdr {
            let rf = &self.rf;
            if !(rf.sample_rate_hz.is_finite() && (1e3..=100e6).contains(&rf.sample_rate_hz)) {
                out.push(("rf.sample_rate_hz", "must be in 1e3..=1e8".into()));
            }
            if !rf.center_freq_hz.is_finite() || rf.center_freq_hz < 0.0 {
                out.push(("rf.center_freq_hz", "must be a frequency ≥ 0".into()));
            }
            if !(1024..=1 << 22).contains(&rf.window_samples) {
                out.push(("rf.window_samples", "must be in 1024..=4194304".into()));
            }
            if !(100..=3_600_000).contains(&rf.tf_every_ms) {
                out.push(("rf.tf_every_ms", "must be in 100..=3600000".into()));
            }
            if !(1..=5_000).contains(&rf.iq_max_ms) || rf.iq_margin_ms > 1_000 {
                out.push((
                    "rf.iq_max_ms",
                    "must be in 1..=5000 (and iq_margin_ms ≤ 1000)".into(),
                ));
            }
            if rf.mode == RfMode::BandEnergy {
                for (_, m) in rf.band_energy.problems(rf.sample_rate_hz) {
                    out.push(("rf.band_energy", m));
                }
            }
            for (_, m) in rf.waterfall.problems() {
                out.push(("rf.waterfall", m));
            }
            for (k, m) in rf.analyzer.problems() {
                let key: &'static str = if k.starts_with("stft") {
                    "rf.analyzer.stft"
                } else {
                    "rf.analyzer.cfar"
                };
                out.push((key, m));
            }
        }
        out
    }
}
