//! Bursty waveforms: the burst schedule, continuous-phase M-FSK bursts and windowed OFDM
//! bursts, each drawing its random symbols as the samples are reached.

use std::sync::Arc;

use rand::RngExt;
use rand::rngs::StdRng;
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use super::codes::rc_ramp;
use super::spec::SpecError;

/// Bursts of `len` samples starting every `period` samples (rounded), the last one ending
/// exactly at the end of the emission: the truth interval is first burst start → last
/// burst end, and the period is stretched (never shrunk) to make that the whole emission.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BurstSchedule {
    /// Samples per burst.
    pub len: u64,
    /// Samples between burst starts.
    pub period: f64,
    /// Bursts.
    pub count: u64,
}

impl BurstSchedule {
    /// Bursts of `len` samples about every `period` samples filling `total` samples
    /// (`len ≤ total`).
    pub fn fill(len: u64, period: f64, total: u64) -> Self {
        let len = len.clamp(1, total.max(1));
        let period = period.max(len as f64);
        let spare = total.saturating_sub(len) as f64;
        let count = (spare / period).floor() as u64 + 1;
        let period = if count > 1 {
            spare / (count - 1) as f64
        } else {
            period
        };
        BurstSchedule { len, period, count }
    }

    /// First sample of burst `k`.
    pub fn start(&self, k: u64) -> u64 {
        (k as f64 * self.period).round() as u64
    }

    /// Local sample where the last burst ends.
    pub fn end(&self) -> u64 {
        self.start(self.count - 1) + self.len
    }

    /// `(burst, offset in burst)` of local sample `n`, or None between bursts.
    pub fn locate(&self, n: u64) -> Option<(u64, u64)> {
        let k = ((n as f64 / self.period) as u64).min(self.count - 1);
        [k, k.saturating_sub(1)].into_iter().find_map(|k| {
            let s = self.start(k);
            (n >= s && n - s < self.len).then(|| (k, n - s))
        })
    }
}

/// Continuous-phase M-FSK bursts: tone `(m − (M−1)/2)·spacing` for a uniformly random
/// symbol `m`, raised-cosine power ramps of one symbol (at most a quarter burst).
pub(crate) struct FskGen {
    order: u32,
    spacing: f64,
    sym_n: f64,
    nsym: u64,
    ramp_n: f64,
    schedule: BurstSchedule,
    /// `(burst, symbol)` of the current tone.
    key: Option<(u64, u64)>,
    tone: f64,
}

impl FskGen {
    /// Bursts of whole symbols (`sym_n` samples each) about `burst_n` long every `period_n`
    /// samples, filling `total` samples.
    pub fn new(
        order: u32,
        spacing: f64,
        sym_n: f64,
        burst_n: f64,
        period_n: f64,
        total: u64,
    ) -> Result<Self, SpecError> {
        let nsym = (burst_n.min(total as f64) / sym_n).floor() as u64;
        if nsym == 0 {
            return Err(SpecError::TooShort);
        }
        let len = ((nsym as f64 * sym_n).round() as u64).min(total);
        Ok(FskGen {
            order,
            spacing,
            sym_n,
            nsym,
            ramp_n: sym_n.min(len as f64 / 4.0),
            schedule: BurstSchedule::fill(len, period_n, total),
            key: None,
            tone: 0.0,
        })
    }

    /// The burst schedule.
    pub fn schedule(&self) -> &BurstSchedule {
        &self.schedule
    }

    /// Mean power over first burst start → last burst end: a raised-cosine ramp of `r`
    /// samples carries `∫w² = 3/8·r`, so one burst holds `len − 2r + 2·3/8·r`.
    pub fn mean_power(&self) -> f64 {
        let burst = self.schedule.len as f64 - 1.25 * self.ramp_n;
        self.schedule.count as f64 * burst / self.schedule.end() as f64
    }

    /// Envelope and tone of local samples `n0..`.
    pub fn fill(&mut self, n0: u64, env: &mut [Complex32], freq: &mut [f64], rng: &mut StdRng) {
        let len = self.schedule.len as f64;
        for (i, (e, f)) in env.iter_mut().zip(freq.iter_mut()).enumerate() {
            let Some((k, m)) = self.schedule.locate(n0 + i as u64) else {
                *e = Complex32::default();
                *f = self.tone;
                continue;
            };
            let j = ((m as f64 / self.sym_n) as u64).min(self.nsym - 1);
            if self.key != Some((k, j)) {
                let sym = rng.random_range(0..self.order);
                self.tone = (f64::from(sym) - f64::from(self.order - 1) / 2.0) * self.spacing;
                self.key = Some((k, j));
            }
            let x = m as f64 + 0.5;
            let r = self.ramp_n;
            let gate = if x < r {
                rc_ramp(x / r)
            } else if len - x < r {
                rc_ramp((len - x) / r)
            } else {
                1.0
            };
            *e = Complex32::new(gate as f32, 0.0);
            *f = self.tone;
        }
    }
}

/// OFDM bursts: `K` random-QPSK subcarriers at `(s + ½)·Δ`, `s = −K/2..K/2`, `Δ = fs/nu`
/// (the half-spacing shift is the frequency output, so subcarriers fill `±K·Δ/2`
/// symmetrically). Each symbol is `ncp` prefix + `nu` useful samples, and is extended by an
/// `nw = ncp` cyclic suffix; prefix head and suffix are raised-cosine tapered and overlap
/// the neighbouring symbols (weighted overlap-add), which keeps ≥ 99 % of the energy
/// inside `±K·Δ/2` for `K ≥ 32`.
pub(crate) struct OfdmGen {
    k: usize,
    nu: usize,
    ncp: usize,
    nw: usize,
    nsym: usize,
    schedule: BurstSchedule,
    fft: Arc<dyn Fft<f32>>,
    buf: Vec<Complex32>,
    scratch: Vec<Complex32>,
    /// Current symbol, `ncp + nu + nw` samples.
    cur: Vec<Complex32>,
    /// Previous symbol's tapered suffix.
    tail: Vec<Complex32>,
    key: Option<(u64, usize)>,
    half_spacing: f64,
}

impl OfdmGen {
    /// Bursts of whole symbols about `burst_n` long every `period_n` samples in `total`.
    pub fn new(
        k: usize,
        nu: usize,
        cp_fraction: f64,
        burst_n: f64,
        period_n: f64,
        total: u64,
        fs: f64,
    ) -> Result<Self, SpecError> {
        if nu <= k {
            return Err(SpecError::Bandwidth);
        }
        let ncp = ((nu as f64 * cp_fraction).round() as usize).max(1);
        let nw = ncp;
        let ns = (nu + ncp) as f64;
        let room = burst_n.min(total as f64) - nw as f64;
        let nsym = (room / ns).floor().max(0.0) as usize;
        if nsym == 0 {
            return Err(SpecError::TooShort);
        }
        let len = (nsym * (nu + ncp) + nw) as u64;
        let fft = FftPlanner::new().plan_fft_inverse(nu);
        let scratch = vec![Complex32::default(); fft.get_inplace_scratch_len()];
        Ok(OfdmGen {
            k,
            nu,
            ncp,
            nw,
            nsym,
            schedule: BurstSchedule::fill(len, period_n, total),
            fft,
            buf: vec![Complex32::default(); nu],
            scratch,
            cur: vec![Complex32::default(); nu + ncp + nw],
            tail: vec![Complex32::default(); nw],
            key: None,
            half_spacing: fs / nu as f64 / 2.0,
        })
    }

    /// The burst schedule.
    pub fn schedule(&self) -> &BurstSchedule {
        &self.schedule
    }

    /// Expected mean power over the bursts' span: unit power per sample inside a symbol
    /// (QPSK on `K` subcarriers scaled by `1/√K`); each symbol's two tapers of `nw` carry
    /// `3/8·nw` each, so a symbol holds `ns − nw/4`.
    pub fn mean_power(&self) -> f64 {
        let ns = (self.nu + self.ncp) as f64;
        let burst = self.nsym as f64 * (ns - self.nw as f64 / 4.0);
        self.schedule.count as f64 * burst / self.schedule.end() as f64
    }

    fn next_symbol(&mut self, rng: &mut StdRng) {
        self.buf.fill(Complex32::default());
        let amp = std::f32::consts::FRAC_1_SQRT_2 / (self.k as f32).sqrt();
        for s in 0..self.k {
            let bin = (s + self.nu - self.k / 2) % self.nu;
            let re = if rng.random::<bool>() { amp } else { -amp };
            let im = if rng.random::<bool>() { amp } else { -amp };
            self.buf[bin] = Complex32::new(re, im);
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let (nu, ncp, nw) = (self.nu, self.ncp, self.nw);
        self.cur[..ncp].copy_from_slice(&self.buf[nu - ncp..]);
        self.cur[ncp..ncp + nu].copy_from_slice(&self.buf);
        self.cur[ncp + nu..].copy_from_slice(&self.buf[..nw]);
        for j in 0..nw {
            let w = rc_ramp((j as f64 + 0.5) / nw as f64) as f32;
            self.cur[j] *= w;
            self.cur[ncp + nu + j] *= 1.0 - w;
        }
    }

    /// Envelope and frequency (the `Δ/2` shift, Hz) of local samples `n0..`.
    pub fn fill(&mut self, n0: u64, env: &mut [Complex32], freq: &mut [f64], rng: &mut StdRng) {
        let ns = self.nu + self.ncp;
        for (i, e) in env.iter_mut().enumerate() {
            let Some((k, m)) = self.schedule.locate(n0 + i as u64) else {
                *e = Complex32::default();
                continue;
            };
            let (sym, j) = (m as usize / ns, m as usize % ns);
            if self.key != Some((k, sym)) {
                if sym > 0 && self.key == Some((k, sym - 1)) {
                    self.tail.copy_from_slice(&self.cur[ns..]);
                } else {
                    self.tail.fill(Complex32::default());
                }
                if sym < self.nsym {
                    self.next_symbol(rng);
                } else {
                    self.cur.fill(Complex32::default());
                }
                self.key = Some((k, sym));
            }
            let overlap = if j < self.nw {
                self.tail[j]
            } else {
                Complex32::default()
            };
            *e = self.cur[j] + overlap;
        }
        freq.fill(self.half_spacing);
    }
}
