//! The constrained-mode stage: the band-energy detector over IQ windows, each alert a small
//! `candidate_detected` event (band, delta dB, duration, confidence) fit for a kbps link.

use std::collections::BTreeMap;

use super::source::IqWindow;
use crate::dsp::band_alert::BandAlert;
use crate::dsp::band_energy::BandEnergyDetector;
use crate::model::{Algo, Detection, EventDraft, Evidence, Payload, RoomId, SensorId, Window};
use crate::pipeline::Stage;
use crate::sensors::config::RfConfig;

/// Feature layout of band alerts.
pub const BAND_ALERT_FEATURES: &str = "fm-band-alert-1";

/// The band-watch stage core.
pub struct BandWatch {
    sensor: SensorId,
    room: Option<RoomId>,
    rf: RfConfig,
    detector: BandEnergyDetector,
    next_sample: Option<u64>,
}

impl BandWatch {
    /// A band watch over `rf.band_energy`.
    pub fn new(sensor: SensorId, room: Option<RoomId>, rf: &RfConfig) -> Self {
        Self {
            detector: BandEnergyDetector::new(&rf.band_energy, rf.sample_rate_hz),
            sensor,
            room,
            rf: rf.clone(),
            next_sample: None,
        }
    }

    fn draft(&self, a: &BandAlert) -> EventDraft {
        let band = self.rf.band_energy.bands.iter().find(|b| b.id == a.band_id);
        let mut params = BTreeMap::from([
            ("band_id".to_string(), f64::from(a.band_id)),
            ("delta_db".to_string(), f64::from(a.delta_db)),
            ("duration_ms".to_string(), f64::from(a.duration_ms)),
            ("confidence".to_string(), f64::from(a.confidence) / 255.0),
        ]);
        if let Some(b) = band {
            params.insert("freq_lo_hz".into(), self.rf.center_freq_hz + b.lo_hz);
            params.insert("freq_hi_hz".into(), self.rf.center_freq_hz + b.hi_hz);
        }
        EventDraft {
            ts_us: a.ts_us,
            sensor: Some(self.sensor.clone()),
            room: self.room.clone(),
            body: Payload::CandidateDetected(Detection {
                algo: Algo {
                    name: "fm-band-energy".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    params_hash: String::new(),
                },
                feature_set_id: BAND_ALERT_FEATURES.into(),
                window: Window {
                    duration_s: f64::from(a.duration_ms) / 1e3,
                    center_freq_hz: self.rf.center_freq_hz,
                    sample_rate_hz: self.rf.sample_rate_hz,
                },
                evidence: Evidence::default(),
                classes: Vec::new(),
                estimated_params: params,
                artifact_ptrs: Vec::new(),
            }),
        }
    }
}

impl Stage for BandWatch {
    type In = IqWindow;
    type Out = Vec<EventDraft>;

    fn on_input(&mut self, w: IqWindow, _now_us: u64) -> Vec<Vec<EventDraft>> {
        let mut alerts = Vec::new();
        if self.next_sample.is_some_and(|n| n != w.first_sample) {
            // A gap: the detector's frames would straddle it; close (and report) what is open.
            alerts.extend(self.detector.finish());
            self.detector = BandEnergyDetector::new(&self.rf.band_energy, self.rf.sample_rate_hz);
        }
        self.next_sample = Some(w.first_sample + w.samples.len() as u64);
        let t0_us =
            w.stream_start_us + (w.first_sample as f64 * 1e6 / self.rf.sample_rate_hz) as u64;
        alerts.extend(self.detector.push(&w.samples, t0_us));
        if w.last {
            alerts.extend(self.detector.finish());
            self.next_sample = None;
        }
        let drafts: Vec<EventDraft> = alerts.iter().map(|a| self.draft(a)).collect();
        if drafts.is_empty() {
            Vec::new()
        } else {
            vec![drafts]
        }
    }

    fn on_stop(&mut self, _now_us: u64) -> Vec<Vec<EventDraft>> {
        let drafts: Vec<EventDraft> = self
            .detector
            .finish()
            .iter()
            .map(|a| self.draft(a))
            .collect();
        if drafts.is_empty() {
            Vec::new()
        } else {
            vec![drafts]
        }
    }
}
