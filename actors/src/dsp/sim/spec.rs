//! What the simulator is asked to render: one emitter's waveform, timing, band, in-band SNR
//! and propagation channel, and the ground truth (band and on-interval) it implies.

use rustfft::num_complex::Complex32;
use thiserror::Error;

use super::channel::EmitterSource;
use crate::dsp::{Emission, WaveformClass};

/// FFT size the tone band is defined against: a tone's truth band is `f0 ± 0.75·fs/4096`,
/// one Hann bin's noise bandwidth (1.5 bins) at nfft 4096.
pub const TONE_NFFT: f64 = 4096.0;

/// Frequency law of an LFM chirp, sweeping `bandwidth_hz` around the centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LfmShape {
    /// One up-sweep over the whole emission (`period_s` ignored).
    Up,
    /// One down-sweep over the whole emission (`period_s` ignored).
    Down,
    /// Repeated up-sweeps of `period_s` (frequency jumps back, phase stays continuous).
    SawtoothUp,
    /// Repeated down-sweeps of `period_s`.
    SawtoothDown,
    /// Up for `period_s/2`, down for `period_s/2`, repeated.
    Triangle,
}

/// Polyphase code family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolyphaseCode {
    /// Frank code of `m²` chips.
    Frank {
        /// Frequency steps (the code has `m²` chips).
        m: u32,
    },
    /// P4 code of `n` chips.
    P4 {
        /// Code length in chips.
        n: u32,
    },
}

/// Class-specific parameters. The nominal bandwidth `B` lives in [`EmitterSpec`] and sets
/// the sweep (LFM), the hop/tone grid `B/N` (Costas, FSK, OFDM) or the chip rate `B/2`
/// (Barker-13, polyphase: the main lobe ±Rc spans `B`).
///
/// Truth bands around the centre (each checked to hold ≥ 99 % of the energy; carrier
/// offset shifts them, Rayleigh fading widens them by the Doppler on each side):
/// - CW: `±0.75·fs/4096`, one Hann bin's noise bandwidth at nfft 4096.
/// - LFM: `±(B/2 + ½√k)`, `k = B/T_sweep` the chirp rate: the Fresnel ripple at each end
///   of the sweep spreads energy over about `√k` beyond the swept band.
/// - Costas: tone span `±(N−1)/2·B/N`, plus `3/T_hop` (each hop is a `T_hop`-long tone).
/// - Barker-13, polyphase: `±Rc = ±B/2`, the main lobe of the chips. Chips cross-fade with
///   a raised cosine over the whole chip (a band-limited transmitter), which puts ≥ 99.9 %
///   of the energy there; rectangular chips would leave ~10 % in sidelobes.
/// - FSK: tone span `±(M−1)/2·B/M`, plus `2·Rs` (continuous-phase FSK's spread per tone).
/// - OFDM: `±K·Δ/2`, `Δ = fs/round(fs·K/B)` (≈ `B/K`): subcarriers at the centres of `K`
///   slots of `Δ`, symbols raised-cosine windowed over the prefix; ≥ 99 % needs `K ≥ 32`.
#[derive(Clone, Debug, PartialEq)]
pub enum WaveformParams {
    /// Nothing transmitted: lets a caller draw "noise" like any class; renders nothing and
    /// leaves no annotation.
    Noise,
    /// Continuous-wave tone (`bandwidth_hz` ignored).
    Cw,
    /// Linear FM chirp.
    Lfm {
        /// Frequency law.
        shape: LfmShape,
        /// Sweep repetition period, s (sawtooth, triangle).
        period_s: f64,
    },
    /// Costas frequency hopping, repeated over the emission.
    Costas {
        /// Prime `p` of the Welch construction: `p − 1` hops over `p − 1` frequencies.
        prime: u32,
        /// Duration of one hop, s.
        hop_s: f64,
    },
    /// BPSK Barker-13 pulse train: pulses of 13 chips at `Rc = B/2`.
    Barker13 {
        /// Pulse repetition interval in chips (≥ 14; duty cycle = 13 / this).
        pri_chips: u32,
    },
    /// Polyphase code at `Rc = B/2`, repeated back to back.
    Polyphase {
        /// Which code.
        code: PolyphaseCode,
    },
    /// Continuous-phase M-FSK in bursts; tones at the centres of `M` slots of `B/M`.
    Fsk {
        /// Tones (2 or 4).
        order: u32,
        /// Symbols per second.
        symbol_rate_hz: f64,
        /// Burst length, s.
        burst_s: f64,
        /// Burst repetition period, s (stretched slightly so bursts fill the emission).
        period_s: f64,
    },
    /// OFDM-like bursts: `K` QPSK subcarriers over `B`, cyclic prefix, windowed symbols.
    Ofdm {
        /// Subcarriers `K` (even).
        subcarriers: u32,
        /// Cyclic prefix as a fraction of the useful symbol (1/64 … 1/2).
        cp_fraction: f64,
        /// Burst length, s.
        burst_s: f64,
        /// Burst repetition period, s (stretched slightly so bursts fill the emission).
        period_s: f64,
    },
}

impl WaveformParams {
    /// The class these parameters render.
    pub fn class(&self) -> WaveformClass {
        match self {
            WaveformParams::Noise => WaveformClass::Noise,
            WaveformParams::Cw => WaveformClass::Cw,
            WaveformParams::Lfm { .. } => WaveformClass::Lfm,
            WaveformParams::Costas { .. } => WaveformClass::Costas,
            WaveformParams::Barker13 { .. } => WaveformClass::Barker13,
            WaveformParams::Polyphase { .. } => WaveformClass::Polyphase,
            WaveformParams::Fsk { .. } => WaveformClass::Fsk,
            WaveformParams::Ofdm { .. } => WaveformClass::Ofdm,
        }
    }
}

/// One multipath component: the signal delayed by whole samples, times a complex gain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tap {
    /// Delay, samples.
    pub delay_samples: u32,
    /// Complex gain.
    pub gain: Complex32,
}

/// Propagation between emitter and receiver, applied in this order: carrier offset,
/// multipath FIR, flat Rayleigh fading. The default is a clean line-of-sight channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelSpec {
    /// Full impulse response (include a delay-0 tap for the direct path); empty = direct
    /// path only. Taps are rescaled so the emitter's received power is the one its SNR
    /// asks for (their power gain is measured on the waveform itself).
    pub taps: Vec<Tap>,
    /// Maximum Doppler of Clarke/Jakes Rayleigh fading, Hz (None: no fading). The fading
    /// gain has unit mean power, so `snr_db` is the mean SNR.
    pub rayleigh_doppler_hz: Option<f64>,
    /// Carrier frequency offset (transmitter oscillator error), Hz.
    pub freq_offset_hz: f64,
}

/// One emitter in a simulated recording.
#[derive(Clone, Debug, PartialEq)]
pub struct EmitterSpec {
    /// Start, s from the recording's first sample (may be negative: already on).
    pub start_s: f64,
    /// Requested duration, s (pulse and burst trains end with their last whole pulse).
    pub duration_s: f64,
    /// Centre, Hz (baseband offset from the recording's centre frequency).
    pub center_hz: f64,
    /// Nominal bandwidth `B`, Hz (see [`WaveformParams`]).
    pub bandwidth_hz: f64,
    /// In-band SNR while on, dB: mean emitter power over its on-interval divided by the
    /// noise power inside its truth band, `N·(hi − lo)/fs`.
    pub snr_db: f64,
    /// Waveform.
    pub params: WaveformParams,
    /// Propagation.
    pub channel: ChannelSpec,
}

impl EmitterSpec {
    /// The waveform class (from the parameters, so the two cannot disagree).
    pub fn class(&self) -> WaveformClass {
        self.params.class()
    }

    /// Ground truth this emitter leaves in a recording at `sample_rate_hz`, times from the
    /// recording's first sample (not clipped to the recording); None for class noise.
    pub fn truth(&self, sample_rate_hz: f64) -> Result<Option<Emission>, SpecError> {
        let src = EmitterSource::new(self, sample_rate_hz, 1.0, 0)?;
        let (start, stop) = src.span();
        Ok((!src.is_silent()).then(|| src.emission_between(start, stop, 0)))
    }
}

/// Why an emitter cannot be rendered.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SpecError {
    /// The sample rate is not a positive finite number.
    #[error("sample rate must be positive and finite")]
    SampleRate,
    /// Start, duration, centre or SNR is not finite, or the duration is not positive.
    #[error("start, duration, centre and SNR must be finite and the duration positive")]
    Timing,
    /// The bandwidth is not positive or does not fit the sample rate.
    #[error("bandwidth must be positive and below the sample rate")]
    Bandwidth,
    /// The truth band (centre, offset and Doppler included) leaves `±fs/2`.
    #[error("the emitter's band leaves the sampled band ±fs/2")]
    OutsideNyquist,
    /// A class parameter is out of range.
    #[error("invalid waveform parameter: {0}")]
    Param(&'static str),
    /// The emission is too short to hold one pulse, burst or symbol.
    #[error("duration too short for the waveform")]
    TooShort,
    /// A channel parameter is out of range.
    #[error("invalid channel: {0}")]
    Channel(&'static str),
}
