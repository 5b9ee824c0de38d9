//! The features stage: for each candidate, its features, its IQ evidence as a SigMF archive
//! (annotated with the detection) and the `candidate_detected` event; summaries become
//! `tf_computed` events.

use std::collections::BTreeMap;

use super::detector::{Candidate, Detected, TfSummary};
use crate::dsp::analyzer::TfBox;
use crate::dsp::features::{FEATURE_SET_ID, feature_names, features};
use crate::dsp::sigmf::{SigmfDatatype, archive_bytes};
use crate::dsp::stft::Stft;
use crate::dsp::tile::TfTile;
use crate::dsp::{Complex32, Emission, IqRecording};
use crate::model::{
    Algo, Detection, EventDraft, Evidence, Payload, RoomId, SensorId, Window, hex_encode,
};
use crate::pipeline::Stage;
use crate::sensors::config::RfConfig;

/// An event to emit, with the evidence to store first (if any).
#[derive(Clone, Debug)]
pub struct Report {
    /// The event (a `candidate_detected` gets its evidence pointers from the outlet).
    pub draft: EventDraft,
    /// SigMF archive of the IQ around the candidate.
    pub evidence: Option<Vec<u8>>,
    /// Spectrogram tile of the candidate (`TFT1` bytes).
    pub tile: Option<Vec<u8>>,
    /// The candidate itself, for the classify stage (dropped there or by the outlet).
    pub candidate: Option<Box<Candidate>>,
}

/// Bins kept on each side of a candidate's band in its tile.
const TILE_MARGIN_BINS: usize = 8;

/// The spectrogram tile of `iq` over `b`'s band (± a margin), rows of the configured STFT;
/// `t0_row` is the stream row where `iq` starts.
fn tile_of(iq: &[Complex32], b: &TfBox, rf: &RfConfig, t0_row: u64) -> Option<Vec<u8>> {
    let mut stft = Stft::new(&rf.analyzer.stft);
    let mut rows = Vec::new();
    stft.push(iq, |_, row| rows.push(row.to_vec()));
    let n = stft.nfft();
    let lo = (b.bin_lo as usize).saturating_sub(TILE_MARGIN_BINS).min(n);
    let hi = (b.bin_hi as usize + TILE_MARGIN_BINS).min(n);
    if rows.is_empty() || lo >= hi {
        return None;
    }
    TfTile::from_rows(&rows, lo..hi, t0_row)
        .ok()
        .map(|t| t.encode())
}

/// The features stage core.
pub struct Featurizer {
    sensor: SensorId,
    room: Option<RoomId>,
    rf: RfConfig,
    algo: Algo,
    names: Vec<String>,
}

impl Featurizer {
    /// A featurizer for `sensor`'s candidates.
    pub fn new(sensor: SensorId, room: Option<RoomId>, rf: &RfConfig) -> Self {
        let params = serde_json::to_vec(&rf.analyzer).unwrap_or_default();
        Self {
            sensor,
            room,
            algo: Algo {
                name: "fm-cfar-multiscale".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                params_hash: hex_encode(&blake3::hash(&params).as_bytes()[..8]),
            },
            rf: rf.clone(),
            names: feature_names(),
        }
    }

    fn detection(&self, c: &Candidate) -> (EventDraft, Option<Vec<u8>>, Option<Vec<u8>>) {
        let b = &c.tfbox;
        let fs = self.rf.sample_rate_hz;
        let center = self.rf.center_freq_hz;
        // Features on the candidate's own IQ: shift the box to the segment's clock.
        let local = TfBox {
            start_s: b.start_s - c.iq_start_s,
            stop_s: b.stop_s - c.iq_start_s,
            ..b.clone()
        };
        let f = features(&c.iq, fs, &local);
        let start_us = c.stream_start_us + (b.start_s * 1e6) as u64;
        let mut params: BTreeMap<String, f64> = self
            .names
            .iter()
            .cloned()
            .zip(f.values.iter().map(|v| f64::from(*v)))
            .collect();
        params.insert("start_us".into(), start_us as f64);
        params.insert("freq_lo_hz".into(), center + b.freq_lo_hz);
        params.insert("freq_hi_hz".into(), center + b.freq_hi_hz);
        params.insert("bandwidth_hz".into(), b.freq_hi_hz - b.freq_lo_hz);
        params.insert("peak_db".into(), f64::from(b.peak_db));
        params.insert("mean_db".into(), f64::from(b.mean_db));
        let detection = Detection {
            algo: self.algo.clone(),
            feature_set_id: FEATURE_SET_ID.into(),
            window: Window {
                duration_s: b.stop_s - b.start_s,
                center_freq_hz: center,
                sample_rate_hz: fs,
            },
            evidence: Evidence::default(),
            classes: Vec::new(),
            estimated_params: params,
            artifact_ptrs: Vec::new(),
        };
        let rec = IqRecording {
            sample_rate_hz: fs,
            center_freq_hz: Some(center),
            start_us: Some(c.stream_start_us + (c.iq_start_s * 1e6) as u64),
            samples: c.iq.to_vec(),
            annotations: vec![Emission {
                start_s: local.start_s,
                stop_s: local.stop_s,
                freq_lo_hz: b.freq_lo_hz,
                freq_hi_hz: b.freq_hi_hz,
                label: "candidate".into(),
                snr_db: Some(f64::from(b.snr_db)),
            }],
        };
        let name = format!("{}-{start_us}", self.sensor);
        let evidence = match archive_bytes(&name, &rec, SigmfDatatype::Ci16Le) {
            Ok(bytes) if !c.iq.is_empty() => Some(bytes),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(sensor = %self.sensor, error = %e, "could not package IQ evidence");
                None
            }
        };
        let draft = EventDraft {
            ts_us: start_us,
            sensor: Some(self.sensor.clone()),
            room: self.room.clone(),
            body: Payload::CandidateDetected(detection),
        };
        let t0_row = (c.iq_start_s * fs) as u64 / self.rf.analyzer.stft.hop.max(1) as u64;
        (draft, evidence, tile_of(&c.iq, b, &self.rf, t0_row))
    }

    fn summary(&self, s: &TfSummary) -> EventDraft {
        EventDraft {
            ts_us: s.ts_us,
            sensor: Some(self.sensor.clone()),
            room: self.room.clone(),
            body: Payload::TfComputed {
                window: Window {
                    duration_s: s.duration_s,
                    center_freq_hz: self.rf.center_freq_hz,
                    sample_rate_hz: self.rf.sample_rate_hz,
                },
                nfft: self.rf.analyzer.stft.nfft as u32,
                hop: self.rf.analyzer.stft.hop as u32,
                noise_floor_db: s.noise_floor_db,
                peak_db: s.stats.peak_db,
                occupancy: s.stats.occupancy,
            },
        }
    }
}

impl Stage for Featurizer {
    type In = Detected;
    type Out = Report;

    fn on_input(&mut self, d: Detected, _now_us: u64) -> Vec<Report> {
        match d {
            Detected::Candidate(c) => {
                let (draft, evidence, tile) = self.detection(&c);
                vec![Report {
                    draft,
                    evidence,
                    tile,
                    candidate: Some(c),
                }]
            }
            Detected::Summary(s) => vec![Report {
                draft: self.summary(&s),
                evidence: None,
                tile: None,
                candidate: None,
            }],
        }
    }
}
