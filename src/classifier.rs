//! `[classifier]`: which waveform model SDR sensors run and on which ONNX backend, and
//! loading it at start — a one-line error (exit 2) when it cannot be used, unless the
//! classifier is optional, in which case the node runs without labels and says so.

use std::path::PathBuf;
use std::sync::Arc;

use fieldmesh_actors::classify::{Backend, Classifier, OnnxModel, select_backend};
use serde::{Deserialize, Serialize};

use crate::events_cmd::UsageError;

/// Environment variable naming an ONNX Runtime library when none is configured (ort's own
/// name for it); a node's config has `classifier.onnxruntime`
/// (`FIELDMESH_CLASSIFIER__ONNXRUNTIME`).
pub const ONNXRUNTIME_ENV: &str = "ORT_DYLIB_PATH";

/// `[classifier]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClassifierSettings {
    /// Classify candidates at all.
    pub enabled: bool,
    /// ONNX model file; unset: the built-in model (`models/waveform.onnx`).
    pub model: Option<PathBuf>,
    /// ONNX Runtime shared library to run the model on (e.g. the `onnxruntime` wheel's
    /// `onnxruntime/capi/libonnxruntime.so.1.31.1`); unset: the pure-Rust tract backend.
    /// A missing or broken library falls back to tract, with the reason logged.
    pub onnxruntime: Option<PathBuf>,
    /// When the model cannot be loaded: run without labels (and say so) instead of
    /// refusing to start.
    pub optional: bool,
    /// Labels kept per detection, best first.
    pub top_k: usize,
}

impl Default for ClassifierSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            model: None,
            onnxruntime: None,
            optional: false,
            top_k: 3,
        }
    }
}

impl ClassifierSettings {
    /// Problems, as `(key, message)`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !(1..=8).contains(&self.top_k) {
            out.push(("top_k", "must be in 1..=8".into()));
        }
        out
    }

    /// Loads the model (logging which backend runs and why). `Ok(None)`: classification is
    /// off, or optional and the model unusable (logged).
    pub fn load(&self) -> Result<Option<Classifier>, UsageError> {
        if !self.enabled {
            tracing::info!("classifier: disabled in config; detections go out unlabelled");
            return Ok(None);
        }
        let env_lib = std::env::var_os(ONNXRUNTIME_ENV).map(PathBuf::from);
        let asked = self.onnxruntime.as_deref().or(env_lib.as_deref());
        let (backend, why) = select_backend(asked);
        if asked.is_some() && backend == Backend::Tract {
            tracing::warn!(%backend, "classifier backend: {why}");
        } else {
            tracing::info!(%backend, "classifier backend: {why}");
        }
        let model = match &self.model {
            Some(path) => OnnxModel::load(path),
            None => OnnxModel::builtin(),
        };
        match model {
            Ok(m) => {
                let name = self
                    .model
                    .as_ref()
                    .map_or("built-in".to_string(), |p| p.display().to_string());
                tracing::info!(model = %name, %backend, "classifier: loaded");
                Ok(Some(Classifier::new(Arc::new(m), self.top_k)))
            }
            Err(e) if self.optional => {
                tracing::warn!(
                    "classifier: {e}; classification is optional, so detections go out unlabelled"
                );
                Ok(None)
            }
            Err(e) => Err(UsageError(format!("classifier: {e}"))),
        }
    }
}
