//! The spectral stages of the SDR pipeline, each a sans-IO core its own actor runs:
//! STFT (IQ → power rows), noise floor (power → ratio rows) and CFAR (ratio rows → hits).

use std::sync::Arc;

use super::source::IqWindow;
use crate::dsp::analyzer::AnalyzerConfig;
use crate::dsp::cfar::{Cfar, Hit};
use crate::dsp::noise::{NoiseFloor, RowBlock};
use crate::dsp::stft::Stft;
use crate::dsp::waterfall::{Waterfall, WaterfallConfig};
use crate::pipeline::Stage;
use crate::sensors::WaterfallFrame;
use tokio::sync::broadcast;

/// Rows on their way down the spectral stages, with the IQ window they completed in.
#[derive(Clone, Debug)]
pub struct SpectralBatch {
    /// Changes whenever the source's samples stop being contiguous (a gap, a restart):
    /// every stage starts its analysis afresh.
    pub epoch: u64,
    /// Stream sample of the analysis's first sample (row `r` starts at `origin + r·hop`).
    pub origin_sample: u64,
    /// The IQ window these rows completed in.
    pub window: IqWindow,
    /// Power rows (after the STFT) or ratios to the floor (after the floor).
    pub rows: RowBlock,
    /// Largest power in the rows (linear).
    pub peak: f32,
    /// The floor per bin the ratios were taken against (after the floor).
    pub floor: Option<Arc<Vec<f32>>>,
    /// Detections in the rows (after the CFAR).
    pub hits: Vec<Hit>,
    /// Cells more than 6 dB above the floor (after the CFAR; estimated).
    pub occupied: u64,
}

/// Stage 1: IQ windows → power rows (and waterfall rows for viewers). A gap in the
/// stream starts a new epoch.
pub struct SpectrumStage {
    cfg: AnalyzerConfig,
    stft: Stft,
    epoch: u64,
    origin: Option<u64>,
    next_sample: Option<u64>,
    waterfall: Option<WaterfallTap>,
}

/// Waterfall rows drawn from the power rows, sent only while someone watches.
struct WaterfallTap {
    cfg: WaterfallConfig,
    core: Waterfall,
    tx: broadcast::Sender<Arc<WaterfallFrame>>,
    sample_rate_hz: f64,
    center_freq_hz: f64,
}

impl SpectrumStage {
    /// A stage for `cfg`.
    pub fn new(cfg: &AnalyzerConfig) -> Self {
        Self {
            stft: Stft::new(&cfg.stft),
            cfg: cfg.clone(),
            epoch: 0,
            origin: None,
            next_sample: None,
            waterfall: None,
        }
    }

    /// Also draws waterfall rows of `cfg` for a sensor at `sample_rate_hz` tuned to
    /// `center_freq_hz`, sent on `tx`.
    pub fn with_waterfall(
        mut self,
        cfg: &WaterfallConfig,
        sample_rate_hz: f64,
        center_freq_hz: f64,
        tx: broadcast::Sender<Arc<WaterfallFrame>>,
    ) -> Self {
        let hop_s = self.cfg.stft.hop.max(1) as f64 / sample_rate_hz;
        self.waterfall = Some(WaterfallTap {
            core: Waterfall::new(cfg, self.stft.nfft(), hop_s),
            cfg: cfg.clone(),
            tx,
            sample_rate_hz,
            center_freq_hz,
        });
        self
    }

    fn draw(&mut self, origin: u64, rows: &RowBlock) {
        let n = self.stft.nfft();
        let hop = self.stft.hop() as f64;
        let Some(tap) = &mut self.waterfall else {
            return;
        };
        if tap.tx.receiver_count() == 0 {
            return; // nobody watches: no work
        }
        for (i, power) in rows.data.chunks_exact(n).enumerate() {
            if let Some(row) = tap.core.push(rows.first + i as u64, power) {
                let frame = WaterfallFrame {
                    row_index: row.row_index,
                    rows: row.rows,
                    time_s: (origin as f64 + row.row_index as f64 * hop) / tap.sample_rate_hz,
                    center_freq_hz: tap.center_freq_hz,
                    span_hz: tap.sample_rate_hz,
                    db_min: tap.cfg.db_min,
                    db_max: tap.cfg.db_max,
                    values: row.values,
                };
                // No receiver left is not an error: the next viewer starts afresh.
                let _ = tap.tx.send(Arc::new(frame));
            }
        }
    }
}

impl Stage for SpectrumStage {
    type In = IqWindow;
    type Out = SpectralBatch;

    fn on_input(&mut self, w: IqWindow, _now_us: u64) -> Vec<SpectralBatch> {
        if self.origin.is_some() && self.next_sample != Some(w.first_sample) {
            self.stft = Stft::new(&self.cfg.stft);
            self.epoch += 1;
            self.origin = None;
        }
        let origin = *self.origin.get_or_insert(w.first_sample);
        self.next_sample = Some(w.first_sample + w.samples.len() as u64);
        let mut data = Vec::new();
        let first = self.stft.push_rows(&w.samples, &mut data);
        let rows = RowBlock { first, data };
        self.draw(origin, &rows);
        let epoch = self.epoch;
        if w.last {
            // The next window, if any, is a new stream.
            self.origin = None;
            self.next_sample = None;
            self.stft = Stft::new(&self.cfg.stft);
            self.epoch += 1;
        }
        vec![SpectralBatch {
            epoch,
            origin_sample: origin,
            window: w,
            rows,
            peak: self.stft.take_peak(),
            floor: None,
            hits: Vec::new(),
            occupied: 0,
        }]
    }
}

/// Stage 2: power rows → ratios to a tracked per-bin floor (rows wait out the warm-up).
pub struct FloorStage {
    cfg: AnalyzerConfig,
    nbins: usize,
    floor: NoiseFloor,
    epoch: Option<u64>,
    /// The floor as last handed on, and the version it copies.
    published: Option<(u64, Arc<Vec<f32>>)>,
}

impl FloorStage {
    /// A stage for `cfg`.
    pub fn new(cfg: &AnalyzerConfig) -> Self {
        let nbins = cfg.stft.nfft.max(2);
        Self {
            floor: NoiseFloor::new(nbins, cfg.noise.clone()),
            cfg: cfg.clone(),
            nbins,
            epoch: None,
            published: None,
        }
    }
}

impl Stage for FloorStage {
    type In = SpectralBatch;
    type Out = SpectralBatch;

    fn on_input(&mut self, mut b: SpectralBatch, _now_us: u64) -> Vec<SpectralBatch> {
        if self.epoch != Some(b.epoch) {
            self.floor = NoiseFloor::new(self.nbins, self.cfg.noise.clone());
            self.epoch = Some(b.epoch);
            self.published = None;
        }
        let power = std::mem::take(&mut b.rows);
        let mut rows = self.floor.push(power.first, power.data).unwrap_or_default();
        if b.window.last {
            if let Some(rest) = self.floor.finish() {
                rows = rest;
            }
            self.epoch = None;
        }
        b.rows = rows;
        // Copied only when it changed (every refresh, not every batch).
        let version = self.floor.version();
        let floor = match &self.published {
            Some((v, f)) if *v == version => f.clone(),
            _ => {
                let f = Arc::new(self.floor.floor().to_vec());
                self.published = Some((version, f.clone()));
                f
            }
        };
        b.floor = Some(floor);
        vec![b]
    }
}

/// Stage 3: ratio rows → CFAR hits at every scale.
pub struct DetectStage {
    cfg: AnalyzerConfig,
    cfar: Cfar,
    epoch: Option<u64>,
}

impl DetectStage {
    /// A stage for `cfg`.
    pub fn new(cfg: &AnalyzerConfig) -> Self {
        Self {
            cfar: Cfar::new(cfg.stft.nfft.max(2), &cfg.cfar),
            cfg: cfg.clone(),
            epoch: None,
        }
    }
}

impl Stage for DetectStage {
    type In = SpectralBatch;
    type Out = SpectralBatch;

    fn on_input(&mut self, mut b: SpectralBatch, _now_us: u64) -> Vec<SpectralBatch> {
        if self.epoch != Some(b.epoch) {
            self.cfar = Cfar::new(self.cfg.stft.nfft.max(2), &self.cfg.cfar);
            self.epoch = Some(b.epoch);
        }
        self.cfar.push(b.rows.first, &b.rows.data, &mut b.hits);
        b.occupied = self.cfar.take_occupied() as u64;
        if b.window.last {
            self.epoch = None;
        }
        vec![b]
    }
}
