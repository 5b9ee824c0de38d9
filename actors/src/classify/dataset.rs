//! Labelled training data for the classifier, made by the real path: seeded simulator
//! recordings → the edge analyzer's boxes → [`InputBuilder`] vectors, labelled from the
//! ground truth (a box overlapping no emitter is `noise`).

use std::io::Write;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::input::{INPUT_DIM, INPUT_ID, InputBuilder};
use crate::dsp::analyzer::{AnalyzerConfig, TfBox, analyze_recording};
use crate::dsp::sim::{SimConfig, random_emitter, simulate};
use crate::dsp::{Emission, WaveformClass};

/// What a dataset is drawn from.
#[derive(Clone, Debug, PartialEq)]
pub struct DatasetSpec {
    /// Seed of everything.
    pub seed: u64,
    /// Simulated recordings.
    pub recordings: u64,
    /// In-band SNR range of the emitters, dB.
    pub snr_db: (f64, f64),
    /// Emitter duration range, s.
    pub duration_s: (f64, f64),
    /// Share of recordings with noise only, analysed at a raised false-alarm rate so
    /// their (false) boxes teach the model what noise looks like.
    pub noise_share: f64,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        Self {
            seed: 1,
            recordings: 1000,
            snr_db: (-10.0, 20.0),
            duration_s: (0.02, 0.1),
            noise_share: 0.125,
        }
    }
}

/// One labelled input.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// The model input.
    pub input: Vec<f32>,
    /// The truth.
    pub label: WaveformClass,
    /// In-band SNR of the emitter (NaN for noise).
    pub snr_db: f32,
}

/// Most false boxes taken from one noise recording.
const NOISE_BOXES: usize = 12;
const FS: f64 = crate::dsp::sim::DEFAULT_SAMPLE_RATE_HZ;

/// The examples of recording `index` of `spec` (deterministic).
pub fn recording_examples(
    spec: &DatasetSpec,
    index: u64,
    builder: &mut InputBuilder,
) -> Vec<Example> {
    let mut rng = StdRng::seed_from_u64(spec.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ index);
    if rng.random::<f64>() < spec.noise_share {
        return noise_examples(&mut rng, index, builder);
    }
    let count = match rng.random::<f64>() {
        p if p < 0.7 => 1,
        p if p < 0.9 => 2,
        _ => 3,
    };
    let mut emitters = Vec::new();
    let mut bands: Vec<(f64, f64)> = Vec::new();
    let mut end: f64 = 0.0;
    for _ in 0..count {
        for _attempt in 0..20 {
            let class = WaveformClass::EMITTERS[rng.random_range(0..WaveformClass::EMITTERS.len())];
            let (lo, hi) = spec.duration_s;
            let dur = lo * (hi / lo).powf(rng.random::<f64>());
            let start = 0.03 + 0.03 * rng.random::<f64>();
            let snr = spec.snr_db.0 + (spec.snr_db.1 - spec.snr_db.0) * rng.random::<f64>();
            let e = random_emitter(&mut rng, class, snr, FS, (start, dur));
            let Ok(Some(t)) = e.truth(FS) else { continue };
            if bands
                .iter()
                .all(|b| t.freq_hi_hz + 5e3 <= b.0 || b.1 + 5e3 <= t.freq_lo_hz)
            {
                bands.push((t.freq_lo_hz, t.freq_hi_hz));
                end = end.max(t.stop_s);
                emitters.push(e);
                break;
            }
        }
    }
    let cfg = SimConfig {
        sample_rate_hz: FS,
        duration_s: end + 0.04,
        seed: spec.seed ^ index.rotate_left(17),
        emitters,
        ..SimConfig::default()
    };
    let rec = simulate(&cfg);
    let boxes = analyze_recording(&AnalyzerConfig::default(), &rec);
    boxes
        .iter()
        .map(|b| {
            let truth = best_truth(&rec.annotations, b);
            Example {
                input: builder.build(&rec.samples, 0.0, FS, b),
                label: truth
                    .and_then(|t| WaveformClass::parse(&t.label))
                    .unwrap_or(WaveformClass::Noise),
                snr_db: truth.and_then(|t| t.snr_db).map_or(f32::NAN, |s| s as f32),
            }
        })
        .collect()
}

/// False boxes from a noise-only recording analysed at a raised false-alarm rate.
fn noise_examples(rng: &mut StdRng, index: u64, builder: &mut InputBuilder) -> Vec<Example> {
    let cfg = SimConfig {
        sample_rate_hz: FS,
        duration_s: 0.3,
        seed: index ^ 0x5eed_0000,
        ..SimConfig::default()
    };
    let rec = simulate(&cfg);
    let mut analyzer = AnalyzerConfig::default();
    analyzer.cfar.pfa = 10f64.powf(-4.0 - 4.0 * rng.random::<f64>());
    let mut boxes = analyze_recording(&analyzer, &rec);
    while boxes.len() > NOISE_BOXES {
        let i = rng.random_range(0..boxes.len());
        boxes.swap_remove(i);
    }
    boxes
        .iter()
        .map(|b| Example {
            input: builder.build(&rec.samples, 0.0, FS, b),
            label: WaveformClass::Noise,
            snr_db: f32::NAN,
        })
        .collect()
}

/// The truth `b` overlaps most in time × frequency.
fn best_truth<'a>(truths: &'a [Emission], b: &TfBox) -> Option<&'a Emission> {
    let ov = |a: (f64, f64), c: (f64, f64)| (a.1.min(c.1) - a.0.max(c.0)).max(0.0);
    truths
        .iter()
        .map(|t| {
            let o = ov((t.start_s, t.stop_s), (b.start_s, b.stop_s))
                * ov((t.freq_lo_hz, t.freq_hi_hz), (b.freq_lo_hz, b.freq_hi_hz));
            (t, o)
        })
        .filter(|(_, o)| *o > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(t, _)| t)
}

/// What a written dataset holds (`meta.json`).
#[derive(Clone, Debug, Serialize)]
pub struct DatasetMeta {
    /// Input layout.
    pub input_id: String,
    /// Values per input.
    pub dim: usize,
    /// Labels in index order.
    pub classes: Vec<String>,
    /// Examples.
    pub count: usize,
    /// Examples per class, in `classes` order.
    pub per_class: Vec<usize>,
    /// Seed.
    pub seed: u64,
    /// Recordings simulated.
    pub recordings: u64,
    /// SNR range, dB.
    pub snr_db: (f64, f64),
    /// Emitter durations, s.
    pub duration_s: (f64, f64),
}

/// Writes the examples of `spec` to `dir` (`meta.json`, `inputs.f32`, `labels.u8`,
/// `snr.f32`), simulating on `threads` threads; the result does not depend on them.
pub fn write_dataset(
    dir: &Path,
    spec: &DatasetSpec,
    threads: usize,
) -> std::io::Result<DatasetMeta> {
    std::fs::create_dir_all(dir)?;
    let threads = threads.max(1) as u64;
    let parts: Vec<Vec<Example>> = std::thread::scope(|s| -> std::io::Result<_> {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    let mut b = InputBuilder::new();
                    (t..spec.recordings)
                        .step_by(threads as usize)
                        .map(|i| (i, recording_examples(spec, i, &mut b)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        // A worker that panicked would leave recordings out: refuse rather than write less.
        let mut all: Vec<(u64, Vec<Example>)> = Vec::new();
        for w in workers {
            let part = w
                .join()
                .map_err(|_| std::io::Error::other("a dataset worker panicked"))?;
            all.extend(part);
        }
        all.sort_by_key(|(i, _)| *i);
        Ok(all.into_iter().map(|(_, e)| e).collect())
    })?;
    let mut inputs = std::io::BufWriter::new(std::fs::File::create(dir.join("inputs.f32"))?);
    let (mut labels, mut snr) = (Vec::new(), Vec::new());
    let mut per_class = vec![0; WaveformClass::ALL.len()];
    for e in parts.iter().flatten() {
        for v in &e.input {
            inputs.write_all(&v.to_le_bytes())?;
        }
        labels.push(e.label as u8);
        per_class[e.label as usize] += 1;
        snr.extend(e.snr_db.to_le_bytes());
    }
    inputs.flush()?;
    std::fs::write(dir.join("labels.u8"), &labels)?;
    std::fs::write(dir.join("snr.f32"), &snr)?;
    let meta = DatasetMeta {
        input_id: INPUT_ID.into(),
        dim: INPUT_DIM,
        classes: WaveformClass::ALL
            .iter()
            .map(|c| c.as_str().to_string())
            .collect(),
        count: labels.len(),
        per_class,
        seed: spec.seed,
        recordings: spec.recordings,
        snr_db: spec.snr_db,
        duration_s: spec.duration_s,
    };
    std::fs::write(
        dir.join("meta.json"),
        serde_json::to_vec_pretty(&meta).map_err(std::io::Error::other)?,
    )?;
    Ok(meta)
}
