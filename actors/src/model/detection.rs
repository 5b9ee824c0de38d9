//! Detection payloads: the full schema carried by `candidate_detected` and
//! `waveform_classified` events, and its compact form for kbps links.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ModelError;
use super::artifact::{ArtifactHash, ArtifactPtr};

/// Which algorithm produced a result, so results from different versions never mix silently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Algo {
    /// Algorithm name, e.g. `cfar-ms`.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Hash of the parameters it ran with (hex).
    pub params_hash: String,
}

/// The IQ window a detection was made on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Duration in seconds.
    pub duration_s: f64,
    /// Center frequency in Hz.
    pub center_freq_hz: f64,
    /// Sample rate in samples per second.
    pub sample_rate_hz: f64,
}

/// What the detection can be checked against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Hash of the raw IQ window (an `iq_window` artifact), when kept.
    pub iq_hash: Option<ArtifactHash>,
}

/// One class and its confidence (0..=1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassScore {
    /// Class label, e.g. `lfm`.
    pub label: String,
    /// Confidence in 0..=1.
    pub confidence: f32,
}

/// A detection (and, once classified, its classes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Producing algorithm.
    pub algo: Algo,
    /// Which feature set `estimated_params` follow.
    pub feature_set_id: String,
    /// The window it was found in.
    pub window: Window,
    /// Evidence to check it against.
    #[serde(default)]
    pub evidence: Evidence,
    /// Top-k classes, best first (empty before classification).
    #[serde(default)]
    pub classes: Vec<ClassScore>,
    /// Estimated parameters by name (e.g. `snr_db`, `bandwidth_hz`).
    #[serde(default)]
    pub estimated_params: BTreeMap<String, f64>,
    /// Artifacts made for it.
    #[serde(default)]
    pub artifact_ptrs: Vec<ArtifactPtr>,
}

/// Most scalars a compact detection carries.
pub const COMPACT_MAX_SCALARS: usize = 4;
/// Most bytes of a compact detection's label.
pub const COMPACT_MAX_LABEL: usize = 16;
/// Version of the compact positional encoding.
const COMPACT_VERSION: u8 = 1;

/// The same schema, cut down for kbps links: top-1 class, 2-4 scalars, a hash prefix.
/// Encoded positionally (no field names) to stay a few dozen bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompactDetection {
    /// Encoding version.
    pub v: u8,
    /// Top-1 class label (empty when unclassified).
    pub label: String,
    /// Its confidence, quantized to 0..=255.
    pub confidence_q: u8,
    /// Up to four scalars, in the order given when compacting.
    pub scalars: Vec<f32>,
    /// First 8 bytes of the IQ evidence hash (zeros when none).
    pub hash_prefix: [u8; 8],
}

impl CompactDetection {
    /// Compacts `d`, keeping the estimated params named by `scalar_keys` (at most four;
    /// a missing one is NaN so positions stay meaningful).
    pub fn from_detection(d: &Detection, scalar_keys: &[&str]) -> Result<Self, ModelError> {
        if scalar_keys.len() > COMPACT_MAX_SCALARS {
            return Err(ModelError::Invalid(format!(
                "compact detection carries at most {COMPACT_MAX_SCALARS} scalars, asked for {}",
                scalar_keys.len()
            )));
        }
        let (label, confidence) = d
            .classes
            .first()
            .map(|c| (c.label.clone(), c.confidence))
            .unwrap_or_default();
        let mut label = label;
        label.truncate(COMPACT_MAX_LABEL);
        let scalars = scalar_keys
            .iter()
            .map(|k| d.estimated_params.get(*k).map_or(f32::NAN, |v| *v as f32))
            .collect();
        Ok(Self {
            v: COMPACT_VERSION,
            label,
            confidence_q: (confidence.clamp(0.0, 1.0) * 255.0).round() as u8,
            scalars,
            hash_prefix: d.evidence.iq_hash.map(|h| h.prefix()).unwrap_or_default(),
        })
    }

    /// Confidence back in 0..=1.
    pub fn confidence(&self) -> f32 {
        f32::from(self.confidence_q) / 255.0
    }

    /// Positional MessagePack.
    pub fn encode(&self) -> Result<Vec<u8>, ModelError> {
        rmp_serde::to_vec(self).map_err(|e| ModelError::Invalid(e.to_string()))
    }

    /// Decodes and validates; never panics on any input.
    pub fn decode(bytes: &[u8]) -> Result<Self, ModelError> {
        if bytes.len() > 128 {
            return Err(ModelError::Invalid(format!(
                "compact detection of {} bytes is oversized",
                bytes.len()
            )));
        }
        let c: Self =
            rmp_serde::from_slice(bytes).map_err(|e| ModelError::Invalid(e.to_string()))?;
        if c.v != COMPACT_VERSION
            || c.scalars.len() > COMPACT_MAX_SCALARS
            || c.label.len() > COMPACT_MAX_LABEL
        {
            return Err(ModelError::Invalid(
                "compact detection out of bounds".into(),
            ));
        }
        Ok(c)
    }
}
