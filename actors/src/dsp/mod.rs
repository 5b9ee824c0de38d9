//! Signal processing for IQ sensors: sample types and formats (IQ01 frames, SigMF), the
//! seeded IQ simulator, and the edge pipeline's sans-IO cores (STFT, noise floor, detector,
//! grouping, features).

mod iq;
pub mod sim;

pub use iq::{Complex32, Emission, IqRecording, WaveformClass, cf32_to_cs16, cs16_to_cf32};
