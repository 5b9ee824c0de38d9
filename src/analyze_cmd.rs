//! `fieldmesh analyze FILE [--json]`: the edge detection pipeline over a SigMF recording,
//! as fast as it can, then the waveform classifier on every box. Boxes in absolute
//! frequency (capture frequency + baseband offset) and seconds from the first sample.

use std::io::Write;

use fieldmesh_actors::classify::{INPUT_DIM, InputBuilder};
use fieldmesh_actors::dsp::analyzer::{AnalyzerConfig, TfBox, analyze_recording};
use fieldmesh_actors::dsp::sigmf::read_recording;
use serde::Serialize;

use crate::classifier::ClassifierSettings;
use crate::cli::AnalyzeArgs;
use crate::events_cmd::UsageError;

/// One detected box as `analyze --json` prints it.
#[derive(Debug, Serialize)]
pub struct BoxLine {
    /// Seconds from the recording's first sample.
    pub start_s: f64,
    /// Seconds from the recording's first sample.
    pub stop_s: f64,
    /// Absolute Hz (baseband when the recording has no frequency).
    pub freq_lo_hz: f64,
    /// Absolute Hz.
    pub freq_hi_hz: f64,
    /// Estimated in-band SNR, dB.
    pub snr_db: f64,
    /// Peak power, dB.
    pub peak_db: f64,
    /// The classifier's label (absent with `--no-classify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Its probability.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

/// Runs the command.
pub fn run(args: AnalyzeArgs) -> anyhow::Result<()> {
    let rec = read_recording(&args.file).map_err(|e| UsageError(e.to_string()))?;
    if !(rec.sample_rate_hz.is_finite() && rec.sample_rate_hz > 0.0) {
        return Err(UsageError(format!(
            "{}: sample rate {} is not usable",
            args.file.display(),
            rec.sample_rate_hz
        ))
        .into());
    }
    let center = rec.center_freq_hz.unwrap_or(0.0);
    let mut boxes: Vec<TfBox> = analyze_recording(&AnalyzerConfig::default(), &rec);
    boxes.sort_by(|a, b| {
        a.start_s
            .total_cmp(&b.start_s)
            .then(a.freq_lo_hz.total_cmp(&b.freq_lo_hz))
    });
    let classifier = ClassifierSettings {
        enabled: !args.no_classify,
        model: args.model.clone(),
        onnxruntime: args.onnxruntime.clone(),
        top_k: 1,
        ..ClassifierSettings::default()
    }
    .load()?;
    let labels = match &classifier {
        Some(c) => {
            let mut builder = InputBuilder::new();
            let mut inputs = Vec::with_capacity(boxes.len() * INPUT_DIM);
            for b in &boxes {
                inputs.extend(builder.build(&rec.samples, 0.0, rec.sample_rate_hz, b));
            }
            c.top_k_rows(&inputs, boxes.len())
                .map_err(|e| anyhow::anyhow!("classifying: {e}"))?
                .into_iter()
                .map(|mut top| top.drain(..).next())
                .collect()
        }
        None => vec![None; boxes.len()],
    };
    let mut out = std::io::stdout().lock();
    for (b, class) in boxes.iter().zip(labels) {
        let line = BoxLine {
            start_s: b.start_s.max(0.0),
            stop_s: b.stop_s,
            freq_lo_hz: center + b.freq_lo_hz,
            freq_hi_hz: center + b.freq_hi_hz,
            snr_db: f64::from(b.snr_db),
            peak_db: f64::from(b.peak_db),
            confidence: class.as_ref().map(|c| c.confidence),
            label: class.map(|c| c.label),
        };
        if args.json {
            serde_json::to_writer(&mut out, &line)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:>9.4}–{:<9.4} s  {:>14.1}–{:<14.1} Hz  SNR {:>5.1} dB  {}",
                line.start_s,
                line.stop_s,
                line.freq_lo_hz,
                line.freq_hi_hz,
                line.snr_db,
                match (&line.label, line.confidence) {
                    (Some(l), Some(c)) => format!("{l} ({:.0} %)", 100.0 * c),
                    _ => String::new(),
                }
            )?;
        }
    }
    if !args.json {
        writeln!(
            out,
            "{} boxes in {:.3} s of IQ",
            boxes.len(),
            rec.samples.len() as f64 / rec.sample_rate_hz
        )?;
    }
    Ok(())
}
