//! What both ONNX backends must pass: the built-in model over seeded simulator examples
//! (through the same input code as the pipeline), and `analyze --json` labelling boxes.

use std::path::{Path, PathBuf};

use fieldmesh_actors::classify::dataset::{DatasetSpec, recording_examples};
use fieldmesh_actors::classify::{Classifier, InputBuilder, OnnxModel};
use fieldmesh_actors::dsp::WaveformClass;
use fieldmesh_actors::dsp::sigmf::{SigmfDatatype, write_pair};
use fieldmesh_actors::dsp::sim::{scenario, simulate};

use super::bin;

/// The ONNX Runtime library `scripts/test.sh` fetched (the `onnxruntime` PyPI wheel).
pub fn onnxruntime_lib() -> PathBuf {
    let path = std::env::var_os("ONNXRUNTIME_TEST_LIB").map(PathBuf::from);
    match path {
        Some(p) if p.is_file() => p,
        other => panic!(
            "ONNXRUNTIME_TEST_LIB must name libonnxruntime.so (is {other:?}): \
             run the suite with scripts/test.sh, which fetches the onnxruntime wheel"
        ),
    }
}

/// Accuracy of the built-in model on strong (≥ 6 dB) seeded emitters, and on noise boxes.
pub fn accuracy_on_seeded_examples() -> (f64, f64, usize) {
    let model = OnnxModel::builtin().expect("the built-in model loads");
    let classifier = Classifier::new(std::sync::Arc::new(model), 1);
    let spec = DatasetSpec {
        seed: 9_001,
        snr_db: (6.0, 20.0),
        noise_share: 0.25,
        ..Default::default()
    };
    let mut b = InputBuilder::new();
    let (mut right, mut total, mut noise_right, mut noise) = (0, 0, 0, 0);
    for i in 0..150 {
        for e in recording_examples(&spec, i, &mut b) {
            let top = classifier.top_k(&e.input).expect("classifies");
            let ok = WaveformClass::parse(&top[0].label) == Some(e.label);
            if e.label == WaveformClass::Noise {
                noise += 1;
                noise_right += usize::from(ok);
            } else {
                total += 1;
                right += usize::from(ok);
            }
        }
    }
    (
        right as f64 / total.max(1) as f64,
        noise_right as f64 / noise.max(1) as f64,
        total,
    )
}

/// A 0.5 s mixed scene as a SigMF pair in `dir`; returns the meta path.
pub fn scene(dir: &Path) -> PathBuf {
    let rec = simulate(&scenario("mixed", 11, 0.5).expect("scenario"));
    write_pair(&dir.join("scene"), &rec, SigmfDatatype::Ci16Le)
        .expect("written")
        .0
}

/// `analyze --json FILE` with `extra` arguments: (exit code, lines, stderr).
pub fn analyze(file: &Path, extra: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let out = bin()
        .args(["analyze", "--json"])
        .arg(file)
        .args(extra)
        .env("RUST_LOG", "info")
        .output()
        .expect("runs");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every line has a known label and a confidence in (0, 1].
pub fn assert_labelled(lines: &[serde_json::Value]) {
    assert!(!lines.is_empty(), "boxes found");
    for l in lines {
        let label = l["label"].as_str().expect("a label");
        assert!(WaveformClass::parse(label).is_some(), "{label}");
        let c = l["confidence"].as_f64().expect("a confidence");
        assert!(c > 0.0 && c <= 1.0, "{c}");
    }
}
