//! Waveform generators: each class as a complex envelope plus an instantaneous frequency
//! around the emitter's centre, with its truth band and mean power derived from the spec.

use rand::rngs::StdRng;
use rustfft::num_complex::Complex32;

use super::bursts::{FskGen, OfdmGen};
use super::codes::{BARKER13, ChipKeyer, frank, p4, welch_costas};
use super::spec::{EmitterSpec, LfmShape, PolyphaseCode, SpecError, TONE_NFFT, WaveformParams};

/// Largest Costas prime accepted (order 4098).
const MAX_COSTAS_PRIME: u32 = 4099;
/// Largest OFDM FFT (useful symbol, samples) accepted.
const MAX_OFDM_FFT: f64 = (1 << 18) as f64;

/// A waveform ready to render, with what the emitter needs to know about it.
pub(crate) struct Prepared {
    /// The generator.
    pub wave: Wave,
    /// Local samples `[0, on_n)` during which the waveform is on (first to last pulse).
    pub on_n: u64,
    /// Mean `|envelope|²` over `[0, on_n)`.
    pub power: f64,
    /// Truth band relative to the centre, Hz: ≥ 99 % of the energy lies inside.
    pub band: (f64, f64),
}

/// A waveform generator. Samples must be requested in increasing order (random data is
/// drawn as it is reached, so windows of a stream render the same as one long call).
pub(crate) enum Wave {
    /// Nothing.
    Silent,
    /// Unit tone at the centre.
    Cw,
    /// Chirp.
    Lfm {
        shape: LfmShape,
        bandwidth: f64,
        /// Samples per sweep period (the whole emission for single sweeps).
        period_n: f64,
    },
    /// Costas hopping: tone `(a_i − (N+1)/2)·df` during hop `i mod N`.
    Costas { seq: Vec<u32>, df: f64, hop_n: f64 },
    /// Chip-keyed phase code (Barker-13 trains, polyphase).
    Chips(ChipKeyer),
    /// FSK bursts.
    Fsk(FskGen),
    /// OFDM bursts.
    Ofdm(Box<OfdmGen>),
}

impl Wave {
    /// Envelope and frequency offset (Hz) of local samples `n0..n0 + env.len()`.
    pub fn fill(&mut self, n0: u64, env: &mut [Complex32], freq: &mut [f64], rng: &mut StdRng) {
        let one = Complex32::new(1.0, 0.0);
        match self {
            Wave::Silent => {
                env.fill(Complex32::default());
                freq.fill(0.0);
            }
            Wave::Cw => {
                env.fill(one);
                freq.fill(0.0);
            }
            Wave::Lfm {
                shape,
                bandwidth,
                period_n,
            } => {
                env.fill(one);
                let b = *bandwidth;
                for (i, f) in freq.iter_mut().enumerate() {
                    let u = ((n0 + i as u64) as f64 / *period_n).fract();
                    *f = match shape {
                        LfmShape::Up | LfmShape::SawtoothUp => -b / 2.0 + b * u,
                        LfmShape::Down | LfmShape::SawtoothDown => b / 2.0 - b * u,
                        LfmShape::Triangle if u < 0.5 => -b / 2.0 + 2.0 * b * u,
                        LfmShape::Triangle => b / 2.0 - 2.0 * b * (u - 0.5),
                    };
                }
            }
            Wave::Costas { seq, df, hop_n } => {
                env.fill(one);
                let mid = (seq.len() as f64 + 1.0) / 2.0;
                for (i, f) in freq.iter_mut().enumerate() {
                    let hop = ((n0 + i as u64) as f64 / *hop_n) as usize % seq.len();
                    *f = (f64::from(seq[hop]) - mid) * *df;
                }
            }
            Wave::Chips(keyer) => {
                keyer.fill(n0, env);
                freq.fill(0.0);
            }
            Wave::Fsk(g) => g.fill(n0, env, freq, rng),
            Wave::Ofdm(g) => g.fill(n0, env, freq, rng),
        }
    }
}

fn positive(x: f64, what: &'static str) -> Result<f64, SpecError> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(SpecError::Param(what))
    }
}

/// Validates `spec` at `fs` and derives its generator, on-interval, power and truth band
/// (the band definitions are listed on [`WaveformParams`]).
pub(crate) fn prepare(spec: &EmitterSpec, fs: f64) -> Result<Prepared, SpecError> {
    if !(fs.is_finite() && fs > 0.0) {
        return Err(SpecError::SampleRate);
    }
    let finite = [spec.start_s, spec.duration_s, spec.center_hz, spec.snr_db];
    if !finite.iter().all(|x| x.is_finite()) || spec.duration_s <= 0.0 {
        return Err(SpecError::Timing);
    }
    // Sample indices stay far from integer overflow (2⁴⁰ samples: days at MHz rates).
    let limit = (1u64 << 40) as f64;
    if (spec.start_s * fs).abs() > limit || spec.duration_s * fs > limit {
        return Err(SpecError::Timing);
    }
    let total = (spec.duration_s * fs).round() as u64;
    if total == 0 {
        return Err(SpecError::TooShort);
    }
    let b = spec.bandwidth_hz;
    let needs_band = !matches!(spec.params, WaveformParams::Noise | WaveformParams::Cw);
    if needs_band && !(b.is_finite() && b > 0.0 && b < fs) {
        return Err(SpecError::Bandwidth);
    }
    let sym = |h: f64| (-h, h);
    let constant = |wave, band| Prepared {
        wave,
        on_n: total,
        power: 1.0,
        band,
    };
    Ok(match &spec.params {
        WaveformParams::Noise => constant(Wave::Silent, (0.0, 0.0)),
        WaveformParams::Cw => constant(Wave::Cw, sym(0.75 * fs / TONE_NFFT)),
        WaveformParams::Lfm { shape, period_s } => {
            let sweep_s = match shape {
                LfmShape::Up | LfmShape::Down => spec.duration_s,
                LfmShape::SawtoothUp | LfmShape::SawtoothDown => positive(*period_s, "period")?,
                LfmShape::Triangle => positive(*period_s, "period")? / 2.0,
            };
            let period_n = match shape {
                LfmShape::Up | LfmShape::Down => total as f64,
                _ => period_s * fs,
            };
            let rate = b / sweep_s;
            let wave = Wave::Lfm {
                shape: *shape,
                bandwidth: b,
                period_n,
            };
            constant(wave, sym(b / 2.0 + 0.5 * rate.sqrt()))
        }
        WaveformParams::Costas { prime, hop_s } => {
            let seq = (*prime <= MAX_COSTAS_PRIME)
                .then(|| welch_costas(*prime))
                .flatten()
                .ok_or(SpecError::Param("Costas prime"))?;
            let hop = positive(*hop_s, "hop duration")?;
            let n = seq.len() as f64;
            let df = b / n;
            let wave = Wave::Costas {
                seq,
                df,
                hop_n: hop * fs,
            };
            constant(wave, sym((n - 1.0) / 2.0 * df + 3.0 / hop))
        }
        WaveformParams::Barker13 { pri_chips } => {
            let rc = b / 2.0;
            let pri = u64::from(*pri_chips);
            if pri < 14 {
                return Err(SpecError::Param("Barker PRI under 14 chips"));
            }
            // Whole chips that fit; each pulse needs 13 chips plus one to fade out.
            let chips = (spec.duration_s * rc).floor() as u64;
            if chips < 14 {
                return Err(SpecError::TooShort);
            }
            let pulses = (chips - 14) / pri + 1;
            let code = BARKER13
                .iter()
                .map(|&c| Complex32::new(f32::from(c), 0.0))
                .collect();
            chips_prepared(code, pri, (pulses - 1) * pri + 13, rc / fs, rc)
        }
        WaveformParams::Polyphase { code } => {
            let rc = b / 2.0;
            let phases = match *code {
                PolyphaseCode::Frank { m } if (2..=64).contains(&m) => frank(m),
                PolyphaseCode::P4 { n } if (2..=4096).contains(&n) => p4(n),
                _ => return Err(SpecError::Param("polyphase code length")),
            };
            let chips = (spec.duration_s * rc).floor() as u64;
            if chips < 2 {
                return Err(SpecError::TooShort);
            }
            let len = phases.len() as u64;
            let code = phases
                .iter()
                .map(|&p| Complex32::new(p.cos() as f32, p.sin() as f32))
                .collect();
            // The last whole chip slot is the fade-out, so the emission ends at `chips`.
            chips_prepared(code, len, chips - 1, rc / fs, rc)
        }
        WaveformParams::Fsk {
            order,
            symbol_rate_hz,
            burst_s,
            period_s,
        } => {
            if !(2..=16).contains(order) {
                return Err(SpecError::Param("FSK order"));
            }
            let rs = positive(*symbol_rate_hz, "symbol rate")?;
            let burst = positive(*burst_s, "burst length")?;
            let period = positive(*period_s, "burst period")?;
            let m = f64::from(*order);
            let spacing = b / m;
            let gen_ = FskGen::new(*order, spacing, fs / rs, burst * fs, period * fs, total)?;
            let power = gen_.mean_power();
            Prepared {
                on_n: gen_.schedule().end(),
                wave: Wave::Fsk(gen_),
                power,
                band: sym((m - 1.0) / 2.0 * spacing + 2.0 * rs),
            }
        }
        WaveformParams::Ofdm {
            subcarriers,
            cp_fraction,
            burst_s,
            period_s,
        } => {
            let k = *subcarriers;
            if k < 2 || k % 2 != 0 || k > 4096 {
                return Err(SpecError::Param("OFDM subcarriers (even, 2..=4096)"));
            }
            if !(1.0 / 64.0..=0.5).contains(cp_fraction) {
                return Err(SpecError::Param("OFDM cyclic prefix fraction"));
            }
            let burst = positive(*burst_s, "burst length")?;
            let period = positive(*period_s, "burst period")?;
            let nu = (fs * f64::from(k) / b).round();
            if nu > MAX_OFDM_FFT {
                return Err(SpecError::Param("OFDM subcarrier spacing under fs/2¹⁸"));
            }
            let nu = nu as usize;
            let gen_ = OfdmGen::new(
                k as usize,
                nu,
                *cp_fraction,
                burst * fs,
                period * fs,
                total,
                fs,
            )?;
            let power = gen_.mean_power();
            Prepared {
                on_n: gen_.schedule().end(),
                band: sym(f64::from(k) * fs / nu as f64 / 2.0),
                wave: Wave::Ofdm(Box::new(gen_)),
                power,
            }
        }
    })
}

fn chips_prepared(
    code: Vec<Complex32>,
    period: u64,
    active: u64,
    chips_per_sample: f64,
    rc: f64,
) -> Prepared {
    let keyer = ChipKeyer {
        code,
        period,
        active,
        chips_per_sample,
    };
    Prepared {
        on_n: keyer.on_samples(),
        power: keyer.mean_power(),
        wave: Wave::Chips(keyer),
        band: (-rc, rc),
    }
}
