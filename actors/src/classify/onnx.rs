//! An ONNX waveform model run through `ort` on the selected backend: loaded, checked to
//! fit fieldmesh (`input` f32 `[batch, INPUT_DIM]` → probabilities f32 `[batch, 8]`) with
//! a dry run, then shared by every classify stage of the node.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Mutex;

use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{Outlet, TensorElementType, TensorRef, ValueType};

use super::backend::{environment, selected};
use super::{INPUT_DIM, ModelError, WaveformModel, expected_labels};

/// The model trained by `scripts/train_classifier.py` (see `docs/model-card.md`), built in.
pub const BUILTIN_MODEL: &[u8] = include_bytes!("../../../models/waveform.onnx");

/// A loaded ONNX waveform model.
pub struct OnnxModel {
    session: Mutex<Session>,
    output: String,
    labels: Vec<String>,
    name: String,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("name", &self.name)
            .finish()
    }
}

/// Runs `f`, turning a panic inside ort or its backend into an error.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let text = p.downcast_ref::<&str>().map(|s| s.to_string());
        let text = text.or_else(|| p.downcast_ref::<String>().cloned());
        Err(format!(
            "the backend panicked: {}",
            text.unwrap_or_default()
        ))
    })
}

impl OnnxModel {
    /// Reads and loads a model file.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes = std::fs::read(path).map_err(|e| ModelError::Unreadable {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// The built-in model.
    pub fn builtin() -> Result<Self, ModelError> {
        Self::from_bytes(BUILTIN_MODEL, "built-in")
    }

    /// Loads ONNX bytes (`name` for messages), checks the signature and dry-runs one row.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, ModelError> {
        let corrupt = |reason: String| ModelError::Corrupt {
            name: name.to_string(),
            reason,
        };
        let shape = |reason: String| ModelError::Shape {
            name: name.to_string(),
            reason,
        };
        let env = environment().map_err(|e| corrupt(format!("no ort environment: {e}")))?;
        let session = guarded(|| {
            let builder = Session::builder(env)
                .map_err(|e| e.to_string())?
                .with_optimization_level(GraphOptimizationLevel::Level3)
                .map_err(|e| e.to_string())?
                .with_intra_threads(1)
                .map_err(|e| e.to_string())?;
            { builder }
                .commit_from_memory(bytes)
                .map_err(|e| e.to_string())
        })
        .map_err(corrupt)?;
        if session.inputs().len() != 1 || session.outputs().len() != 1 {
            return Err(shape(format!(
                "needs one input and one output (the probabilities), has {} and {}",
                session.inputs().len(),
                session.outputs().len()
            )));
        }
        let (input, output) = (&session.inputs()[0], &session.outputs()[0]);
        if rank2_f32(input.dtype()) != Some(INPUT_DIM as i64) {
            return Err(shape(format!(
                "input must be f32 [batch, {INPUT_DIM}], is {}",
                describe(input)
            )));
        }
        if rank2_f32(output.dtype()).is_none() {
            return Err(shape(format!(
                "output must be f32 [batch, labels], is {}",
                describe(output)
            )));
        }
        let model = OnnxModel {
            output: output.name().to_string(),
            session: Mutex::new(session),
            labels: expected_labels(),
            name: name.to_string(),
        };
        // The label count may be symbolic in the metadata: learn it from a dry run.
        let out = model
            .run(&vec![0.0; INPUT_DIM], 1)
            .map_err(|e| corrupt(e.to_string()))?;
        if out.len() != model.labels.len() {
            return Err(shape(format!(
                "outputs {} probabilities per row; fieldmesh has {} labels",
                out.len(),
                model.labels.len()
            )));
        }
        Ok(model)
    }

    /// Runs `n` rows; returns the output values, checked to be `[n, _]`.
    fn run(&self, rows: &[f32], n: usize) -> Result<Vec<f32>, ModelError> {
        if n.checked_mul(INPUT_DIM) != Some(rows.len()) {
            return Err(ModelError::Run(format!(
                "{} input values for {n} rows of {INPUT_DIM}",
                rows.len()
            )));
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut session = self
            .session
            .lock()
            .map_err(|_| ModelError::Run("a previous run panicked".into()))?;
        let name = &self.output;
        guarded(|| {
            let input =
                TensorRef::from_array_view(([n, INPUT_DIM], rows)).map_err(|e| e.to_string())?;
            let outputs = session
                .run(ort::inputs![input])
                .map_err(|e| e.to_string())?;
            let value = outputs
                .get(name.as_str())
                .ok_or_else(|| format!("output {name} missing after the run"))?;
            let (shape, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| e.to_string())?;
            if shape.len() != 2 || shape[0] != n as i64 {
                return Err(format!("output {name} is {shape:?} for {n} rows"));
            }
            Ok(data.to_vec())
        })
        .map_err(ModelError::Run)
    }
}

impl WaveformModel for OnnxModel {
    fn classify(&self, inputs: &[f32], rows: usize) -> Result<Vec<f32>, ModelError> {
        let out = self.run(inputs, rows)?;
        if out.len() != rows * self.labels.len() {
            return Err(ModelError::Run(format!(
                "{} probabilities for {rows} rows of {} labels",
                out.len(),
                self.labels.len()
            )));
        }
        Ok(out)
    }

    fn labels(&self) -> &[String] {
        &self.labels
    }

    fn backend(&self) -> String {
        selected().map_or_else(|| "none".into(), |b| b.to_string())
    }
}

/// `Some(D)` if `t` is an f32 tensor `[_, D]` (D is −1 when symbolic).
fn rank2_f32(t: &ValueType) -> Option<i64> {
    let ValueType::Tensor { ty, shape, .. } = t else {
        return None;
    };
    (*ty == TensorElementType::Float32 && shape.len() == 2).then(|| shape[1])
}

/// `name: type`, e.g. `input: Int64 [-1, 16]`.
fn describe(outlet: &Outlet) -> String {
    match outlet.dtype() {
        ValueType::Tensor { ty, shape, .. } => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("{}: {ty:?} [{}]", outlet.name(), dims.join(", "))
        }
        other => format!("{}: {other:?}", outlet.name()),
    }
}
