//! Waveform classification on the default, pure-Rust tract backend: the built-in model's
//! accuracy on seeded emitters, `analyze --json` labels, and bad models or libraries
//! answered with a one-line error (exit 2) or a logged fallback — never a panic.

use crate::common;

use common::classify::{accuracy_on_seeded_examples, analyze, assert_labelled, scene};
use fieldmesh_actors::classify::{Backend, select_backend};

#[test]
fn the_built_in_model_labels_strong_emitters_and_noise_on_tract() {
    assert_eq!(select_backend(None).0, Backend::Tract);
    let (acc, noise_acc, n) = accuracy_on_seeded_examples();
    eprintln!("tract: accuracy {acc:.3} on {n} strong examples, noise {noise_acc:.3}");
    assert!(acc >= 0.88, "accuracy {acc}");
    assert!(noise_acc >= 0.8, "noise accuracy {noise_acc}");
}

#[test]
fn noise_only_input_yields_no_detection_or_only_noise_labels() {
    use fieldmesh_actors::dsp::sigmf::{SigmfDatatype, write_pair};
    use fieldmesh_actors::dsp::sim::{scenario, simulate};
    let dir = tempfile::tempdir().unwrap();
    for seed in [1, 2] {
        let rec = simulate(&scenario("noise", seed, 2.0).unwrap());
        let (meta, _) = write_pair(
            &dir.path().join(format!("n{seed}")),
            &rec,
            SigmfDatatype::Ci16Le,
        )
        .unwrap();
        let (code, lines, err) = analyze(&meta, &[]);
        assert_eq!(code, 0, "{err}");
        assert!(lines.iter().all(|l| l["label"] == "noise"), "{lines:?}");
    }
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

#[test]
fn a_node_refuses_an_unusable_model_unless_classification_is_optional() {
    use common::{bin, spawn_node, terminate, wait_exit, wait_for_node, write_config};
    use std::io::Read;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.onnx");
    std::fs::write(&corrupt, b"\x08\x07not a model").unwrap();
    let sdr = |optional: bool| {
        format!(
            "[[sensors]]\nid = \"sdr-1\"\nkind = \"sdr\"\n[sensors.rf]\nsample_rate_hz = 600000\n\
             window_samples = 16384\n[classifier]\nmodel = \"{}\"\noptional = {optional}\n",
            corrupt.display()
        )
    };
    let config = write_config(dir.path(), &sdr(false));
    let out = bin()
        .args(["node", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(last.starts_with("error: classifier: model"), "{err}");

    let config = write_config(dir.path(), &sdr(true));
    let mut node = spawn_node(&config);
    wait_for_node(&dir.path().join("data"), &mut node);
    terminate(&node);
    assert!(wait_exit(&mut node, Duration::from_secs(20)).is_some_and(|s| s.success()));
    let mut err = String::new();
    node.stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("detections go out unlabelled"), "{err}");
}
