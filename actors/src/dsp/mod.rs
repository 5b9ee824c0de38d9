//! Signal processing for IQ sensors: sample types and formats (IQ01 frames, SigMF), the
//! seeded IQ simulator, and the edge pipeline's sans-IO cores (STFT, noise floor, detector,
//! grouping, features).

pub mod analyzer;
pub mod band_alert;
pub mod band_energy;
pub mod cfar;
pub mod features;
pub mod group;
mod iq;
pub mod iq01;
pub mod noise;
pub mod score;
pub mod sigmf;
pub mod sim;
pub(crate) mod simd;
pub mod stft;
pub mod threshold;
pub mod tile;
pub mod waterfall;

pub use iq::{Complex32, Emission, IqRecording, WaveformClass, cf32_to_cs16, cs16_to_cf32};
pub use iq01::{Iq01Error, Iq01Frame, Iq01Header, encode_iq01, frame_len};
pub use sigmf::{SigmfDatatype, SigmfError};
pub use simd::cs16_fill;
