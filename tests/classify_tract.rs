//! Waveform classification on the default, pure-Rust tract backend: the built-in model's
//! accuracy on seeded emitters, `analyze --json` labels, and bad models or libraries
//! answered with a one-line error (exit 2) or a logged fallback — never a panic.

mod common;

use common::classify::{accuracy_on_seeded_examples, analyze, assert_labelled, scene};
use fieldmesh_actors::classify::{Backend, select_backend};

#[test]
fn the_built_in_model_labels_strong_emitters_and_noise_on_tract() {
    assert_eq!(select_backend(None).0, Backend::Tract);
    let (acc, noise_acc, n) = accuracy_on_seeded_examples();
    eprintln!("tract: accuracy {acc:.3} on {n} strong examples, noise {noise_acc:.3}");
    assert!(acc >= 0.45, "accuracy {acc}");
    assert!(noise_acc >= 0.8, "noise accuracy {noise_acc}");
}

#[test]
fn analyze_prints_labels_and_refuses_bad_models() {
    let dir = tempfile::tempdir().unwrap();
    let meta = scene(dir.path());
    let (code, lines, err) = analyze(&meta, &[]);
    assert_eq!(code, 0, "{err}");
    assert_labelled(&lines);
    assert!(err.contains("using tract"), "{err}");

    let (code, lines, _) = analyze(&meta, &["--no-classify"]);
    assert_eq!(code, 0);
    assert!(lines.iter().all(|l| l.get("label").is_none()));

    let corrupt = dir.path().join("corrupt.onnx");
    std::fs::write(&corrupt, b"\x08\x07this is not a model").unwrap();
    let wrong = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/actors/tests/data/onnx/mlp.onnx"
    );
    for (model, says) in [
        (corrupt.to_str().unwrap(), "not a usable ONNX model"),
        (wrong, "does not fit fieldmesh"),
        ("/nonexistent/model.onnx", "No such file"),
    ] {
        let (code, lines, err) = analyze(&meta, &["--model", model]);
        assert_eq!(code, 2, "{model}: {err}");
        assert!(lines.is_empty());
        let last = err.lines().last().unwrap_or("");
        assert!(last.starts_with("error: classifier: model"), "{err}");
        assert!(last.contains(says), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }

    // A missing or broken ONNX Runtime library: tract runs, and the log says why.
    for lib in ["/nonexistent/libonnxruntime.so", meta.to_str().unwrap()] {
        let (code, lines, err) = analyze(&meta, &["--onnxruntime", lib]);
        assert_eq!(code, 0, "{err}");
        assert_labelled(&lines);
        assert!(err.contains("falling back to tract"), "{err}");
    }
}
