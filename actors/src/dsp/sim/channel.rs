//! One emitter as received: waveform on its carrier, scaled to its in-band SNR, through
//! multipath and Rayleigh fading, rendered incrementally into a scene's sample buffer.

use std::f64::consts::TAU;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rustfft::num_complex::{Complex32, Complex64};

use super::spec::{EmitterSpec, SpecError};
use super::waveforms::{Wave, prepare};
use crate::dsp::Emission;

/// Samples rendered per inner block (bounded scratch, no per-sample allocation).
const BLOCK: usize = 4096;
/// Sinusoids in the sum-of-sinusoids Rayleigh model.
const FADING_PATHS: usize = 16;
/// Fading gain is evaluated every this many samples and interpolated linearly in between
/// (Doppler ≤ a few hundred Hz against MHz sample rates: vastly oversampled).
const FADING_STEP: u64 = 32;
/// Longest multipath delay accepted, samples.
const MAX_DELAY: u32 = 10_000;

/// Clarke/Jakes flat Rayleigh fading by sum of sinusoids,
/// `g(t) = M^-½ · Σₘ exp(j·(2π·fd·cos αₘ·t + φₘ))`, with random arrival angles `αₘ` and
/// phases `φₘ`: `E|g|² = 1` and `g` is close to complex Gaussian with the Jakes Doppler
/// spectrum. Evaluated from absolute local time, so windowing does not change it.
struct Fading {
    /// Doppler of each path, cycles per sample.
    dopplers: [f64; FADING_PATHS],
    phases: [f64; FADING_PATHS],
    /// `(segment, g at its start, g at its end)`.
    cache: Option<(u64, Complex32, Complex32)>,
}

impl Fading {
    fn new(doppler_hz: f64, fs: f64, rng: &mut StdRng) -> Self {
        let mut dopplers = [0.0; FADING_PATHS];
        let mut phases = [0.0; FADING_PATHS];
        for (d, p) in dopplers.iter_mut().zip(phases.iter_mut()) {
            *d = doppler_hz / fs * (TAU * rng.random::<f64>()).cos();
            *p = TAU * rng.random::<f64>();
        }
        Fading {
            dopplers,
            phases,
            cache: None,
        }
    }

    fn at(&self, n: u64) -> Complex32 {
        let t = n as f64;
        let (mut re, mut im) = (0.0, 0.0);
        for (d, p) in self.dopplers.iter().zip(&self.phases) {
            let (s, c) = (TAU * (d * t).fract() + p).sin_cos();
            re += c;
            im += s;
        }
        let norm = 1.0 / (FADING_PATHS as f64).sqrt();
        Complex32::new((re * norm) as f32, (im * norm) as f32)
    }

    fn gain(&mut self, n: u64) -> Complex32 {
        let seg = n / FADING_STEP;
        let (g0, g1) = match self.cache {
            Some((s, g0, g1)) if s == seg => (g0, g1),
            _ => {
                let pair = (self.at(seg * FADING_STEP), self.at((seg + 1) * FADING_STEP));
                self.cache = Some((seg, pair.0, pair.1));
                pair
            }
        };
        let x = (n % FADING_STEP) as f32 / FADING_STEP as f32;
        g0 + (g1 - g0) * x
    }
}

/// Samples between re-anchorings of the oscillator's phasor to its exact phase.
const NCO_ANCHOR: u64 = 4096;

/// Carrier oscillator: a phase accumulator (cycles) and a unit phasor advanced by complex
/// multiplication while the step stays the same (no trigonometry per sample for tones,
/// hops, FSK, codes, OFDM), re-anchored to the exact phase every [`NCO_ANCHOR`] samples.
/// Phase-continuous by construction: frequency changes only change the step.
#[derive(Default)]
struct Nco {
    /// Cycles in [0, 1).
    phase: f64,
    z: Complex64,
    step: Option<f64>,
    w: Complex64,
}

impl Nco {
    /// The phasor of local sample `n`; then advances by `step` cycles (|step| < 1).
    fn next(&mut self, n: u64, step: f64) -> Complex32 {
        if n.is_multiple_of(NCO_ANCHOR) {
            self.z = Complex64::from_polar(1.0, TAU * self.phase);
        }
        let out = Complex32::new(self.z.re as f32, self.z.im as f32);
        if self.step != Some(step) {
            self.step = Some(step);
            self.w = Complex64::from_polar(1.0, TAU * step);
        }
        self.z *= self.w;
        self.phase += step;
        if self.phase >= 1.0 {
            self.phase -= 1.0;
        } else if self.phase < 0.0 {
            self.phase += 1.0;
        }
        out
    }
}

/// One emitter, rendered incrementally: `render_add` must be called for increasing,
/// non-overlapping scene ranges (skipped ranges are generated and discarded).
pub(crate) struct EmitterSource {
    wave: Wave,
    rng: StdRng,
    /// Scene sample of the emitter's local sample 0.
    start_n: i64,
    /// Local samples the waveform is on.
    on_n: u64,
    /// Multipath delay spread, samples (the emission rings this much longer).
    tail_n: u64,
    /// Next local sample to generate.
    next: u64,
    amp: f32,
    nco: Nco,
    /// Carrier (centre + offset), cycles per sample.
    carrier: f64,
    inv_fs: f64,
    taps: Vec<(usize, Complex32)>,
    history: Vec<Complex32>,
    hist_pos: usize,
    fading: Option<Fading>,
    band: (f64, f64),
    label: &'static str,
    snr_db: f64,
    fs: f64,
    env: Vec<Complex32>,
    freq: Vec<f64>,
}

impl EmitterSource {
    /// The emitter of `spec` against complex AWGN of total power `noise_power` over `fs`;
    /// `seed` drives its random data and fading.
    ///
    /// SNR scaling: the waveform has mean power `P_w` over its on-interval, the truth band
    /// is `[lo, hi]` (after carrier offset and Doppler spread), so the in-band noise is
    /// `N·(hi − lo)/fs` and the amplitude is `√(10^(SNR/10)·N·(hi − lo)/fs / (P_w·G))`,
    /// where `G` is the multipath power gain for this waveform (fading has `E|g|² = 1`).
    pub fn new(
        spec: &EmitterSpec,
        fs: f64,
        noise_power: f64,
        seed: u64,
    ) -> Result<Self, SpecError> {
        let prepared = prepare(spec, fs)?;
        let ch = &spec.channel;
        if !ch.freq_offset_hz.is_finite() {
            return Err(SpecError::Channel("carrier offset"));
        }
        let mut rng = StdRng::seed_from_u64(seed);
        let fading = match ch.rayleigh_doppler_hz {
            Some(fd) if fd.is_finite() && fd > 0.0 && fd < fs / 2.0 => {
                Some(Fading::new(fd, fs, &mut rng))
            }
            Some(_) => return Err(SpecError::Channel("Doppler")),
            None => None,
        };
        let spread = ch.rayleigh_doppler_hz.unwrap_or(0.0);
        let centre = spec.center_hz + ch.freq_offset_hz;
        let band = (
            centre + prepared.band.0 - spread,
            centre + prepared.band.1 + spread,
        );
        if !(band.0 > -fs / 2.0 && band.1 < fs / 2.0) {
            return Err(SpecError::OutsideNyquist);
        }
        let mut taps = Vec::with_capacity(ch.taps.len());
        for t in &ch.taps {
            let g = t.gain;
            if t.delay_samples > MAX_DELAY || !(g.re.is_finite() && g.im.is_finite()) {
                return Err(SpecError::Channel("multipath tap"));
            }
            taps.push((t.delay_samples as usize, g));
        }
        let gain = multipath_gain(spec, fs, &taps, centre / fs, seed ^ 0x5EED)?;
        if !(gain > 1e-6 && noise_power.is_finite() && noise_power >= 0.0) {
            return Err(SpecError::Channel("multipath cancels the signal"));
        }
        let tail = taps.iter().map(|t| t.0).max().unwrap_or(0);
        let noise_in_band = noise_power * (band.1 - band.0) / fs;
        let target = 10f64.powf(spec.snr_db / 10.0) * noise_in_band;
        let power = prepared.power * gain;
        let amp = if power > 0.0 {
            (target / power).sqrt()
        } else {
            0.0
        };
        Ok(EmitterSource {
            wave: prepared.wave,
            rng,
            start_n: (spec.start_s * fs).round() as i64,
            on_n: prepared.on_n,
            tail_n: tail as u64,
            next: 0,
            amp: amp as f32,
            nco: Nco::default(),
            carrier: centre / fs,
            inv_fs: 1.0 / fs,
            history: vec![Complex32::default(); if taps.is_empty() { 0 } else { tail + 1 }],
            taps,
            hist_pos: 0,
            fading,
            band,
            label: spec.class().as_str(),
            snr_db: spec.snr_db,
            fs,
            env: vec![Complex32::default(); BLOCK],
            freq: vec![0.0; BLOCK],
        })
    }

    /// Scene samples `[start, end)` where the emitter is on (including the multipath tail).
    pub fn span(&self) -> (i64, i64) {
        let end = self.start_n + (self.on_n + self.tail_n) as i64;
        (self.start_n, end)
    }

    /// Whether this emitter draws nothing (class noise).
    pub fn is_silent(&self) -> bool {
        matches!(self.wave, Wave::Silent)
    }

    /// Truth band, Hz.
    pub fn band(&self) -> (f64, f64) {
        self.band
    }

    /// The emitter's truth over scene samples `[a, b)`, times relative to scene sample
    /// `origin` (no clipping).
    pub fn emission_between(&self, a: i64, b: i64, origin: i64) -> Emission {
        Emission {
            start_s: (a - origin) as f64 / self.fs,
            stop_s: (b - origin) as f64 / self.fs,
            freq_lo_hz: self.band.0,
            freq_hi_hz: self.band.1,
            label: self.label.to_string(),
            snr_db: Some(self.snr_db),
        }
    }

    /// The truth clipped to scene samples `[n0, n1)`, relative to `n0`.
    pub fn emission_in(&self, n0: u64, n1: u64) -> Option<Emission> {
        let (s, e) = self.span();
        let (a, b) = (s.max(n0 as i64), e.min(n1 as i64));
        (a < b && !self.is_silent()).then(|| self.emission_between(a, b, n0 as i64))
    }

    /// Adds this emitter's samples for scene samples `n0..n0 + out.len()` into `out`.
    pub fn render_add(&mut self, n0: u64, out: &mut [Complex32]) {
        let (s, e) = self.span();
        let a = s.max(n0 as i64);
        let b = e.min(n0 as i64 + out.len() as i64);
        if a >= b || self.is_silent() {
            return;
        }
        let local_a = (a - s) as u64;
        while self.next < local_a {
            let m = (local_a - self.next).min(BLOCK as u64) as usize;
            self.block(m, None);
        }
        let mut at = (a - n0 as i64) as usize;
        let end = (b - n0 as i64) as usize;
        while at < end {
            let m = (end - at).min(BLOCK);
            self.block(m, Some(&mut out[at..at + m]));
            at += m;
        }
    }

    /// Generates the next `m ≤ BLOCK` local samples, adding them to `out` when given.
    fn block(&mut self, m: usize, mut out: Option<&mut [Complex32]>) {
        let n0 = self.next;
        let on = self.on_n.saturating_sub(n0).min(m as u64) as usize;
        let (env, freq) = (&mut self.env[..m], &mut self.freq[..m]);
        self.wave
            .fill(n0, &mut env[..on], &mut freq[..on], &mut self.rng);
        env[on..].fill(Complex32::default());
        freq[on..].fill(0.0);
        for i in 0..m {
            // The carrier plus the waveform's own frequency offset, cycles per sample.
            let z = self
                .nco
                .next(n0 + i as u64, self.carrier + freq[i] * self.inv_fs);
            let mut y = env[i] * z * self.amp;
            if !self.taps.is_empty() {
                let len = self.history.len();
                self.history[self.hist_pos] = y;
                y = self
                    .taps
                    .iter()
                    .map(|&(d, g)| self.history[(self.hist_pos + len - d) % len] * g)
                    .sum();
                self.hist_pos = (self.hist_pos + 1) % len;
            }
            if let Some(f) = &mut self.fading {
                y *= f.gain(n0 + i as u64);
            }
            if let Some(o) = out.as_deref_mut() {
                o[i] += y;
            }
        }
        self.next += m as u64;
    }
}

/// Power gain of the multipath taps for this waveform, measured: the clean waveform on
/// its carrier is passed through the taps and output power is divided by input power
/// (exact for any spectrum shape, where a band average would assume a flat spectrum).
/// Deterministic waveforms are sampled in 32 chunks spread over the whole emission;
/// those drawing random data (stationary) over their first 2¹⁶ samples.
fn multipath_gain(
    spec: &EmitterSpec,
    fs: f64,
    taps: &[(usize, Complex32)],
    carrier: f64,
    seed: u64,
) -> Result<f64, SpecError> {
    let Some(max_d) = taps.iter().map(|t| t.0).max() else {
        return Ok(1.0);
    };
    let mut p = prepare(spec, fs)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let stateless = matches!(
        p.wave,
        Wave::Cw | Wave::Lfm { .. } | Wave::Costas { .. } | Wave::Chips(_)
    );
    let chunk = (4 * max_d).max(1024) as u64;
    let starts: Vec<(u64, u64)> = if stateless {
        let last = p.on_n.saturating_sub(chunk);
        (0..32)
            .map(|i| (i * last / 31, chunk.min(p.on_n)))
            .collect()
    } else {
        vec![(0, p.on_n.min(1 << 16))]
    };
    let (mut p_in, mut p_out) = (0.0f64, 0.0f64);
    for (s, len) in starts {
        let len = len as usize;
        let mut env = vec![Complex32::default(); len];
        let mut freq = vec![0.0; len];
        p.wave.fill(s, &mut env, &mut freq, &mut rng);
        let mut phase = 0.0f64;
        let x: Vec<Complex32> = env
            .iter()
            .zip(&freq)
            .map(|(e, f)| {
                let z = Complex32::from_polar(1.0, (TAU * phase) as f32);
                phase = (phase + carrier + f / fs).fract();
                e * z
            })
            .collect();
        for i in max_d..len {
            let y: Complex32 = taps.iter().map(|&(d, g)| x[i - d] * g).sum();
            p_in += f64::from(x[i].norm_sqr());
            p_out += f64::from(y.norm_sqr());
        }
    }
    Ok(if p_in > 0.0 { p_out / p_in } else { 1.0 })
}
