//! The classifier's input: a fixed-length vector made from a candidate's IQ and box — a
//! zoomed spectrogram tile, a spectrum profile, an instantaneous-frequency histogram,
//! spectral lines of powers of the signal (in the box's band and, for the carrier of the
//! emission the box belongs to, over the whole band: `conjugate.rs`) and scale-free
//! features. Training data goes through this same code (`dataset.rs`), so training and
//! inference cannot disagree.

use std::sync::Arc;

use rustfft::{Fft, FftPlanner};

use super::conjugate::{CONJUGATE, conjugate_lines};
use super::shape::{envelope_shape, inst_freq_histogram};
use crate::dsp::Complex32;
use crate::dsp::analyzer::TfBox;
use crate::dsp::features::{band_limit, feature_names, features, mix};

/// Identifies this input layout; the model records the one it was trained on.
pub const INPUT_ID: &str = "fm-input-5";
/// Tile rows (time) and columns (frequency).
pub const TILE_T: usize = 16;
/// Tile columns.
pub const TILE_F: usize = 24;
/// Points of the averaged spectrum profile.
pub const PROFILE: usize = 32;
/// Points of the context profile: the peak spectrum over a band 32× wider than the box,
/// which tells a lone tone from one line of a comb (a pulse train's or a repeated code's).
pub const CONTEXT: usize = 48;
/// Bins of the instantaneous-frequency histogram.
pub const IF_BINS: usize = 16;
/// Spectral-line ratios: of x, x², x⁴ and of the envelope |x|².
pub const LINES: usize = 4;
/// Over the context band: duty and envelope variation (a pulse train's pulses show there,
/// not in one of its lines), then the [`LINES`] ratios (x² of BPSK collapses to a tone).
pub const CONTEXT_SCALARS: usize = 2 + LINES;
/// Scalar features.
pub const SCALARS: [&str; 16] = [
    "log_duration_s",
    "log_bandwidth_hz",
    "snr_db",
    "duty",
    "envelope_cv",
    "occupied_bw_ratio",
    "log_hops",
    "papr_db_mean",
    "papr_db_max",
    "envelope_std_ratio",
    "zcr_ratio",
    "inst_freq_std_ratio",
    "inst_freq_mean_spread",
    "sweep_mean",
    "sweep_std",
    "sweep_abs_max",
];
/// Length of the vector.
pub const INPUT_DIM: usize = TILE_T * TILE_F
    + PROFILE
    + CONTEXT
    + IF_BINS
    + LINES
    + CONTEXT_SCALARS
    + CONJUGATE
    + SCALARS.len();

/// Most samples looked at (the middle 27 ms of longer boxes at 2.4 Msps): bounds the cost
/// per candidate.
const MAX_SAMPLES: usize = 1 << 16;
/// dB range kept below the maximum in tile and profile.
const DB_RANGE: f32 = 40.0;

/// Makes model inputs; keeps FFT plans between candidates.
pub struct InputBuilder {
    planner: FftPlanner<f32>,
}

impl Default for InputBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl InputBuilder {
    /// A builder with no plans yet.
    pub fn new() -> Self {
        Self {
            planner: FftPlanner::new(),
        }
    }

    fn fft(&mut self, n: usize) -> Arc<dyn Fft<f32>> {
        self.planner.plan_fft_forward(n)
    }

    /// The input vector ([`INPUT_DIM`] finite values) of box `b`, whose times count from
    /// the same origin as `iq_start_s`, the time of `iq[0]`, at `fs` Hz.
    pub fn build(&mut self, iq: &[Complex32], iq_start_s: f64, fs: f64, b: &TfBox) -> Vec<f32> {
        let mut out = Vec::with_capacity(INPUT_DIM);
        let fs = if fs.is_finite() && fs > 0.0 { fs } else { 1.0 };
        let i0 = (((b.start_s - iq_start_s) * fs).max(0.0) as usize).min(iq.len());
        let i1 = (((b.stop_s - iq_start_s) * fs).max(0.0) as usize).clamp(i0, iq.len());
        let (mut a, mut z) = (i0, i1);
        if z - a > MAX_SAMPLES {
            a += (z - a - MAX_SAMPLES) / 2;
            z = a + MAX_SAMPLES;
        }
        let seg = &iq[a..z];
        let center = 0.5 * (b.freq_lo_hz + b.freq_hi_hz);
        let width = (b.freq_hi_hz - b.freq_lo_hz).max(3.0 * fs / 4096.0);
        let view = 1.5 * width;
        let base = mix(seg, fs, center);

        self.tile(&base, fs, view, &mut out);
        self.profile(&base, fs, view, &mut out);
        self.context(&base, fs, width, &mut out);
        let narrow = band_limit(&base, fs, 0.0, view);
        inst_freq_histogram(&narrow, fs, view, &mut out);
        self.lines(&narrow, &mut out);
        let wide = band_limit(&base, fs, 0.0, context_band(width, fs));
        let (duty, cv) = envelope_shape(&wide);
        out.extend([duty, cv]);
        self.lines(&wide, &mut out);
        conjugate_lines(
            &mut self.planner,
            iq,
            (i0, i1),
            fs,
            (center, width),
            &mut out,
        );
        scalars(seg, fs, b, width, &narrow, &mut out);
        debug_assert_eq!(out.len(), INPUT_DIM);
        out.resize(INPUT_DIM, 0.0);
        for v in &mut out {
            if !v.is_finite() {
                *v = 0.0;
            }
        }
        out
    }

    /// `TILE_T × TILE_F` dB cells over the view band, relative to the tile's maximum.
    fn tile(&mut self, x: &[Complex32], fs: f64, view: f64, out: &mut Vec<f32>) {
        let n = x.len();
        // Two FFT bins per column if time allows, at least TILE_T half-overlapped frames.
        let by_freq = (2.0 * TILE_F as f64 * fs / view).max(16.0) as usize;
        let by_time = (2 * n / (TILE_T + 1)).max(16);
        let nfft = prev_pow2(by_freq.next_power_of_two().min(by_time)).clamp(16, 8192);
        let spectra = power_spectra(&mut self.planner, x, nfft);
        let mut cells = vec![0.0f32; TILE_T * TILE_F];
        let frames = spectra.len() / nfft;
        if frames > 0 {
            for r in 0..TILE_T {
                let (f0, f1) = span(r, TILE_T, frames);
                for c in 0..TILE_F {
                    let mut acc = 0.0;
                    for f in f0..f1 {
                        acc += band_cell(&spectra[f * nfft..(f + 1) * nfft], fs, view, c, TILE_F);
                    }
                    cells[r * TILE_F + c] = acc / (f1 - f0) as f32;
                }
            }
        }
        push_db_relative(&cells, out);
    }

    /// `PROFILE` dB points of the averaged spectrum over the view band.
    fn profile(&mut self, x: &[Complex32], fs: f64, view: f64, out: &mut Vec<f32>) {
        let mean = self.summed_spectrum(x, 4.0 * PROFILE as f64 * fs / view);
        let cells: Vec<f32> = (0..PROFILE)
            .map(|c| band_cell(&mean, fs, view, c, PROFILE))
            .collect();
        push_db_relative(&cells, out);
    }

    /// `CONTEXT` dB points, each the peak of the averaged spectrum over its slice of a band
    /// of 32 box widths (at least 200 kHz, at most 0.8·fs) around the box.
    fn context(&mut self, x: &[Complex32], fs: f64, width: f64, out: &mut Vec<f32>) {
        let band = context_band(width, fs);
        let mean = self.summed_spectrum(x, 8.0 * CONTEXT as f64 * fs / band);
        let nfft = mean.len();
        let bin_hz = fs / nfft as f64;
        let cells: Vec<f32> = (0..CONTEXT)
            .map(|c| {
                let lo = -0.5 * band + band * c as f64 / CONTEXT as f64;
                let to_bin =
                    |hz: f64| (hz / bin_hz + (nfft / 2) as f64).clamp(0.0, (nfft - 1) as f64);
                let (a, z) = (
                    to_bin(lo).round() as usize,
                    to_bin(lo + band / CONTEXT as f64).round() as usize,
                );
                mean[a..z.max(a + 1)].iter().cloned().fold(0.0f32, f32::max)
            })
            .collect();
        push_db_relative(&cells, out);
    }

    /// The frames' power spectra (fft-shifted) summed, at about `want` points (a power of
    /// two in 64 ..= 16384, no longer than `x`).
    fn summed_spectrum(&mut self, x: &[Complex32], want: f64) -> Vec<f32> {
        let nfft = (want.max(64.0) as usize)
            .next_power_of_two()
            .min(prev_pow2(x.len().max(64)))
            .clamp(64, 16384);
        summed_spectra(&mut self.planner, x, nfft)
    }

    /// Peak-to-mean ratio (dB / 10) of the spectra of x, x², x⁴ and |x|² − mean.
    fn lines(&mut self, x: &[Complex32], out: &mut Vec<f32>) {
        let n = x.len().min(1 << 16);
        if n < 16 {
            out.extend([0.0; LINES]);
            return;
        }
        let start = (x.len() - n) / 2;
        let x = &x[start..start + n];
        let len = n.next_power_of_two();
        let fft = self.fft(len);
        let env_mean = x.iter().map(|c| c.norm_sqr()).sum::<f32>() / n as f32;
        let powers: [&dyn Fn(Complex32) -> Complex32; LINES] =
            [&|c| c, &|c| c * c, &|c| (c * c) * (c * c), &|c| {
                Complex32::new(c.norm_sqr() - env_mean, 0.0)
            }];
        let mut buf = vec![Complex32::default(); len];
        for f in powers {
            buf.iter_mut().for_each(|v| *v = Complex32::default());
            buf.iter_mut().zip(x).for_each(|(v, c)| *v = f(*c));
            fft.process(&mut buf);
            let p: Vec<f32> = buf.iter().map(|c| c.norm_sqr()).collect();
            let mean = p.iter().sum::<f32>() / len as f32;
            let peak = p.iter().cloned().fold(0.0f32, f32::max);
            out.push(db_ratio(peak, mean) / 10.0);
        }
    }
}

/// Power spectra (fft-shifted, Hann, hop nfft/2) of `x`; a short `x` is zero-padded.
pub(super) fn power_spectra(
    planner: &mut FftPlanner<f32>,
    x: &[Complex32],
    nfft: usize,
) -> Vec<f32> {
    let fft = planner.plan_fft_forward(nfft);
    let window: Vec<f32> = (0..nfft)
        .map(|i| {
            let p = std::f64::consts::TAU * i as f64 / nfft as f64;
            (0.5 - 0.5 * p.cos()) as f32
        })
        .collect();
    let hop = nfft / 2;
    let frames = if x.len() <= nfft {
        1
    } else {
        (x.len() - nfft) / hop + 1
    };
    let mut out = Vec::with_capacity(frames * nfft);
    let mut buf = vec![Complex32::default(); nfft];
    for f in 0..frames {
        let start = f * hop;
        for (i, v) in buf.iter_mut().enumerate() {
            *v = x
                .get(start + i)
                .map_or(Complex32::default(), |s| s * window[i]);
        }
        fft.process(&mut buf);
        let half = nfft / 2;
        out.extend(buf[half..].iter().chain(&buf[..half]).map(|c| c.norm_sqr()));
    }
    out
}

/// The frames of [`power_spectra`] summed: an averaged spectrum (Welch, unnormalised).
pub(super) fn summed_spectra(
    planner: &mut FftPlanner<f32>,
    x: &[Complex32],
    nfft: usize,
) -> Vec<f32> {
    let spectra = power_spectra(planner, x, nfft);
    let mut sum = vec![0.0f32; nfft];
    for s in spectra.chunks_exact(nfft) {
        sum.iter_mut().zip(s).for_each(|(m, v)| *m += v);
    }
    sum
}

/// The context band around a box `width` Hz wide: 32 widths, within 200 kHz … 0.8·fs.
fn context_band(width: f64, fs: f64) -> f64 {
    (32.0 * width).clamp(200e3_f64.min(0.8 * fs), 0.8 * fs)
}

/// Mean power of the fft-shifted spectrum `s` over column `c` of `cols` spanning
/// ±view/2 around 0 Hz; the nearest bin when the column holds none.
fn band_cell(s: &[f32], fs: f64, view: f64, c: usize, cols: usize) -> f32 {
    let n = s.len();
    let bin_hz = fs / n as f64;
    let lo_hz = -0.5 * view + view * c as f64 / cols as f64;
    let hi_hz = lo_hz + view / cols as f64;
    let to_bin = |hz: f64| (hz / bin_hz + (n / 2) as f64).clamp(0.0, (n - 1) as f64);
    let (a, z) = (to_bin(lo_hz).ceil() as usize, to_bin(hi_hz).ceil() as usize);
    if z > a {
        s[a..z].iter().sum::<f32>() / (z - a) as f32
    } else {
        s[to_bin(0.5 * (lo_hz + hi_hz)).round() as usize]
    }
}

/// Rows `r` of `rows` cover items `span.0..span.1` of `n` (at least one).
fn span(r: usize, rows: usize, n: usize) -> (usize, usize) {
    let a = (r * n / rows).min(n - 1);
    let z = ((r + 1) * n / rows).clamp(a + 1, n);
    (a, z)
}

/// Appends `cells` as dB below their maximum, clipped to `DB_RANGE`, scaled to [−1, 0].
fn push_db_relative(cells: &[f32], out: &mut Vec<f32>) {
    let peak = cells.iter().cloned().fold(0.0f32, f32::max);
    out.extend(
        cells
            .iter()
            .map(|&v| (db_ratio(v, peak).max(-DB_RANGE)) / DB_RANGE),
    );
}

fn db_ratio(a: f32, b: f32) -> f32 {
    10.0 * (a.max(1e-30) / b.max(1e-30)).log10()
}

/// The largest power of two ≤ `n` (1 for 0).
pub(super) fn prev_pow2(n: usize) -> usize {
    if n == 0 {
        1
    } else {
        1 << (usize::BITS - 1 - n.leading_zeros())
    }
}

/// The scale-free scalars of [`SCALARS`], in order.
fn scalars(
    seg: &[Complex32],
    fs: f64,
    b: &TfBox,
    width: f64,
    narrow: &[Complex32],
    out: &mut Vec<f32>,
) {
    let duration = (b.stop_s - b.start_s).max(1.0 / fs);
    // The shared per-candidate features, on the segment (its own clock starts at 0).
    let mut local = b.clone();
    local.start_s = 0.0;
    local.stop_s = seg.len() as f64 / fs;
    let f = features(seg, fs, &local);
    let names = feature_names();
    let get = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .and_then(|i| f.values.get(i).copied())
            .unwrap_or(0.0)
    };
    let w = width as f32;
    let sub_s = (local.stop_s / 8.0) as f32;
    let (duty, cv) = envelope_shape(narrow);
    let env_mean = get("envelope_mean_mean").max(1e-30);
    out.extend([
        duration.log10() as f32,
        width.log10() as f32,
        b.snr_db / 10.0,
        duty,
        cv,
        get("occupied_bw_hz") / w,
        get("hop_count").ln_1p(),
        get("papr_db_mean") / 10.0,
        get("papr_db_max") / 10.0,
        get("envelope_std_mean") / env_mean,
        get("zero_crossing_rate_mean") * fs as f32 / w,
        get("inst_freq_std_hz_mean") / w,
        get("inst_freq_mean_hz_std") / w,
        get("sweep_rate_hz_per_s_mean") * sub_s / w,
        get("sweep_rate_hz_per_s_std") * sub_s / w,
        get("sweep_rate_hz_per_s_min")
            .abs()
            .max(get("sweep_rate_hz_per_s_max").abs())
            * sub_s
            / w,
    ]);
}
