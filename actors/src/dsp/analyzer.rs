//! The edge pipeline's detection path as one sans-IO core — STFT, noise floor, multi-scale
//! CFAR, grouping — turning IQ samples into time-frequency boxes in seconds and hertz.

use serde::{Deserialize, Serialize};

use super::Complex32;
use super::cfar::{Cfar, CfarConfig, Hit};
use super::group::{GroupConfig, Grouper, RawBox};
use super::noise::{NoiseFloor, NoiseFloorConfig, RowBlock};
use super::stft::{Stft, StftConfig};

/// Settings of the whole detection path.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyzerConfig {
    /// STFT.
    pub stft: StftConfig,
    /// Noise floor.
    pub noise: NoiseFloorConfig,
    /// Detector.
    pub cfar: CfarConfig,
    /// Grouping.
    pub group: GroupConfig,
}

impl AnalyzerConfig {
    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        out.extend(
            self.stft
                .problems()
                .into_iter()
                .map(|(k, m)| (format!("stft.{k}"), m)),
        );
        out.extend(
            self.cfar
                .problems()
                .into_iter()
                .map(|(k, m)| (format!("cfar.{k}"), m)),
        );
        out
    }
}

/// A detected emission in physical units. Frequencies are baseband offsets (Hz); times are
/// seconds from the first sample the analyzer saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TfBox {
    /// Start, s.
    pub start_s: f64,
    /// Stop, s.
    pub stop_s: f64,
    /// Lower band edge, Hz (baseband).
    pub freq_lo_hz: f64,
    /// Upper band edge, Hz (baseband).
    pub freq_hi_hz: f64,
    /// Peak power, dB (full scale, per bin).
    pub peak_db: f32,
    /// Mean power over the box, dB (per bin).
    pub mean_db: f32,
    /// Estimated in-band SNR, dB.
    pub snr_db: f32,
    /// Noise floor in the band, dB per bin.
    pub noise_floor_db: f32,
    /// First STFT row of the box.
    pub row_start: u64,
    /// Last STFT row of the box.
    pub row_stop: u64,
    /// First bin (fft-shifted).
    pub bin_lo: u32,
    /// One past the last bin.
    pub bin_hi: u32,
    /// Fragments merged into it.
    pub fragments: u32,
}

impl TfBox {
    /// A box with only its extent set (tests, boxes made by hand).
    pub fn spanning(start_s: f64, stop_s: f64, freq_lo_hz: f64, freq_hi_hz: f64) -> Self {
        TfBox {
            start_s,
            stop_s,
            freq_lo_hz,
            freq_hi_hz,
            peak_db: 0.0,
            mean_db: 0.0,
            snr_db: 0.0,
            noise_floor_db: 0.0,
            row_start: 0,
            row_stop: 0,
            bin_lo: 0,
            bin_hi: 0,
            fragments: 1,
        }
    }
}

/// What the analyzer produced for one pushed block, besides boxes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RowStats {
    /// Rows produced.
    pub rows: u64,
    /// Share of (row, bin) cells with a single-row ratio above 4 (6 dB).
    pub occupancy: f32,
    /// Peak power over the rows, dB.
    pub peak_db: f32,
}

/// STFT → noise floor → CFAR → grouping.
pub struct Analyzer {
    sample_rate: f64,
    stft: Stft,
    floor: NoiseFloor,
    cfar: Cfar,
    grouper: Grouper,
    hits: Vec<Hit>,
    /// A row buffer handed round the stages and back, so batches do not allocate.
    spare: Vec<f32>,
    rows: u64,
    occupied: u64,
    cells: u64,
    peak: f32,
}

impl Analyzer {
    /// An analyzer for IQ at `sample_rate` Hz.
    pub fn new(cfg: &AnalyzerConfig, sample_rate: f64) -> Self {
        let stft = Stft::new(&cfg.stft);
        let n = stft.nfft();
        Self {
            sample_rate,
            floor: NoiseFloor::new(n, cfg.noise.clone()),
            cfar: Cfar::new(n, &cfg.cfar),
            grouper: Grouper::new(n, cfg.group.clone()),
            stft,
            hits: Vec::new(),
            spare: Vec::new(),
            rows: 0,
            occupied: 0,
            cells: 0,
            peak: 0.0,
        }
    }

    /// FFT size.
    pub fn nfft(&self) -> usize {
        self.stft.nfft()
    }

    /// Hop.
    pub fn hop(&self) -> usize {
        self.stft.hop()
    }

    /// Median noise floor over all bins, dB per bin.
    pub fn noise_floor_db(&self) -> f32 {
        db(self.floor.overall())
    }

    /// Feeds samples; returns the boxes that closed.
    pub fn push(&mut self, samples: &[Complex32]) -> Vec<TfBox> {
        let mut rows = std::mem::take(&mut self.spare);
        let first = self.stft.push_rows(samples, &mut rows);
        let n = self.nfft();
        self.rows += (rows.len() / n) as u64;
        self.cells += rows.len() as u64;
        self.peak = self.peak.max(self.stft.take_peak());
        if let Some(block) = self.floor.push(first, rows) {
            self.detect(block);
        }
        let now = self.stft.frames();
        let raw = self.grouper.flush(now, false);
        self.to_boxes(raw)
    }

    /// End of input: closes every open box.
    pub fn finish(&mut self) -> Vec<TfBox> {
        if let Some(block) = self.floor.finish() {
            self.detect(block);
        }
        let raw = self.grouper.flush(self.stft.frames(), true);
        self.to_boxes(raw)
    }

    /// CFAR and grouping over normalised rows.
    fn detect(&mut self, block: RowBlock) {
        self.hits.clear();
        self.cfar.push(block.first, &block.data, &mut self.hits);
        self.occupied += self.cfar.take_occupied() as u64;
        self.grouper.push_block(block, &self.hits);
        if let Some(spare) = self.grouper.take_spent() {
            self.spare = spare;
        }
    }

    /// Statistics since the last call.
    pub fn take_stats(&mut self) -> RowStats {
        let s = RowStats {
            rows: self.rows,
            occupancy: self.occupied as f32 / self.cells.max(1) as f32,
            peak_db: db(self.peak),
        };
        self.rows = 0;
        self.occupied = 0;
        self.cells = 0;
        self.peak = 0.0;
        s
    }

    fn to_boxes(&self, raw: Vec<RawBox>) -> Vec<TfBox> {
        tf_boxes(
            raw,
            self.floor.floor(),
            self.sample_rate,
            self.nfft(),
            self.hop(),
        )
    }
}

/// Boxes in physical units: seconds from the analysis's first sample, baseband hertz, dB
/// against `floor` (linear power per bin).
pub fn tf_boxes(raw: Vec<RawBox>, floor: &[f32], fs: f64, nfft: usize, hop: usize) -> Vec<TfBox> {
    let bin_hz = fs / nfft as f64;
    let half = (nfft / 2) as f64;
    let (nfft, hop) = (nfft as f64, hop as f64);
    raw.into_iter()
        .map(|b| {
            let band = floor
                .get(b.lo as usize..(b.hi as usize).min(floor.len()))
                .unwrap_or(&[]);
            let nf = band.iter().sum::<f32>() / band.len().max(1) as f32;
            let width = b.effective_bins.max(1.5);
            TfBox {
                // Row i spans samples [i·hop, i·hop + nfft); report its central hop.
                start_s: (b.row_start as f64 * hop + (nfft - hop) / 2.0) / fs,
                stop_s: (b.row_stop as f64 * hop + (nfft + hop) / 2.0) / fs,
                freq_lo_hz: (f64::from(b.lo) - half - 0.5) * bin_hz,
                freq_hi_hz: (f64::from(b.hi) - half - 0.5) * bin_hz,
                peak_db: db(b.peak_ratio * nf),
                mean_db: db(b.mean_ratio * nf),
                snr_db: db((b.excess / width).max(1e-6)),
                noise_floor_db: db(nf),
                row_start: b.row_start,
                row_stop: b.row_stop,
                bin_lo: b.lo,
                bin_hi: b.hi,
                fragments: b.fragments,
            }
        })
        .collect()
}

/// Samples fed per step when analysing a whole recording (a source's block).
pub const RECORDING_BLOCK: usize = 1 << 16;

/// Runs the detection path over a whole recording, block by block as a source would feed
/// it; boxes in recording time, baseband frequencies.
pub fn analyze_recording(cfg: &AnalyzerConfig, rec: &super::IqRecording) -> Vec<TfBox> {
    let mut analyzer = Analyzer::new(cfg, rec.sample_rate_hz);
    let mut boxes = Vec::new();
    for block in rec.samples.chunks(RECORDING_BLOCK) {
        boxes.extend(analyzer.push(block));
    }
    boxes.extend(analyzer.finish());
    boxes
}

/// 10·log10, floored at −300 dB.
pub fn db(linear: f32) -> f32 {
    10.0 * linear.max(1e-30).log10()
}

#[cfg(test)]
#[path = "analyzer_tests.rs"]
mod tests;

/// The detector's false-alarm rate per scale, measured on real STFT rows of cs16 noise
/// (with a strong tone present), against its design: the Hann correlation model holds.
#[cfg(test)]
mod calibration {
    use super::*;
    use crate::dsp::cfar::{Cfar, CfarConfig};

    #[test]
    fn false_alarm_rate_per_scale_matches_the_design() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let fs = 2.4e6;
        let secs = 5.0;
        let sigma = (1e-4f64 / 2.0).sqrt();
        let x: Vec<Complex32> = (0..(fs * secs) as usize)
            .map(|_| {
                let mut g = || {
                    let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
                };
                Complex32::new((sigma * g()) as f32, (sigma * g()) as f32)
            })
            .collect();
        let amp = (10.0 * 1e-4 * 1.5 / 4096.0f64).sqrt();
        let x: Vec<Complex32> = x
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ph = std::f64::consts::TAU * 300e3 * i as f64 / fs;
                c + Complex32::new((amp * ph.cos()) as f32, (amp * ph.sin()) as f32)
            })
            .collect();
        let x = crate::dsp::cs16_to_cf32(&crate::dsp::cf32_to_cs16(&x));
        let cfg = AnalyzerConfig::default();
        let mut stft = Stft::new(&cfg.stft);
        let mut floor = NoiseFloor::new(4096, cfg.noise.clone());
        let pfa = 1e-5;
        let mut cfar = Cfar::new(
            4096,
            &CfarConfig {
                pfa,
                ..CfarConfig::default()
            },
        );
        let mut rows = Vec::new();
        let first = stft.push_rows(&x, &mut rows);
        let block = floor.push(first, rows).expect("5 s is past the warm-up");
        let mut hits = Vec::new();
        cfar.push(block.first, &block.data, &mut hits);
        let mut per_scale = std::collections::BTreeMap::new();
        for h in hits.iter().filter(|h| h.hi < 2500 || h.lo > 2600) {
            *per_scale.entry((h.rows, h.hi - h.lo)).or_insert(0) += 1;
        }
        let rows = stft.frames() as f64;
        for ((r, b), n) in &per_scale {
            let windows = if *b == 1 {
                4096.0
            } else {
                ((4096 - b) / (b / 2).max(1) + 1) as f64
            };
            // Windows overlap by half in time: a scale of r rows is tested every r/2 rows.
            let evals = if *r == 1 {
                rows
            } else {
                (rows / f64::from(r / 2)).floor() - 1.0
            };
            let expected = evals * windows * pfa;
            let ratio = *n as f64 / expected;
            if expected >= 3.0 {
                assert!(
                    ratio < 2.0,
                    "scale ({r},{b}): {n} hits where {expected:.1} were expected"
                );
            }
        }
        assert!(
            per_scale.keys().any(|(r, b)| *r == 1 && *b == 1),
            "the probe is sensitive enough to see false alarms"
        );
    }
}
