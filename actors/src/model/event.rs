//! The event envelope and its payloads. Events are small, replicated to every node,
//! deduplicated by id and ordered per origin by a contiguous sequence number.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::artifact::ArtifactPtr;
use super::detection::{Detection, Window};
use super::ids::{EventId, NodeId, RoomId, SensorId};

/// Version of the event schema this build writes. Readers accept every version up to it.
pub const SCHEMA_VERSION: u16 = 1;

/// Sequence numbers from here up number an origin's local-only events (high-rate data such
/// as measurement batches: kept where made, streamed only to viewers). They run contiguous
/// from `LOCAL_SEQ_BASE + 1`, apart from the replicated run, and replication ignores them.
pub const LOCAL_SEQ_BASE: u64 = 1 << 63;

/// An event as stored and replicated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Schema version it was written with.
    pub schema: u16,
    /// `EventId::derive(origin, seq)`.
    pub id: EventId,
    /// The node that made it.
    pub origin: NodeId,
    /// Per-origin sequence number, contiguous from 1.
    pub seq: u64,
    /// When it was made, µs since the Unix epoch (UTC).
    pub ts_us: u64,
    /// The sensor it is about; `None` for node-level events such as heartbeats.
    #[serde(default)]
    pub sensor: Option<SensorId>,
    /// The room it belongs to, if any.
    #[serde(default)]
    pub room: Option<RoomId>,
    /// Kind and payload.
    pub body: Payload,
}

impl Event {
    /// Seals a draft as event `seq` of `origin`.
    pub fn seal(origin: NodeId, seq: u64, draft: EventDraft) -> Self {
        Self {
            schema: SCHEMA_VERSION,
            id: EventId::derive(&origin, seq),
            origin,
            seq,
            ts_us: draft.ts_us,
            sensor: draft.sensor,
            room: draft.room,
            body: draft.body,
        }
    }

    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        self.body.kind()
    }

    /// Whether it goes to every node (its seq is in the replicated run).
    pub fn replicated(&self) -> bool {
        self.seq < LOCAL_SEQ_BASE
    }
}

/// An event before the store gives it its origin sequence number (and so its id).
#[derive(Clone, Debug, PartialEq)]
pub struct EventDraft {
    /// When it was made, µs since the Unix epoch.
    pub ts_us: u64,
    /// Sensor it is about.
    pub sensor: Option<SensorId>,
    /// Room it belongs to.
    pub room: Option<RoomId>,
    /// Kind and payload.
    pub body: Payload,
}

/// Every kind of event. Names are the wire and CLI names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Heartbeat,
    MeasurementBatch,
    IqWindowReceived,
    TfComputed,
    CandidateDetected,
    WaveformClassified,
    AssociationUpdated,
    SensorProfileUpdated,
    AttentionChanged,
    ArtifactAvailable,
}

impl EventKind {
    /// All kinds, in wire order.
    pub const ALL: [EventKind; 10] = [
        EventKind::Heartbeat,
        EventKind::MeasurementBatch,
        EventKind::IqWindowReceived,
        EventKind::TfComputed,
        EventKind::CandidateDetected,
        EventKind::WaveformClassified,
        EventKind::AssociationUpdated,
        EventKind::SensorProfileUpdated,
        EventKind::AttentionChanged,
        EventKind::ArtifactAvailable,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Heartbeat => "heartbeat",
            EventKind::MeasurementBatch => "measurement_batch",
            EventKind::IqWindowReceived => "iq_window_received",
            EventKind::TfComputed => "tf_computed",
            EventKind::CandidateDetected => "candidate_detected",
            EventKind::WaveformClassified => "waveform_classified",
            EventKind::AssociationUpdated => "association_updated",
            EventKind::SensorProfileUpdated => "sensor_profile_updated",
            EventKind::AttentionChanged => "attention_changed",
            EventKind::ArtifactAvailable => "artifact_available",
        }
    }

    /// Whether events of this kind go to every node. High-rate data (measurement batches,
    /// per-window IQ notices) stays on its node and streams only to viewers.
    pub fn replicated(self) -> bool {
        !matches!(
            self,
            EventKind::MeasurementBatch | EventKind::IqWindowReceived
        )
    }

    /// A one-byte code, used in storage indexes.
    pub fn code(self) -> u8 {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = super::ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| super::ModelError::UnknownKind(s.chars().take(64).collect()))
    }
}

/// How much someone is looking at a sensor.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AttentionLevel {
    /// Nobody looks (tab hidden, or no viewer).
    #[default]
    None,
    /// Scrolled away.
    Low,
    /// Visible.
    Medium,
    /// Focused and visible.
    High,
}

impl AttentionLevel {
    /// Its name as the API writes it (`none`, `low`, `medium`, `high`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// A node's battery, as its heartbeat reports it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Battery {
    /// Charge, percent (0–100).
    pub level_pct: f32,
    /// Whether it is charging (or full on a charger).
    pub charging: bool,
}

/// Kind-specific content, tagged with the kind's name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum Payload {
    /// A node is alive.
    Heartbeat {
        /// Node role (`dev`, `edge`, ...).
        role: String,
        /// Seconds since the node started.
        uptime_s: u64,
        /// Sensors running on it.
        sensors: u32,
        /// Events in its store.
        events_stored: u64,
        /// Actor restarts since start.
        restarts: u64,
        /// Its battery; absent on mains (and from nodes that predate the field).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        battery: Option<Battery>,
    },
    /// Samples from a measurement sensor (heart rate, IMU, ...).
    MeasurementBatch {
        /// What was measured, e.g. `heart_rate`.
        quantity: String,
        /// Its unit, e.g. `bpm`.
        unit: String,
        /// Sample rate in Hz.
        sample_rate_hz: f32,
        /// Timestamp of the first sample, µs since the Unix epoch.
        t0_us: u64,
        /// Samples; `channels` interleaved.
        values: Vec<f32>,
        /// Interleaved channels per sample (1 for scalar sensors, 3 for an accelerometer).
        #[serde(default = "one")]
        channels: u8,
    },
    /// An IQ window arrived and was stored as an artifact.
    IqWindowReceived {
        /// The window.
        window: Window,
        /// Where its SigMF artifact is.
        iq: ArtifactPtr,
    },
    /// A time-frequency summary of a window.
    TfComputed {
        /// The window.
        window: Window,
        /// FFT size.
        nfft: u32,
        /// Hop in samples.
        hop: u32,
        /// Median noise floor, dB.
        noise_floor_db: f32,
        /// Peak power, dB.
        peak_db: f32,
        /// Share of TF cells above the detection threshold.
        occupancy: f32,
    },
    /// A candidate emission was found.
    CandidateDetected(Detection),
    /// A candidate was classified.
    WaveformClassified(Detection),
    /// Detections were associated (e.g. the same emitter across sensors).
    AssociationUpdated {
        /// Track identifier.
        track_id: String,
        /// Events associated.
        detections: Vec<EventId>,
        /// Estimated parameters of the track.
        estimated_params: BTreeMap<String, f64>,
    },
    /// A sensor's emission profile changed.
    SensorProfileUpdated {
        /// New profile name.
        profile: String,
        /// Why it changed.
        reason: String,
    },
    /// A viewer's attention on a sensor changed.
    AttentionChanged {
        /// Who is looking.
        viewer: String,
        /// New level.
        level: AttentionLevel,
        /// When the hint expires, µs since the Unix epoch.
        expires_us: u64,
    },
    /// An artifact can be fetched from the origin.
    ArtifactAvailable(ArtifactPtr),
}

fn one() -> u8 {
    1
}

impl Payload {
    /// The payload's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Payload::Heartbeat { .. } => EventKind::Heartbeat,
            Payload::MeasurementBatch { .. } => EventKind::MeasurementBatch,
            Payload::IqWindowReceived { .. } => EventKind::IqWindowReceived,
            Payload::TfComputed { .. } => EventKind::TfComputed,
            Payload::CandidateDetected(_) => EventKind::CandidateDetected,
            Payload::WaveformClassified(_) => EventKind::WaveformClassified,
            Payload::AssociationUpdated { .. } => EventKind::AssociationUpdated,
            Payload::SensorProfileUpdated { .. } => EventKind::SensorProfileUpdated,
            Payload::AttentionChanged { .. } => EventKind::AttentionChanged,
            Payload::ArtifactAvailable(_) => EventKind::ArtifactAvailable,
        }
    }
}
