//! The classifier's input and its tract-backed model: fixed-length finite inputs whatever the
//! box, the built-in model loaded and telling waveforms apart, bad models refused with typed
//! errors (never a panic).

use std::path::PathBuf;

use super::*;
use crate::dsp::analyzer::TfBox;
use crate::dsp::{Complex32, WaveformClass};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/onnx")
        .join(name)
}

fn tfbox(start_s: f64, stop_s: f64, lo: f64, hi: f64) -> TfBox {
    TfBox::spanning(start_s, stop_s, lo, hi)
}

#[test]
fn inputs_have_one_length_and_finite_values_whatever_the_box() {
    let fs = 2.4e6;
    let tone: Vec<Complex32> = (0..48_000)
        .map(|i| Complex32::from_polar(0.01, (i as f32) * 0.3))
        .collect();
    let mut b = InputBuilder::new();
    for (iq, bx) in [
        (&tone[..], tfbox(0.0, 0.02, 100e3, 130e3)),
        (&tone[..], tfbox(5.0, 6.0, 0.0, 1.0)),
        (&[][..], tfbox(0.0, 1.0, -1e6, 1e6)),
        (&tone[..10], tfbox(0.0, 1.0, f64::NAN, f64::INFINITY)),
        (&tone[..], tfbox(0.01, 0.0, 2e6, -2e6)),
    ] {
        let v = b.build(iq, 0.0, fs, &bx);
        assert_eq!(v.len(), INPUT_DIM);
        assert!(v.iter().all(|x| x.is_finite()), "{bx:?}");
    }
}

#[test]
fn the_built_in_model_loads_on_tract_and_labels_simulated_emitters() {
    let (backend, why) = select_backend(None);
    assert_eq!(backend, Backend::Tract, "{why}");
    let model = OnnxModel::builtin().expect("the built-in model loads");
    assert_eq!(model.labels(), expected_labels().as_slice());
    let classifier = Classifier::new(std::sync::Arc::new(model), 3);
    let spec = dataset::DatasetSpec {
        seed: 4242,
        snr_db: (10.0, 20.0),
        noise_share: 0.0,
        ..Default::default()
    };
    let mut b = InputBuilder::new();
    let (mut right, mut total) = (0, 0);
    for i in 0..24 {
        for e in dataset::recording_examples(&spec, i, &mut b) {
            let top = classifier.top_k(&e.input).unwrap();
            assert_eq!(top.len(), 3);
            assert!(top[0].confidence >= top[1].confidence);
            let sum: f32 = classifier
                .top_k_rows(&e.input, 1)
                .unwrap()
                .iter()
                .flatten()
                .map(|c| c.confidence)
                .sum();
            assert!(sum <= 1.0001);
            total += 1;
            right += usize::from(WaveformClass::parse(&top[0].label) == Some(e.label));
        }
    }
    assert!(total >= 24, "{total} examples");
    let acc = right as f64 / total as f64;
    // Strong emitters, per box: far above chance (1/8); the full table is docs/model-card.md.
    assert!(acc > 0.6, "accuracy {acc} on {total} strong examples");
}

#[test]
fn bad_models_get_typed_errors() {
    select_backend(None);
    let err = OnnxModel::load(&data("does-not-exist.onnx")).unwrap_err();
    assert!(matches!(err, ModelError::Unreadable { .. }), "{err}");
    let err = OnnxModel::load(&data("corrupt.onnx")).unwrap_err();
    assert!(matches!(err, ModelError::Corrupt { .. }), "{err}");
    // A valid ONNX MLP with 16 inputs: not fieldmesh's layout.
    let err = OnnxModel::load(&data("mlp.onnx")).unwrap_err();
    assert!(matches!(err, ModelError::Shape { .. }), "{err}");
    assert!(err.to_string().contains(&INPUT_DIM.to_string()), "{err}");
    for name in ["two_inputs.onnx", "int_output.onnx"] {
        let err = OnnxModel::load(&data(name)).unwrap_err();
        assert!(matches!(err, ModelError::Shape { .. }), "{name}: {err}");
    }
    let err = OnnxModel::from_bytes(&[], "empty").unwrap_err();
    assert!(matches!(err, ModelError::Corrupt { .. }), "{err}");
    let model = OnnxModel::builtin().unwrap();
    let err = model.classify(&[0.0; 3], 1).unwrap_err();
    assert!(matches!(err, ModelError::Run(_)), "{err}");
}
