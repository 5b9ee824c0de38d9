//! Waveform classification: the model input made from a candidate (the same code for
//! training data and at run time), labelled datasets from the simulator, and inference.

mod backend;
mod conjugate;
pub mod dataset;
pub mod input;
mod model;
mod onnx;
mod shape;

use std::sync::Arc;

pub use backend::{Backend, select_backend};
pub use input::{INPUT_DIM, INPUT_ID, InputBuilder};
pub use model::{ModelError, WaveformModel, expected_labels, top_k};
pub use onnx::{BUILTIN_MODEL, OnnxModel};

use crate::model::ClassScore;

/// A loaded model and how many labels each detection keeps (cheap to clone).
#[derive(Clone)]
pub struct Classifier {
    model: Arc<dyn WaveformModel>,
    top_k: usize,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("backend", &self.model.backend())
            .field("top_k", &self.top_k)
            .finish()
    }
}

impl Classifier {
    /// Keeps the `top_k` (at least 1) most probable labels of `model`.
    pub fn new(model: Arc<dyn WaveformModel>, top_k: usize) -> Self {
        Self {
            model,
            top_k: top_k.max(1),
        }
    }

    /// The labels of one input, best first.
    pub fn top_k(&self, input: &[f32]) -> Result<Vec<ClassScore>, ModelError> {
        let p = self.model.classify(input, 1)?;
        Ok(top_k(self.model.labels(), &p, self.top_k))
    }

    /// The labels of many inputs (`rows × INPUT_DIM` values), best first, one list per row.
    pub fn top_k_rows(
        &self,
        inputs: &[f32],
        rows: usize,
    ) -> Result<Vec<Vec<ClassScore>>, ModelError> {
        let p = self.model.classify(inputs, rows)?;
        let k = self.model.labels().len().max(1);
        Ok(p.chunks(k)
            .map(|row| top_k(self.model.labels(), row, self.top_k))
            .collect())
    }

    /// What runs the model.
    pub fn backend(&self) -> String {
        self.model.backend()
    }
}

#[cfg(test)]
mod tests;
