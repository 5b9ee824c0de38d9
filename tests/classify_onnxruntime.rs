//! Waveform classification on real ONNX Runtime, loaded at run time from the `onnxruntime`
//! PyPI wheel (`scripts/test.sh` fetches it): the same accuracy test as on tract, and
//! `analyze --json` giving the same boxes, labels and confidences on both backends.

#[path = "e2e/common/mod.rs"]
mod common;

use common::classify::{
    accuracy_on_seeded_examples, analyze, assert_labelled, onnxruntime_lib, scene,
};
use fieldmesh_actors::classify::{Backend, select_backend};

#[test]
fn the_built_in_model_labels_strong_emitters_and_noise_on_onnxruntime() {
    let lib = onnxruntime_lib();
    let (backend, why) = select_backend(Some(&lib));
    assert!(matches!(backend, Backend::OnnxRuntime { .. }), "{why}");
    let (acc, noise_acc, n) = accuracy_on_seeded_examples();
    eprintln!("onnxruntime: accuracy {acc:.3} on {n} strong examples, noise {noise_acc:.3}");
    assert!(acc >= 0.88, "accuracy {acc}");
    assert!(noise_acc >= 0.8, "noise accuracy {noise_acc}");
}

#[test]
fn analyze_gives_the_same_labels_on_both_backends() {
    let lib = onnxruntime_lib();
    let dir = tempfile::tempdir().unwrap();
    let meta = scene(dir.path());
    let (code, on_ort, err) = analyze(&meta, &["--onnxruntime", lib.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("using ONNX Runtime 1.31"), "{err}");
    assert_labelled(&on_ort);
    let (code, on_tract, err) = analyze(&meta, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(on_ort.len(), on_tract.len());
    for (a, b) in on_ort.iter().zip(&on_tract) {
        for k in ["start_s", "stop_s", "freq_lo_hz", "freq_hi_hz", "label"] {
            assert_eq!(a[k], b[k], "{k}");
        }
        let (ca, cb) = (
            a["confidence"].as_f64().unwrap(),
            b["confidence"].as_f64().unwrap(),
        );
        assert!((ca - cb).abs() < 1e-4, "{ca} vs {cb}");
    }
}
