//! What a waveform model is to the rest of the domain: input vectors in, one probability
//! per label out — whatever runs it — and the labels' top-k as event class scores.

use thiserror::Error;

use crate::dsp::WaveformClass;
use crate::model::ClassScore;

/// Why a model cannot be loaded or run.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ModelError {
    /// The model file is not there or cannot be read.
    #[error("model file {path}: {reason}")]
    Unreadable {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The bytes are not a model the backend can run.
    #[error("model {name} is not a usable ONNX model: {reason}")]
    Corrupt {
        /// File name or "built-in".
        name: String,
        /// What the backend said.
        reason: String,
    },
    /// The model's inputs or outputs are not `[batch, INPUT_DIM]` → `[batch, labels]`.
    #[error("model {name} does not fit fieldmesh: {reason}")]
    Shape {
        /// File name or "built-in".
        name: String,
        /// What does not fit.
        reason: String,
    },
    /// Inference failed.
    #[error("inference failed: {0}")]
    Run(String),
}

/// A loaded waveform model.
pub trait WaveformModel: Send + Sync {
    /// Probabilities, `rows × labels().len()` row-major, of `rows` inputs of
    /// [`super::INPUT_DIM`] values each.
    fn classify(&self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, ModelError>;
    /// Labels in output order.
    fn labels(&self) -> &[String];
    /// What runs it, for logs and the model card ("tract", "onnxruntime 1.31.1").
    fn backend(&self) -> String;
}

/// The labels a fieldmesh model must output, in index order.
pub fn expected_labels() -> Vec<String> {
    WaveformClass::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect()
}

/// The `k` most probable labels of one row of probabilities, best first.
pub fn top_k(labels: &[String], probabilities: &[f32], k: usize) -> Vec<ClassScore> {
    let mut order: Vec<usize> = (0..probabilities.len().min(labels.len())).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    order
        .into_iter()
        .take(k)
        .map(|i| ClassScore {
            label: labels[i].clone(),
            confidence: probabilities[i],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_is_best_first_and_never_longer_than_the_labels() {
        let labels = expected_labels();
        let p = [0.05, 0.1, 0.6, 0.05, 0.05, 0.05, 0.05, 0.05];
        let top = top_k(&labels, &p, 3);
        assert_eq!(top[0].label, "lfm");
        assert_eq!(top[1].label, "cw");
        assert_eq!(top.len(), 3);
        assert_eq!(top_k(&labels, &p, 20).len(), 8);
    }
}
