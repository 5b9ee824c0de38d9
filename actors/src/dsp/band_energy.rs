//! Constrained-mode band-energy detector: the cheap path a kbps island node runs, watching a
//! few configured bands and emitting a 12-byte alert when a band's energy changes.
//!
//! Method: a coarse FFT (default 256 points, Hann, non-overlapping blocks) whose bin powers
//! are averaged over a frame and summed per band. Goertzel costs ~N multiply-adds per bin
//! and a band of B Hz needs about B·N/fs bins, so it only wins for a handful of 1-bin bands;
//! one N-point FFT covers every band of any width for ~N·log₂N, and its cost does not grow
//! with the number or width of bands.
//!
//! Alert semantics: a band *opens* after `min_frames` consecutive frames at least `rise_db`
//! above its baseline and *closes* after `min_frames` consecutive frames below
//! `rise_db − fall_db`. Each event yields one alert when it closes, with its duration (≥ 1
//! ms); with `onset_alerts` it also yields one when it opens, with `duration_ms == 0`. Both
//! carry `ts_us` = the start of the event's first frame above the threshold. The baseline
//! (an EMA of the band level in dB) is frozen while a band is pending or open.

use std::sync::Arc;

use rustfft::{Fft, FftPlanner};
use serde::{Deserialize, Serialize};

use super::Complex32;
use super::band_alert::BandAlert;
use super::stft::WindowKind;

/// Most bands one detector watches.
pub const MAX_BANDS: usize = 64;

/// One watched band: baseband offsets from the centre frequency, Hz.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Identifier carried by the alerts.
    pub id: u16,
    /// Lower edge, Hz (baseband).
    pub lo_hz: f64,
    /// Upper edge, Hz (baseband).
    pub hi_hz: f64,
}

/// Band-energy detector settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BandEnergyConfig {
    /// Watched bands (1..=64, unique ids).
    pub bands: Vec<Band>,
    /// Points of the coarse FFT (a power of two in 16..=4096).
    pub fft_size: usize,
    /// Samples per decision frame (a multiple of `fft_size`): the block powers are averaged.
    pub frame_samples: usize,
    /// Weight of a new frame in the baseline EMA (dB), in (0, 1]: slow, e.g. 0.002.
    pub baseline_alpha: f32,
    /// Frames before any band can open: the baseline is a running mean over them.
    pub warmup_frames: u32,
    /// Level above the baseline that opens an event, dB.
    pub rise_db: f32,
    /// Hysteresis: an open band closes below `rise_db − fall_db` over the baseline, dB.
    pub fall_db: f32,
    /// Consecutive frames needed to open and to close an event (debounce).
    pub min_frames: u32,
    /// Also report an alert when an event opens (`duration_ms == 0`).
    pub onset_alerts: bool,
}

impl Default for BandEnergyConfig {
    fn default() -> Self {
        Self {
            bands: Vec::new(),
            fft_size: 256,
            frame_samples: 2560,
            baseline_alpha: 0.002,
            warmup_frames: 100,
            rise_db: 6.0,
            fall_db: 3.0,
            min_frames: 3,
            onset_alerts: false,
        }
    }
}

impl BandEnergyConfig {
    /// Problems with these settings at `sample_rate_hz`, as `(key, message)` pairs.
    pub fn problems(&self, sample_rate_hz: f64) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let half = sample_rate_hz / 2.0;
        for (i, b) in self.bands.iter().enumerate() {
            // NaN-safe: an edge that is not a number is not `Less`.
            if b.lo_hz.partial_cmp(&b.hi_hz) != Some(std::cmp::Ordering::Less) {
                out.push(("bands", format!("band {}: lo_hz must be below hi_hz", b.id)));
            } else if b.lo_hz < -half || b.hi_hz > half {
                out.push(("bands", format!("band {}: must lie inside ±fs/2", b.id)));
            }
            if self.bands[..i].iter().any(|o| o.id == b.id) {
                out.push(("bands", format!("band id {} is repeated", b.id)));
            }
        }
        let (nfft, frame, alpha) = (self.fft_size, self.frame_samples, self.baseline_alpha);
        let fs_ok = sample_rate_hz.is_finite() && half > 0.0;
        let count_ok = (1..=MAX_BANDS).contains(&self.bands.len());
        let nfft_ok = nfft.is_power_of_two() && (16..=4096).contains(&nfft);
        let frame_ok = frame > 0 && frame % nfft.max(1) == 0;
        let alpha_ok = alpha > 0.0 && alpha <= 1.0;
        let rise_ok = self.rise_db.is_finite() && self.rise_db > 0.0;
        let fall_ok = self.fall_db >= 0.0 && self.fall_db < self.rise_db;
        let checks = [
            (fs_ok, "sample_rate_hz", "must be positive and finite"),
            (count_ok, "bands", "need 1..=64 bands"),
            (nfft_ok, "fft_size", "must be a power of two in 16..=4096"),
            (frame_ok, "frame_samples", "a positive multiple of fft_size"),
            (alpha_ok, "baseline_alpha", "must be in (0, 1]"),
            (rise_ok, "rise_db", "must be positive"),
            (fall_ok, "fall_db", "must be in [0, rise_db)"),
            (self.min_frames > 0, "min_frames", "must be at least 1"),
        ];
        let failed = checks.into_iter().filter(|c| !c.0);
        out.extend(failed.map(|(_, key, msg)| (key, msg.to_string())));
        out
    }
}

struct BandState {
    id: u16,
    /// Shifted bins `lo..hi`.
    bins: (usize, usize),
    baseline_db: f32,
    /// An event is open.
    open: bool,
    /// Consecutive frames over `rise_db` while closed, under the close level while open.
    run: u32,
    /// First frame of the (candidate) event, and its peak over the baseline, dB.
    first: u64,
    peak: f32,
}

/// The band-energy core: samples and time in, alerts out.
pub struct BandEnergyDetector {
    cfg: BandEnergyConfig,
    sample_rate: f64,
    nfft: usize,
    blocks_per_frame: u32,
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// Block being filled (`fill` samples so far), then transformed in place.
    buf: Vec<Complex32>,
    fill: usize,
    scratch: Vec<Complex32>,
    /// fft-shifted bin power summed over the frame's blocks so far.
    acc: Vec<f32>,
    blocks: u32,
    /// Power normalisation: window energy, nfft and blocks per frame.
    scale: f32,
    bands: Vec<BandState>,
    frames: u64,
    /// Samples consumed so far, and the sample index `anchor_us` refers to.
    samples: u64,
    anchor: (u64, u64),
}

impl BandEnergyDetector {
    /// A detector for IQ at `sample_rate_hz`. Settings are clamped into range; check
    /// [`BandEnergyConfig::problems`] first.
    pub fn new(cfg: &BandEnergyConfig, sample_rate_hz: f64) -> Self {
        let nfft = cfg.fft_size.clamp(16, 4096);
        let blocks_per_frame = (cfg.frame_samples / nfft).clamp(1, u32::MAX as usize) as u32;
        let fft = FftPlanner::<f32>::new().plan_fft_forward(nfft);
        let window = WindowKind::Hann.coefficients(nfft);
        let energy: f32 = window.iter().map(|w| w * w).sum();
        let df = sample_rate_hz / nfft as f64;
        let half = (nfft / 2) as f64;
        let bands = cfg
            .bands
            .iter()
            .take(MAX_BANDS)
            .map(|b| {
                // Bins whose centre lies in the band; the nearest one if the band is narrower.
                let lo = (b.lo_hz / df + half).ceil().clamp(0.0, nfft as f64 - 1.0) as usize;
                let hi = (b.hi_hz / df + half).floor().clamp(0.0, nfft as f64 - 1.0) as usize;
                let bins = if lo <= hi {
                    (lo, hi + 1)
                } else {
                    let c = ((b.lo_hz + b.hi_hz) / 2.0 / df + half).round();
                    let c = c.clamp(0.0, nfft as f64 - 1.0) as usize;
                    (c, c + 1)
                };
                BandState {
                    id: b.id,
                    bins,
                    baseline_db: 0.0,
                    open: false,
                    run: 0,
                    first: 0,
                    peak: 0.0,
                }
            })
            .collect();
        Self {
            cfg: cfg.clone(),
            sample_rate: sample_rate_hz,
            nfft,
            blocks_per_frame,
            scratch: vec![Complex32::default(); fft.get_inplace_scratch_len()],
            fft,
            window,
            buf: vec![Complex32::default(); nfft],
            fill: 0,
            acc: vec![0.0; nfft],
            blocks: 0,
            scale: 1.0 / (energy.max(f32::MIN_POSITIVE) * blocks_per_frame as f32),
            bands,
            frames: 0,
            samples: 0,
            anchor: (0, 0),
        }
    }

    /// Samples per decision frame.
    pub fn frame_samples(&self) -> usize {
        self.nfft * self.blocks_per_frame as usize
    }

    /// Frames completed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Current baseline of band `id`, dB (power in the band relative to full scale).
    pub fn baseline_db(&self, id: u16) -> Option<f32> {
        self.bands
            .iter()
            .find(|b| b.id == id)
            .map(|b| b.baseline_db)
    }

    /// Feeds samples whose first one was taken at `now_us`; returns the alerts of the
    /// frames they completed.
    pub fn push(&mut self, samples: &[Complex32], now_us: u64) -> Vec<BandAlert> {
        self.anchor = (self.samples, now_us);
        let mut out = Vec::new();
        let mut input = samples;
        while !input.is_empty() {
            let take = (self.nfft - self.fill).min(input.len());
            self.buf[self.fill..self.fill + take].copy_from_slice(&input[..take]);
            self.fill += take;
            self.samples += take as u64;
            input = &input[take..];
            if self.fill == self.nfft {
                self.fill = 0;
                self.block();
                if self.blocks == self.blocks_per_frame {
                    self.blocks = 0;
                    self.frame(&mut out);
                }
            }
        }
        out
    }

    /// End of input: closes every open event (ending at the last complete frame, or where
    /// its closing run of low frames began).
    pub fn finish(&mut self) -> Vec<BandAlert> {
        let mut out = Vec::new();
        for i in 0..self.bands.len() {
            let b = &mut self.bands[i];
            if b.open {
                b.open = false;
                let dur = self.frames - u64::from(b.run) - b.first;
                b.run = 0;
                out.push(self.alert(i, dur.max(1)));
            }
        }
        out
    }

    fn block(&mut self) {
        for (b, w) in self.buf.iter_mut().zip(&self.window) {
            *b *= *w;
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let half = self.nfft / 2;
        let (neg, pos) = self.acc.split_at_mut(self.nfft - half);
        for (a, c) in neg.iter_mut().zip(&self.buf[half..]) {
            *a += c.norm_sqr();
        }
        for (a, c) in pos.iter_mut().zip(&self.buf[..half]) {
            *a += c.norm_sqr();
        }
        self.blocks += 1;
    }

    fn frame(&mut self, out: &mut Vec<BandAlert>) {
        let k = self.frames;
        self.frames += 1;
        let cfg = &self.cfg;
        let warm = k >= u64::from(cfg.warmup_frames);
        let close_db = cfg.rise_db - cfg.fall_db;
        for i in 0..self.bands.len() {
            let b = &mut self.bands[i];
            let p: f32 = self.acc[b.bins.0..b.bins.1].iter().sum::<f32>() * self.scale;
            let level = 10.0 * p.max(1e-30).log10();
            let excess = level - b.baseline_db;
            // Duration in frames of an alert to report (0: an onset).
            let mut emit = None;
            if !b.open && warm && excess >= cfg.rise_db {
                if b.run == 0 {
                    (b.first, b.peak) = (k, excess);
                }
                b.run += 1;
                b.peak = b.peak.max(excess);
                if b.run >= cfg.min_frames {
                    (b.open, b.run) = (true, 0);
                    emit = cfg.onset_alerts.then_some(0);
                }
            } else if !b.open {
                // Idle: a running mean during warm-up, then the slow EMA.
                b.run = 0;
                let alpha = cfg.baseline_alpha.max(1.0 / (k as f32 + 1.0));
                b.baseline_db += alpha.min(1.0) * excess;
            } else {
                b.peak = b.peak.max(excess);
                b.run = if excess < close_db { b.run + 1 } else { 0 };
                if b.run >= cfg.min_frames {
                    // The event ended where the run of low frames began.
                    (b.open, b.run) = (false, 0);
                    emit = Some(k + 1 - u64::from(cfg.min_frames) - b.first);
                }
            }
            if let Some(dur) = emit {
                out.push(self.alert(i, dur));
            }
        }
        self.acc.fill(0.0);
    }

    /// The alert of band `i`'s current event, `dur_frames` long (0: an onset).
    fn alert(&self, i: usize, dur_frames: u64) -> BandAlert {
        let (b, cfg) = (&self.bands[i], &self.cfg);
        let frame_s = self.frame_samples() as f64 / self.sample_rate;
        let duration_ms = match dur_frames {
            0 => 0,
            d => ((d as f64 * frame_s * 1e3).round() as u32).max(1),
        };
        // Margin: 25 % at the threshold, full 12 dB over it; length: half at `min_frames`,
        // full at four times that.
        let frames = dur_frames.max(u64::from(cfg.min_frames)) as f32;
        let margin = ((b.peak - cfg.rise_db) / 12.0).clamp(0.0, 1.0);
        let length = (frames / (4 * cfg.min_frames.max(1)) as f32).clamp(0.0, 1.0);
        let c = 255.0 * (0.25 + 0.75 * margin) * (0.5 + 0.5 * length);
        BandAlert {
            band_id: b.id,
            delta_db: b.peak,
            duration_ms,
            confidence: c.round().clamp(0.0, 255.0) as u8,
            ts_us: self.sample_time_us(b.first * self.frame_samples() as u64),
        }
    }

    /// Time of stream sample `n`, µs, from the latest `push` anchor.
    fn sample_time_us(&self, n: u64) -> u64 {
        let (s0, t0) = self.anchor;
        let dt = (n as f64 - s0 as f64) * 1e6 / self.sample_rate;
        if dt.is_finite() {
            (t0 as f64 + dt).round().max(0.0) as u64
        } else {
            t0
        }
    }
}

#[cfg(test)]
#[path = "band_energy_tests.rs"]
mod tests;
