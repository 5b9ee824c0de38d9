//! Display streams: live data for people watching a sensor (waterfall rows, measurement
//! batches), per sensor, never replicated as events. A slow viewer misses some; the
//! pipeline never waits for one. Remote sensors' streams arrive here too (the mesh feeds
//! them while someone on this node watches).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::model::{Event, SensorId};

/// Rows a viewer may fall behind before it misses some.
const BACKLOG: usize = 64;

/// One waterfall row of a sensor, ready to draw.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WaterfallFrame {
    /// First STFT row it covers (stream rows since the analysis began).
    pub row_index: u64,
    /// STFT rows max-held into it.
    pub rows: u32,
    /// Seconds since the stream began, of its first row.
    pub time_s: f64,
    /// Centre frequency of the row, Hz.
    pub center_freq_hz: f64,
    /// Frequency span of the row, Hz (the sample rate).
    pub span_hz: f64,
    /// dB mapped to code 0 and to code 255.
    pub db_min: f32,
    /// See `db_min`.
    pub db_max: f32,
    /// Codes, lowest frequency first.
    pub values: Vec<u8>,
}

/// Every sensor's display streams on this node.
#[derive(Default)]
pub struct DisplayStreams {
    waterfalls: Mutex<BTreeMap<SensorId, broadcast::Sender<Arc<WaterfallFrame>>>>,
    samples: Mutex<BTreeMap<SensorId, broadcast::Sender<Arc<Event>>>>,
}

impl DisplayStreams {
    /// The sender for `sensor`'s waterfall (made on first use).
    pub fn waterfall_sender(&self, sensor: &SensorId) -> broadcast::Sender<Arc<WaterfallFrame>> {
        let mut map = self.waterfalls.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(sensor.clone())
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .clone()
    }

    /// A new viewer of `sensor`'s waterfall; `None` when the sensor draws none.
    pub fn subscribe_waterfall(
        &self,
        sensor: &SensorId,
    ) -> Option<broadcast::Receiver<Arc<WaterfallFrame>>> {
        let map = self.waterfalls.lock().unwrap_or_else(|p| p.into_inner());
        map.get(sensor).map(|tx| tx.subscribe())
    }

    /// Sensors with a waterfall.
    pub fn waterfall_sensors(&self) -> Vec<SensorId> {
        let map = self.waterfalls.lock().unwrap_or_else(|p| p.into_inner());
        map.keys().cloned().collect()
    }

    /// The sender for `sensor`'s live measurement batches (made on first use).
    pub fn samples_sender(&self, sensor: &SensorId) -> broadcast::Sender<Arc<Event>> {
        let mut map = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(sensor.clone())
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .clone()
    }

    /// A new viewer of `sensor`'s live measurement batches.
    pub fn subscribe_samples(&self, sensor: &SensorId) -> broadcast::Receiver<Arc<Event>> {
        self.samples_sender(sensor).subscribe()
    }

    /// Viewers now: (sensor, stream — `waterfall` or `samples`, receivers).
    pub fn viewers(&self) -> Vec<(SensorId, &'static str, usize)> {
        let mut out = Vec::new();
        let w = self.waterfalls.lock().unwrap_or_else(|p| p.into_inner());
        out.extend(
            w.iter()
                .map(|(s, tx)| (s.clone(), "waterfall", tx.receiver_count())),
        );
        drop(w);
        let m = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        out.extend(
            m.iter()
                .map(|(s, tx)| (s.clone(), "samples", tx.receiver_count())),
        );
        out
    }
}
