//! Seeded IQ simulator: recordings of radar and comms emitters in complex AWGN, with channel
//! effects and exact ground truth, to test and tune the detector and the classifier.

mod bursts;
mod channel;
pub mod codes;
mod scenario;
mod spec;
mod stream;
mod waveforms;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_signal;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub use scenario::{SCENARIOS, ScenarioError, random_emitter, scenario};
pub use spec::{
    ChannelSpec, EmitterSpec, LfmShape, PolyphaseCode, SpecError, TONE_NFFT, Tap, WaveformParams,
};
pub use stream::SimStream;

use super::{Complex32, IqRecording};
use channel::EmitterSource;

/// Default sample rate, samples per second.
pub const DEFAULT_SAMPLE_RATE_HZ: f64 = 2.4e6;

/// Default total noise power `N` (std ≈ 0.007 per component): +20 dB emitters stay far
/// below full scale (±1.0) and the noise spans ~230 cs16 steps.
pub const DEFAULT_NOISE_POWER: f64 = 1e-4;

/// A simulated recording: noise, emitters and where it sits.
///
/// Contract: the noise is complex white Gaussian with total power `N` over the sample rate
/// `fs`; an emitter's SNR is its mean power over its on-interval (first to last pulse or
/// burst, gaps included) divided by the noise inside its truth band, `N·(hi − lo)/fs`.
/// Each truth band holds ≥ 99 % of its emitter's energy (per-class definitions on
/// [`WaveformParams`] and in `waveforms.rs`); a tone's is `±0.75·fs/4096`.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// Samples per second.
    pub sample_rate_hz: f64,
    /// RF centre frequency, Hz (metadata only).
    pub center_freq_hz: f64,
    /// Length, s.
    pub duration_s: f64,
    /// Total complex noise power `N` over the full sample rate. Emitter amplitudes are set
    /// relative to it (in-band SNR), so with `N = 0` the recording is silent.
    pub noise_power: f64,
    /// Seed of everything random (noise, symbols, fading).
    pub seed: u64,
    /// Emitters, summed.
    pub emitters: Vec<EmitterSpec>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            sample_rate_hz: DEFAULT_SAMPLE_RATE_HZ,
            center_freq_hz: 915e6,
            duration_s: 1.0,
            noise_power: DEFAULT_NOISE_POWER,
            seed: 0,
            emitters: Vec::new(),
        }
    }
}

/// Renders `cfg`: deterministic for a seed. Annotations are the emitters' truth clipped to
/// the recording, in the order of `cfg.emitters`; emitters that are invalid
/// ([`EmitterSpec::truth`] says why), silent or entirely outside leave none.
/// The noise depends only on the seed, so removing emitters leaves it unchanged.
pub fn simulate(cfg: &SimConfig) -> IqRecording {
    let fs = cfg.sample_rate_hz;
    let valid = fs.is_finite() && fs > 0.0 && cfg.duration_s.is_finite() && cfg.duration_s > 0.0;
    let n = if valid {
        (cfg.duration_s * fs).round() as usize
    } else {
        0
    };
    let mut samples = vec![Complex32::default(); n];
    let noise_power = if cfg.noise_power.is_finite() {
        cfg.noise_power.max(0.0)
    } else {
        0.0
    };
    let mut noise_rng = StdRng::seed_from_u64(sub_seed(cfg.seed, 0));
    add_noise(&mut noise_rng, noise_power, &mut samples);
    let mut annotations = Vec::new();
    for (i, spec) in cfg.emitters.iter().enumerate() {
        let seed = sub_seed(cfg.seed, i as u64 + 1);
        let Ok(mut src) = EmitterSource::new(spec, fs, noise_power, seed) else {
            continue;
        };
        src.render_add(0, &mut samples);
        annotations.extend(src.emission_in(0, n as u64));
    }
    IqRecording {
        sample_rate_hz: fs,
        center_freq_hz: Some(cfg.center_freq_hz),
        start_us: None,
        samples,
        annotations,
    }
}

/// An independent seed for sub-stream `stream` of `seed` (splitmix64 finaliser).
pub(crate) fn sub_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Adds complex AWGN of total power `noise_power` (`noise_power/2` per component) to `out`,
/// by Box-Muller: `r = √(−2 ln u₁)`, `(r cos 2πu₂, r sin 2πu₂)` are two independent N(0, 1).
pub(crate) fn add_noise(rng: &mut StdRng, noise_power: f64, out: &mut [Complex32]) {
    let sigma = (noise_power / 2.0).sqrt();
    let scale = 1.0 / 4_294_967_296.0; // 2⁻³²
    for o in out {
        // Two 32-bit uniforms from one draw: u₁ ∈ (0, 1] (ln finite, tails to 6.7σ), u₂ ∈ [0, 1).
        let bits = rng.random::<u64>();
        let u1 = ((bits >> 32) as f64 + 1.0) * scale;
        let u2 = (bits & 0xFFFF_FFFF) as f64 * scale;
        let r = sigma * (-2.0 * u1.ln()).sqrt();
        let (s, c) = ((std::f64::consts::TAU * u2) as f32).sin_cos();
        *o += Complex32::new(r as f32 * c, r as f32 * s);
    }
}
