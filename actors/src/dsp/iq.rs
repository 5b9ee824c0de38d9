//! IQ sample types shared by every DSP module: complex samples, recordings with their
//! metadata, and ground-truth emissions (which double as SigMF annotations).

use serde::{Deserialize, Serialize};

pub use rustfft::num_complex::Complex32;

/// Waveform classes. The strings are a contract (events, `analyze --json`, the model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaveformClass {
    /// Noise only (a false alarm).
    Noise,
    /// Continuous-wave tone.
    Cw,
    /// Linear FM chirp.
    Lfm,
    /// Costas frequency hopping.
    Costas,
    /// BPSK Barker-13 pulses.
    Barker13,
    /// Polyphase code (Frank or P4).
    Polyphase,
    /// 2-/4-FSK bursts.
    Fsk,
    /// OFDM-like wideband bursts.
    Ofdm,
}

impl WaveformClass {
    /// Every class, in label-index order.
    pub const ALL: [WaveformClass; 8] = [
        WaveformClass::Noise,
        WaveformClass::Cw,
        WaveformClass::Lfm,
        WaveformClass::Costas,
        WaveformClass::Barker13,
        WaveformClass::Polyphase,
        WaveformClass::Fsk,
        WaveformClass::Ofdm,
    ];

    /// Every class that emits (all but noise).
    pub const EMITTERS: &'static [WaveformClass] = Self::ALL.split_at(1).1;

    /// The label string.
    pub fn as_str(self) -> &'static str {
        match self {
            WaveformClass::Noise => "noise",
            WaveformClass::Cw => "cw",
            WaveformClass::Lfm => "lfm",
            WaveformClass::Costas => "costas",
            WaveformClass::Barker13 => "barker13",
            WaveformClass::Polyphase => "polyphase",
            WaveformClass::Fsk => "fsk",
            WaveformClass::Ofdm => "ofdm",
        }
    }

    /// Parses a label string.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One emitter's presence in a recording: ground truth from the simulator, or an
/// annotation read from / written to SigMF. Frequencies are baseband offsets (Hz,
/// relative to the center frequency); times are seconds from the recording's first sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Emission {
    /// First moment the emitter is on, s.
    pub start_s: f64,
    /// Last moment the emitter is on, s.
    pub stop_s: f64,
    /// Lower edge of the occupied band, Hz (baseband).
    pub freq_lo_hz: f64,
    /// Upper edge of the occupied band, Hz (baseband).
    pub freq_hi_hz: f64,
    /// Class label (a [`WaveformClass`] string for simulated emitters).
    pub label: String,
    /// In-band SNR while on, dB (None when unknown).
    pub snr_db: Option<f64>,
}

/// IQ samples with what is needed to interpret them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IqRecording {
    /// Samples per second.
    pub sample_rate_hz: f64,
    /// RF center frequency, Hz, when known.
    pub center_freq_hz: Option<f64>,
    /// Time of the first sample, µs since the Unix epoch, when known.
    pub start_us: Option<u64>,
    /// The samples, full scale ±1.0.
    pub samples: Vec<Complex32>,
    /// What is in it (ground truth or annotations).
    pub annotations: Vec<Emission>,
}

/// Interleaved little-endian-decoded i16 I/Q pairs to complex samples (full scale 1.0).
pub fn cs16_to_cf32(iq: &[i16]) -> Vec<Complex32> {
    let mut out = Vec::with_capacity(iq.len() / 2);
    super::simd::cs16_fill(&mut out, iq);
    out
}

/// Complex samples to interleaved i16 I/Q pairs, saturating outside ±1.0.
pub fn cf32_to_cs16(samples: &[Complex32]) -> Vec<i16> {
    let q = |v: f32| (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
    samples.iter().flat_map(|c| [q(c.re), q(c.im)]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        for c in WaveformClass::ALL {
            assert_eq!(WaveformClass::parse(c.as_str()), Some(c));
        }
        assert_eq!(WaveformClass::parse("radar"), None);
    }

    #[test]
    fn cs16_conversion_round_trips_and_saturates() {
        let s = vec![Complex32::new(0.5, -0.25), Complex32::new(2.0, -2.0)];
        let q = cf32_to_cs16(&s);
        assert_eq!(q, vec![16384, -8192, 32767, -32768]);
        let back = cs16_to_cf32(&q);
        assert_eq!(back[0], s[0]);
    }
}
