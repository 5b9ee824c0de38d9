//! The detector stage: the sans-IO [`Analyzer`] over a stream of IQ windows, keeping the
//! recent IQ so each candidate leaves with its evidence, plus periodic TF summaries.

use std::collections::VecDeque;
use std::sync::Arc;

use super::source::IqWindow;
use crate::dsp::Complex32;
use crate::dsp::analyzer::{Analyzer, RowStats, TfBox};
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

/// The detector stage core.
pub struct Detector {
    rf: RfConfig,
    analyzer: Analyzer,
    /// Recent samples and the stream index of the first.
    ring: VecDeque<Complex32>,
    ring_first: u64,
    ring_cap: usize,
    stream_start_us: Option<u64>,
    /// Stream sample where the current analysis began, and the next one expected.
    analyzer_first: Option<u64>,
    next_sample: Option<u64>,
    seen: u64,
    summary_due: u64,
}

impl Detector {
    /// A detector for `rf`.
    pub fn new(rf: &RfConfig) -> Self {
        let fs = rf.sample_rate_hz;
        let keep_s = (rf.iq_max_ms + 2 * rf.iq_margin_ms) as f64 / 1e3 + 0.5;
        Self {
            analyzer: Analyzer::new(&rf.analyzer, fs),
            ring: VecDeque::new(),
            ring_first: 0,
            ring_cap: (keep_s * fs) as usize,
            stream_start_us: None,
            analyzer_first: None,
            next_sample: None,
            seen: 0,
            summary_due: (rf.tf_every_ms as f64 * fs / 1e3) as u64,
            rf: rf.clone(),
        }
    }

    fn candidates(&self, boxes: Vec<TfBox>) -> Vec<Detected> {
        let fs = self.rf.sample_rate_hz;
        // The analyzer counts from its own first sample; candidates speak stream time.
        let base_s = self.analyzer_first.unwrap_or(0) as f64 / fs;
        let margin = self.rf.iq_margin_ms as f64 / 1e3;
        let max = self.rf.iq_max_ms as f64 / 1e3;
        boxes
            .into_iter()
            .map(|mut b| {
                b.start_s += base_s;
                b.stop_s += base_s;
                let from_s = (b.start_s - margin).max(0.0);
                let to_s = (b.stop_s + margin).min(from_s + max);
                let ring_end = self.ring_first + self.ring.len() as u64;
                let a = ((from_s * fs) as u64).clamp(self.ring_first, ring_end);
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
}

impl Detector {
    /// Reports what is still open and resets for a new stream.
    fn end_stream(&mut self) -> Vec<Detected> {
        let rest = self.analyzer.finish();
        let out = self.candidates(rest);
        self.analyzer = Analyzer::new(&self.rf.analyzer, self.rf.sample_rate_hz);
        self.analyzer_first = None;
        self.next_sample = None;
        out
    }
}

impl Stage for Detector {
    type In = IqWindow;
    type Out = Detected;

    fn on_input(&mut self, w: IqWindow, now_us: u64) -> Vec<Detected> {
        let mut out = Vec::new();
        if self.analyzer_first.is_some() && self.next_sample != Some(w.first_sample) {
            // A gap (overrun, lost frames, a restarted source): what is open ends here and
            // a new analysis starts at this window.
            out.extend(self.end_stream());
        }
        if self.analyzer_first.is_none() {
            self.analyzer_first = Some(w.first_sample);
            self.ring.clear();
            self.ring_first = w.first_sample;
        }
        self.stream_start_us = Some(w.stream_start_us);
        self.next_sample = Some(w.first_sample + w.samples.len() as u64);
        self.ring.extend(w.samples.iter());
        while self.ring.len() > self.ring_cap {
            self.ring.pop_front();
            self.ring_first += 1;
        }
        let boxes = self.analyzer.push(&w.samples);
        out.extend(self.candidates(boxes));
        if w.last {
            out.extend(self.end_stream());
        }
        self.seen += w.samples.len() as u64;
        if self.seen >= self.summary_due {
            let duration_s = self.seen as f64 / self.rf.sample_rate_hz;
            self.seen = 0;
            out.push(Detected::Summary(TfSummary {
                ts_us: now_us,
                duration_s,
                stats: self.analyzer.take_stats(),
                noise_floor_db: self.analyzer.noise_floor_db(),
            }));
        }
        out
    }

    fn on_stop(&mut self, _now_us: u64) -> Vec<Detected> {
        self.end_stream()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::sim::{EmitterSpec, SimConfig, WaveformParams, simulate};

    /// A detector that joins a stream late (or restarts) still speaks stream time and cuts
    /// the right IQ for its candidates.
    #[test]
    fn candidates_carry_stream_time_and_their_iq_when_joining_late() {
        let fs = 600e3;
        let rf = RfConfig {
            sample_rate_hz: fs,
            ..RfConfig::default()
        };
        let tone = EmitterSpec {
            start_s: 0.3,
            duration_s: 0.2,
            center_hz: 50e3,
            bandwidth_hz: 0.0,
            snr_db: 20.0,
            params: WaveformParams::Cw,
            channel: Default::default(),
        };
        let rec = simulate(&SimConfig {
            sample_rate_hz: fs,
            duration_s: 1.0,
            seed: 3,
            emitters: vec![tone],
            ..SimConfig::default()
        });
        let mut d = Detector::new(&rf);
        let first = (100.0 * fs) as u64; // joins 100 s into the stream
        let mut out = Vec::new();
        let chunks: Vec<_> = rec.samples.chunks(16_384).collect();
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
        let cands: Vec<_> = out
            .iter()
            .filter_map(|o| {
                if let Detected::Candidate(c) = o {
                    Some(c)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(cands.len(), 1, "{cands:#?}");
        let c = &cands[0];
        assert!(
            (c.tfbox.start_s - 100.3).abs() < 0.01,
            "stream time: {}",
            c.tfbox.start_s
        );
        assert!(!c.iq.is_empty() && c.iq_start_s <= c.tfbox.start_s && c.iq_start_s > 100.2);
    }
}
