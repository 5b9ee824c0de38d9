//! The grouping stage: CFAR hits into time-frequency boxes, candidates with the IQ around
//! them, and periodic TF summaries — the last of the spectral stages.

use std::collections::VecDeque;
use std::sync::Arc;

use super::spectral::SpectralBatch;
use crate::dsp::Complex32;
use crate::dsp::analyzer::{RowStats, TfBox, db, tf_boxes};
use crate::dsp::group::{Grouper, RawBox};
use crate::pipeline::Stage;
use crate::sensors::config::RfConfig;

/// A detected emission with the IQ around it.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The box; times are seconds since the stream started.
    pub tfbox: TfBox,
    /// Time of the stream's first sample, µs since the Unix epoch.
    pub stream_start_us: u64,
    /// IQ around the box.
    pub iq: Arc<Vec<Complex32>>,
    /// Seconds since the stream started of `iq[0]`.
    pub iq_start_s: f64,
}

/// A time-frequency summary of the last period.
#[derive(Clone, Debug)]
pub struct TfSummary {
    /// End of the period, µs since the Unix epoch.
    pub ts_us: u64,
    /// Duration covered, s.
    pub duration_s: f64,
    /// Rows and occupancy.
    pub stats: RowStats,
    /// Noise floor, dB per bin.
    pub noise_floor_db: f32,
}

/// What the detector hands on.
#[derive(Clone, Debug)]
pub enum Detected {
    /// A candidate.
    Candidate(Box<Candidate>),
    /// A periodic summary.
    Summary(TfSummary),
}

/// Stage 4: hits → time-frequency boxes → candidates with their IQ, plus periodic
/// summaries. Keeps the recent IQ so each candidate leaves with its evidence.
pub struct GroupStage {
    rf: RfConfig,
    grouper: Grouper,
    floor: Arc<Vec<f32>>,
    /// Recent samples and the stream index of the first.
    ring: VecDeque<Complex32>,
    ring_first: u64,
    ring_cap: usize,
    stream_start_us: Option<u64>,
    epoch: Option<u64>,
    /// Stream sample where the current analysis began.
    origin: u64,
    seen: u64,
    summary_due: u64,
    stats: RowStats,
    cells: u64,
    occupied: u64,
}

impl GroupStage {
    /// A stage for `rf`.
    pub fn new(rf: &RfConfig) -> Self {
        let fs = rf.sample_rate_hz;
        let keep_s = (rf.iq_max_ms + 2 * rf.iq_margin_ms) as f64 / 1e3 + 0.5;
        Self {
            grouper: Grouper::new(rf.analyzer.stft.nfft.max(2), rf.analyzer.group.clone()),
            floor: Arc::new(Vec::new()),
            ring: VecDeque::new(),
            ring_first: 0,
            ring_cap: (keep_s * fs) as usize,
            stream_start_us: None,
            epoch: None,
            origin: 0,
            seen: 0,
            summary_due: (rf.tf_every_ms as f64 * fs / 1e3) as u64,
            stats: RowStats::default(),
            cells: 0,
            occupied: 0,
            rf: rf.clone(),
        }
    }

    fn candidates(&self, raw: Vec<RawBox>) -> Vec<Detected> {
        let fs = self.rf.sample_rate_hz;
        let cfg = &self.rf.analyzer.stft;
        let boxes = tf_boxes(raw, &self.floor, fs, cfg.nfft.max(2), cfg.hop.max(1));
        // The analysis counts from its own first sample; candidates speak stream time.
        let base_s = self.origin as f64 / fs;
        let margin = self.rf.iq_margin_ms as f64 / 1e3;
        let max = self.rf.iq_max_ms as f64 / 1e3;
        boxes
            .into_iter()
            .map(|mut b| {
                b.start_s += base_s;
                b.stop_s += base_s;
                let from_s = (b.start_s - margin).max(0.0);
                let ring_end = self.ring_first + self.ring.len() as u64;
                let a = ((from_s * fs) as u64).clamp(self.ring_first, ring_end);
                // An emission longer than the ring began before it: its IQ starts at the
                // oldest sample held, still at most `iq_max_ms` of it.
                let to_s = (b.stop_s + margin).min(a as f64 / fs + max);
                let z = ((to_s * fs) as u64).clamp(a, ring_end);
                let iq: Vec<Complex32> = self
                    .ring
                    .range((a - self.ring_first) as usize..(z - self.ring_first) as usize)
                    .copied()
                    .collect();
                Detected::Candidate(Box::new(Candidate {
                    tfbox: b,
                    stream_start_us: self.stream_start_us.unwrap_or(0),
                    iq: Arc::new(iq),
                    iq_start_s: a as f64 / fs,
                }))
            })
            .collect()
    }

    /// Closes every open box of the current analysis.
    fn end_analysis(&mut self) -> Vec<Detected> {
        let raw = self.grouper.flush(u64::MAX, true);
        let out = self.candidates(raw);
        self.grouper = Grouper::new(self.grouper.nbins(), self.rf.analyzer.group.clone());
        self.epoch = None;
        out
    }

    fn summary(&mut self, now_us: u64) -> Detected {
        let duration_s = self.seen as f64 / self.rf.sample_rate_hz;
        self.seen = 0;
        let mut stats = std::mem::take(&mut self.stats);
        stats.occupancy = self.occupied as f32 / self.cells.max(1) as f32;
        (self.occupied, self.cells) = (0, 0);
        let mut floor: Vec<f32> = self.floor.to_vec();
        let noise_floor_db = if floor.is_empty() {
            0.0
        } else {
            let mid = floor.len() / 2;
            db(*floor.select_nth_unstable_by(mid, f32::total_cmp).1)
        };
        Detected::Summary(TfSummary {
            ts_us: now_us,
            duration_s,
            stats,
            noise_floor_db,
        })
    }
}

impl Stage for GroupStage {
    type In = SpectralBatch;
    type Out = Detected;

    fn on_input(&mut self, b: SpectralBatch, now_us: u64) -> Vec<Detected> {
        let mut out = Vec::new();
        if self.epoch.is_some_and(|e| e != b.epoch) {
            // A gap (overrun, lost frames, a restarted source): what is open ends here.
            out.extend(self.end_analysis());
        }
        let w = &b.window;
        if self.epoch.is_none() {
            self.epoch = Some(b.epoch);
            self.origin = b.origin_sample;
            self.ring.clear();
            self.ring_first = w.first_sample;
        }
        self.stream_start_us = Some(w.stream_start_us);
        self.ring.extend(w.samples.iter());
        while self.ring.len() > self.ring_cap {
            self.ring.pop_front();
            self.ring_first += 1;
        }
        if let Some(floor) = &b.floor {
            self.floor = floor.clone();
        }
        let n = self.grouper.nbins();
        let rows = (b.rows.data.len() / n.max(1)) as u64;
        self.stats.rows += rows;
        self.stats.peak_db = self.stats.peak_db.max(db(b.peak));
        self.cells += rows * n as u64;
        self.occupied += b.occupied;
        let now_row = b.rows.first + rows;
        self.grouper.push_block(b.rows, &b.hits);
        let raw = self.grouper.flush(now_row, false);
        out.extend(self.candidates(raw));
        if w.last {
            out.extend(self.end_analysis());
        }
        self.seen += b.window.samples.len() as u64;
        if self.seen >= self.summary_due {
            out.push(self.summary(now_us));
        }
        out
    }

    fn on_stop(&mut self, _now_us: u64) -> Vec<Detected> {
        self.end_analysis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::sim::{EmitterSpec, SimConfig, WaveformParams, simulate};
    use crate::sensors::rf::IqWindow;
    use crate::sensors::rf::spectral::{DetectStage, FloorStage, SpectrumStage};

    /// The four spectral stages chained, as their actors are.
    struct Chain(SpectrumStage, FloorStage, DetectStage, GroupStage);

    impl Chain {
        fn new(rf: &RfConfig) -> Self {
            let a = &rf.analyzer;
            Chain(
                SpectrumStage::new(a),
                FloorStage::new(a),
                DetectStage::new(a),
                GroupStage::new(rf),
            )
        }

        fn on_input(&mut self, w: IqWindow, now: u64) -> Vec<Detected> {
            let mut out = Vec::new();
            for b in self.0.on_input(w, now) {
                for b in self.1.on_input(b, now) {
                    for b in self.2.on_input(b, now) {
                        out.extend(self.3.on_input(b, now));
                    }
                }
            }
            out
        }
    }

    /// Candidates from one CW emitter `(start_s, duration_s, center_hz)` at 20 dB in a
    /// `secs`-second stream at 600 kHz, fed in 16 Ki-sample windows whose first sample is
    /// `first` of the stream.
    fn candidates_of(emitter: (f64, f64, f64), secs: f64, first: u64, seed: u64) -> Vec<Candidate> {
        let fs = 600e3;
        let rf = RfConfig {
            sample_rate_hz: fs,
            ..RfConfig::default()
        };
        let (start_s, duration_s, center_hz) = emitter;
        let rec = simulate(&SimConfig {
            sample_rate_hz: fs,
            duration_s: secs,
            seed,
            emitters: vec![EmitterSpec {
                start_s,
                duration_s,
                center_hz,
                bandwidth_hz: 0.0,
                snr_db: 20.0,
                params: WaveformParams::Cw,
                channel: Default::default(),
            }],
            ..SimConfig::default()
        });
        let mut d = Chain::new(&rf);
        let chunks: Vec<_> = rec.samples.chunks(16_384).collect();
        let mut out = Vec::new();
        for (i, c) in chunks.iter().enumerate() {
            out.extend(d.on_input(
                IqWindow {
                    first_sample: first + (i * 16_384) as u64,
                    stream_start_us: 1_000_000,
                    samples: Arc::new(c.to_vec()),
                    truth: Vec::new(),
                    last: i + 1 == chunks.len(),
                },
                0,
            ));
        }
        out.into_iter()
            .filter_map(|o| match o {
                Detected::Candidate(c) => Some(*c),
                _ => None,
            })
            .collect()
    }

    /// A detector that joins a stream late (or restarts) still speaks stream time and cuts
    /// the right IQ for its candidates.
    #[test]
    fn candidates_carry_stream_time_and_their_iq_when_joining_late() {
        // Joins 100 s into the stream.
        let cands = candidates_of((0.3, 0.2, 50e3), 1.0, (100.0 * 600e3) as u64, 3);
        assert_eq!(cands.len(), 1, "{cands:#?}");
        let c = &cands[0];
        assert!(
            (c.tfbox.start_s - 100.3).abs() < 0.01,
            "stream time: {}",
            c.tfbox.start_s
        );
        assert!(!c.iq.is_empty() && c.iq_start_s <= c.tfbox.start_s && c.iq_start_s > 100.2);
    }

    /// An emission longer than the IQ ring closes after its start has left the ring: its
    /// candidate still carries IQ (the oldest held, up to `iq_max_ms`) inside the box, so
    /// its features and artifact are not empty.
    #[test]
    fn a_long_emission_still_gets_iq_and_features() {
        let fs = 600e3;
        let cands = candidates_of((0.2, 2.0, -80e3), 2.6, 0, 5);
        let c = cands
            .iter()
            .find(|c| c.tfbox.stop_s - c.tfbox.start_s > 1.5)
            .expect("the carrier as one candidate");
        let held = c.iq.len() as f64 / fs;
        assert!(
            (0.2..=0.26).contains(&held),
            "{held} s of IQ (iq_max_ms is 250)"
        );
        assert!(c.iq_start_s > c.tfbox.start_s && c.iq_start_s + held < c.tfbox.stop_s);
        let local = crate::dsp::analyzer::TfBox {
            start_s: c.tfbox.start_s - c.iq_start_s,
            stop_s: c.tfbox.stop_s - c.iq_start_s,
            ..c.tfbox.clone()
        };
        let f = crate::dsp::features::features(&c.iq, fs, &local);
        let occupied = f.get("occupied_bw_hz").unwrap_or(0.0);
        assert!(occupied > 0.0 && occupied < 20e3, "occupied {occupied}");
        assert!(f.get("rssi_db").is_some_and(|v| v > -200.0));
    }
}
