//! Classification speed (release, one core): the model input per candidate, the model per
//! candidate on tract and on ONNX Runtime (each backend in its own process: the choice is
//! process-wide), and `analyze` throughput with classification on beside the same run
//! with it off. Run with `cargo bench --bench classify`; ONNX Runtime comes from
//! $ORT_DYLIB_PATH or the library `scripts/test.sh` unpacks under target/.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fieldmesh_actors::classify::{
    Backend, Classifier, INPUT_DIM, InputBuilder, OnnxModel, select_backend,
};
use fieldmesh_actors::dsp::IqRecording;
use fieldmesh_actors::dsp::analyzer::{AnalyzerConfig, TfBox, analyze_recording};
use fieldmesh_actors::dsp::sim::{scenario, simulate};

const CHILD: &str = "FIELDMESH_BENCH_CLASSIFY_CHILD";

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// 2 s of the `mixed` scenario (3–5 emitters of random classes) and its boxes.
fn scene() -> (IqRecording, Vec<TfBox>) {
    let rec = simulate(&scenario("mixed", 3, 2.0).expect("scenario"));
    let boxes = analyze_recording(&AnalyzerConfig::default(), &rec);
    (rec, boxes)
}

fn inputs(rec: &IqRecording, boxes: &[TfBox]) -> Vec<f32> {
    let mut b = InputBuilder::new();
    boxes
        .iter()
        .flat_map(|x| b.build(&rec.samples, 0.0, rec.sample_rate_hz, x))
        .collect()
}

/// µs per candidate at batch 1 and at batch 64, on the backend this process selected.
fn model_times(classifier: &Classifier, x: &[f32]) -> (f64, f64) {
    let rows = x.len() / INPUT_DIM;
    let one = best_of(5, || {
        for r in x.chunks(INPUT_DIM) {
            black_box(classifier.top_k(r).expect("runs"));
        }
    });
    let mut batch = Vec::with_capacity(64 * INPUT_DIM);
    while batch.len() < 64 * INPUT_DIM {
        batch.extend_from_slice(&x[..INPUT_DIM.min(x.len())]);
    }
    let many = best_of(5, || {
        black_box(classifier.top_k_rows(&batch, 64).expect("runs"));
    });
    (
        one.as_secs_f64() * 1e6 / rows as f64,
        many.as_secs_f64() * 1e6 / 64.0,
    )
}

fn ort_library() -> Option<PathBuf> {
    std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .or_else(|| {
            let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/onnxruntime-1.31.1/onnxruntime/capi/libonnxruntime.so.1.31.1");
            p.is_file().then_some(p)
        })
}

fn main() {
    let (rec, boxes) = scene();
    let x = inputs(&rec, &boxes);
    if std::env::var_os(CHILD).is_some() {
        // The ONNX Runtime half: print "batch1 batch64" in µs.
        let (backend, why) = select_backend(ort_library().as_deref());
        if !matches!(backend, Backend::OnnxRuntime { .. }) {
            println!("unavailable {why}");
            return;
        }
        let c = Classifier::new(std::sync::Arc::new(OnnxModel::builtin().expect("model")), 1);
        let (one, many) = model_times(&c, &x);
        println!("{one} {many} {backend}");
        return;
    }
    select_backend(None);
    let classifier = Classifier::new(std::sync::Arc::new(OnnxModel::builtin().expect("model")), 1);
    let secs = rec.samples.len() as f64 / rec.sample_rate_hz;
    let n = boxes.len();

    let build = best_of(5, || {
        black_box(inputs(&rec, &boxes));
    });
    let (tract_one, tract_many) = model_times(&classifier, &x);
    let off = best_of(3, || {
        black_box(analyze_recording(&AnalyzerConfig::default(), &rec));
    });
    let on = best_of(3, || {
        let boxes = analyze_recording(&AnalyzerConfig::default(), &rec);
        let x = inputs(&rec, &boxes);
        black_box(classifier.top_k_rows(&x, boxes.len()).expect("runs"));
    });
    let ort = std::process::Command::new(std::env::current_exe().expect("exe"))
        .env(CHILD, "1")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());

    println!("classification, {n} candidates from 2 s of the mixed scenario at 2.4 Msps, one core");
    println!(
        "{:<46} {:>12} {:>12}",
        "step", "µs/candidate", "batch of 64"
    );
    println!(
        "{:<46} {:>12.1} {:>12}",
        "model input (tile, profiles, lines, features)",
        build.as_secs_f64() * 1e6 / n as f64,
        "-"
    );
    println!(
        "{:<46} {:>12.1} {:>12.1}",
        "model on tract", tract_one, tract_many
    );
    match ort
        .as_deref()
        .map(|s| s.split_whitespace().collect::<Vec<_>>())
    {
        Some(v) if v.len() >= 3 && v[0] != "unavailable" => println!(
            "{:<46} {:>12} {:>12}",
            format!("model on {} {}", v[2], v.get(3).unwrap_or(&"")),
            v[0].parse::<f64>()
                .map_or("?".into(), |f| format!("{f:.1}")),
            v[1].parse::<f64>()
                .map_or("?".into(), |f| format!("{f:.1}")),
        ),
        other => println!("model on onnxruntime: not run ({other:?}); see scripts/test.sh"),
    }
    println!(
        "analyze, classification off: {:.1} ms ({:.0}× real time); on (tract): {:.1} ms ({:.0}× real time); on / off = {:.2}",
        off.as_secs_f64() * 1e3,
        secs / off.as_secs_f64(),
        on.as_secs_f64() * 1e3,
        secs / on.as_secs_f64(),
        on.as_secs_f64() / off.as_secs_f64()
    );
}
