//! Random emitters with realistic parameters, and the named scenarios (noise only, mixed,
//! weak, one per class) built from them.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rustfft::num_complex::Complex32;
use thiserror::Error;

use super::spec::{
    ChannelSpec, EmitterSpec, LfmShape, PolyphaseCode, TONE_NFFT, Tap, WaveformParams,
};
use super::{DEFAULT_NOISE_POWER, DEFAULT_SAMPLE_RATE_HZ, SimConfig, sub_seed};
use crate::dsp::WaveformClass;

/// Scenario names [`scenario`] knows.
pub const SCENARIOS: &[&str] = &[
    "noise",
    "mixed",
    "weak",
    "cw",
    "lfm",
    "costas",
    "barker13",
    "polyphase",
    "fsk",
    "ofdm",
];

/// Shortest scenario, s (emitters last at least [`MIN_EMITTER_S`]).
const MIN_SCENARIO_S: f64 = 0.05;
/// Shortest requested emitter duration, s: pulse trains end with their last whole pulse
/// (at most a quarter of this earlier), so every truth interval lasts ≥ 20 ms.
const MIN_EMITTER_S: f64 = 0.03;
/// Every truth band stays inside `±EDGE·fs`.
const EDGE: f64 = 0.45;
/// Least gap between the bands of emitters in one scenario, Hz.
const GUARD_HZ: f64 = 5e3;

/// Why a scenario cannot be built.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum ScenarioError {
    /// The name is not in [`SCENARIOS`].
    #[error("unknown scenario {0:?}")]
    Unknown(String),
    /// The duration is not a finite number of at least 50 ms.
    #[error("scenario duration must be at least 0.05 s, got {0} s")]
    Duration(f64),
}

fn log_uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        return lo;
    }
    (lo.ln() + rng.random::<f64>() * (hi.ln() - lo.ln())).exp()
}

fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    lo + rng.random::<f64>() * (hi - lo)
}

/// A random emitter of `class` at `snr_db`, on during `at = (start_s, duration_s)`.
///
/// Parameters vary as in the field (B = nominal bandwidth, at most min(1 MHz, 0.4·fs)):
/// LFM B 50 kHz…1 MHz, any shape, sweep period 0.1…20 ms with B·T ≥ 400; Costas order 4,
/// 6, 10 or 12, B 50 kHz…1 MHz, hops 0.2…2 ms with step·hop ≥ 2; Barker-13 chips 12.5…500
/// kHz, duty 10…50 %; polyphase Frank (M 4…8) or P4 (16…64 chips) at 12.5…500 kchip/s;
/// FSK 2/4 tones, 2…50 kBd, spacing 2…6 × the symbol rate, bursts 5…50 ms at 30…90 %
/// duty; OFDM 32…256 subcarriers over 100 kHz…1 MHz, prefix 1/8 or 1/4, bursts 2…30 ms at
/// 30…90 % duty. Channel: carrier offset ±2 kHz, Rayleigh fading (Doppler 5…200 Hz) one
/// time in five, one or two echoes (0.4…5 µs, −20…−8 dB) one time in three. The centre is
/// uniform over the positions that keep the whole truth band inside ±0.45·fs. Durations
/// under ~30 ms may not hold a pulse train (the spec then fails [`EmitterSpec::truth`]).
pub fn random_emitter(
    rng: &mut StdRng,
    class: WaveformClass,
    snr_db: f64,
    sample_rate_hz: f64,
    at: (f64, f64),
) -> EmitterSpec {
    let fs = sample_rate_hz;
    let (start_s, duration_s) = at;
    let b_max = (0.4 * fs).min(1e6);
    let wide = |rng: &mut StdRng, lo: f64| log_uniform(rng, lo.min(b_max / 4.0), b_max);
    let chip_rate = |rng: &mut StdRng| log_uniform(rng, (12.5e3f64).min(b_max / 8.0), b_max / 2.0);
    let (bandwidth_hz, params) = match class {
        WaveformClass::Noise => (0.0, WaveformParams::Noise),
        WaveformClass::Cw => (1.5 * fs / TONE_NFFT, WaveformParams::Cw),
        WaveformClass::Lfm => {
            let b = wide(rng, 50e3);
            let shapes = [
                LfmShape::Up,
                LfmShape::Down,
                LfmShape::SawtoothUp,
                LfmShape::SawtoothDown,
                LfmShape::Triangle,
            ];
            let shape = shapes[rng.random_range(0..shapes.len())];
            let t_min = (400.0 / b).max(100e-6);
            let period_s = log_uniform(rng, t_min, t_min.max(20e-3));
            (b, WaveformParams::Lfm { shape, period_s })
        }
        WaveformClass::Costas => {
            let prime = [5, 7, 11, 13][rng.random_range(0..4)];
            let b = wide(rng, 50e3);
            let step = b / f64::from(prime - 1);
            let hop_s = log_uniform(rng, 0.2e-3, 2e-3).max(2.0 / step);
            (b, WaveformParams::Costas { prime, hop_s })
        }
        WaveformClass::Barker13 => {
            let rc = chip_rate(rng);
            let duty = uniform(rng, 0.1, 0.5);
            // Several pulses per emission: the PRI is at most a quarter of it.
            let most = (duration_s / 4.0 * rc).floor().max(14.0);
            let pri_chips = (13.0 / duty).ceil().clamp(14.0, most) as u32;
            (2.0 * rc, WaveformParams::Barker13 { pri_chips })
        }
        WaveformClass::Polyphase => {
            let rc = chip_rate(rng);
            let code = if rng.random::<bool>() {
                PolyphaseCode::Frank {
                    m: rng.random_range(4..=8),
                }
            } else {
                PolyphaseCode::P4 {
                    n: rng.random_range(16..=64),
                }
            };
            (2.0 * rc, WaveformParams::Polyphase { code })
        }
        WaveformClass::Fsk => {
            let order = if rng.random::<bool>() { 2 } else { 4 };
            let h = uniform(rng, 2.0, 6.0);
            // The truth band is ((M−1)·h + 4)·Rs wide; keep it within b_max.
            let rs_max = (b_max / ((f64::from(order) - 1.0) * h + 4.0)).min(50e3);
            let symbol_rate_hz = log_uniform(rng, (2e3f64).min(rs_max), rs_max);
            let burst_s = log_uniform(rng, 5e-3, 50e-3).min(duration_s);
            let period_s = burst_s / uniform(rng, 0.3, 0.9);
            let b = f64::from(order) * h * symbol_rate_hz;
            let params = WaveformParams::Fsk {
                order,
                symbol_rate_hz,
                burst_s,
                period_s,
            };
            (b, params)
        }
        WaveformClass::Ofdm => {
            let b = wide(rng, 100e3);
            let mut subcarriers = [32, 64, 128, 256][rng.random_range(0..4)];
            while subcarriers > 32 && b / f64::from(subcarriers) < 2e3 {
                subcarriers /= 2;
            }
            let cp_fraction = if rng.random::<bool>() { 0.125 } else { 0.25 };
            let burst_s = log_uniform(rng, 2e-3, 30e-3).min(duration_s);
            let period_s = burst_s / uniform(rng, 0.3, 0.9);
            let params = WaveformParams::Ofdm {
                subcarriers,
                cp_fraction,
                burst_s,
                period_s,
            };
            (b, params)
        }
    };
    let mut spec = EmitterSpec {
        start_s,
        duration_s,
        center_hz: 0.0,
        bandwidth_hz,
        snr_db,
        params,
        channel: random_channel(rng),
    };
    // Place the whole truth band (offset and Doppler included) inside ±0.45·fs.
    if let Ok(Some(t)) = spec.truth(fs) {
        let (lo, hi) = (-EDGE * fs - t.freq_lo_hz, EDGE * fs - t.freq_hi_hz);
        spec.center_hz = if hi > lo { uniform(rng, lo, hi) } else { 0.0 };
    }
    spec
}

fn random_channel(rng: &mut StdRng) -> ChannelSpec {
    let mut ch = ChannelSpec {
        freq_offset_hz: uniform(rng, -2e3, 2e3),
        ..ChannelSpec::default()
    };
    if rng.random::<f64>() < 0.2 {
        ch.rayleigh_doppler_hz = Some(log_uniform(rng, 5.0, 200.0));
    }
    if rng.random::<f64>() < 1.0 / 3.0 {
        ch.taps.push(Tap {
            delay_samples: 0,
            gain: Complex32::new(1.0, 0.0),
        });
        for _ in 0..rng.random_range(1..=2) {
            let amp = 10f64.powf(uniform(rng, -20.0, -8.0) / 20.0);
            let phase = uniform(rng, 0.0, std::f64::consts::TAU);
            ch.taps.push(Tap {
                delay_samples: rng.random_range(1..=12),
                gain: Complex32::from_polar(amp as f32, phase as f32),
            });
        }
    }
    ch
}

/// A named scenario of `duration_s` seconds (≥ 0.05) at 2.4 Msps:
/// `noise` (noise only); `mixed` (3–5 emitters of random classes, SNR −6…+20 dB);
/// `weak` (2–4 random classes, SNR −6…0 dB); and `cw`, `lfm`, `costas`, `barker13`,
/// `polyphase`, `fsk`, `ofdm` (2–3 emitters of that class, SNR −6…+20 dB). Emitters
/// last ≥ 20 ms, start anywhere, and their truth bands are disjoint (5 kHz apart) and
/// inside ±0.45·fs. Deterministic for `(name, seed, duration_s)`.
pub fn scenario(name: &str, seed: u64, duration_s: f64) -> Result<SimConfig, ScenarioError> {
    if !SCENARIOS.contains(&name) {
        return Err(ScenarioError::Unknown(name.to_string()));
    }
    if !(duration_s.is_finite() && duration_s >= MIN_SCENARIO_S) {
        return Err(ScenarioError::Duration(duration_s));
    }
    let fs = DEFAULT_SAMPLE_RATE_HZ;
    let mut rng = StdRng::seed_from_u64(sub_seed(seed, u64::MAX));
    let fixed = WaveformClass::parse(name).filter(|c| *c != WaveformClass::Noise);
    let (count, snr) = match name {
        "noise" => (0, (0.0, 0.0)),
        "mixed" => (rng.random_range(3..=5), (-6.0, 20.0)),
        "weak" => (rng.random_range(2..=4), (-6.0, 0.0)),
        _ => (rng.random_range(2..=3), (-6.0, 20.0)),
    };
    let mut emitters: Vec<EmitterSpec> = Vec::new();
    let mut bands: Vec<(f64, f64)> = Vec::new();
    for _ in 0..count {
        for _attempt in 0..40 {
            let class = fixed.unwrap_or_else(|| WaveformClass::ALL[rng.random_range(1..8)]);
            let dur = log_uniform(&mut rng, MIN_EMITTER_S, duration_s);
            let start = rng.random::<f64>() * (duration_s - dur);
            let snr_db = uniform(&mut rng, snr.0, snr.1);
            let spec = random_emitter(&mut rng, class, snr_db, fs, (start, dur));
            let Ok(Some(t)) = spec.truth(fs) else {
                continue;
            };
            let clear = bands
                .iter()
                .all(|b| t.freq_hi_hz + GUARD_HZ <= b.0 || b.1 + GUARD_HZ <= t.freq_lo_hz);
            if clear {
                bands.push((t.freq_lo_hz, t.freq_hi_hz));
                emitters.push(spec);
                break;
            }
        }
    }
    Ok(SimConfig {
        sample_rate_hz: fs,
        center_freq_hz: 915e6,
        duration_s,
        noise_power: DEFAULT_NOISE_POWER,
        seed,
        emitters,
    })
}
