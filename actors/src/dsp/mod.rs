//! Signal processing for IQ sensors: sample types and formats (IQ01 frames, SigMF), the
//! seeded IQ simulator, and the edge pipeline's sans-IO cores (STFT, noise floor, detector,
//! grouping, features).

pub mod analyzer;
pub mod cfar;
pub mod group;
mod iq;
pub mod noise;
pub mod score;
pub mod stft;

pub use iq::{Complex32, Emission, IqRecording, WaveformClass, cf32_to_cs16, cs16_to_cf32};
