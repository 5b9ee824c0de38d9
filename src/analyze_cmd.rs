//! `fieldmesh analyze FILE [--json]`: the edge detection pipeline over a SigMF recording,
//! as fast as it can. Boxes in absolute frequency (capture frequency + baseband offset) and
//! seconds from the first sample.

use std::io::Write;

use fieldmesh_actors::dsp::analyzer::{AnalyzerConfig, TfBox, analyze_recording};
use fieldmesh_actors::dsp::sigmf::read_recording;
use serde::Serialize;

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
    let mut out = std::io::stdout().lock();
    for b in &boxes {
        let line = BoxLine {
            start_s: b.start_s.max(0.0),
            stop_s: b.stop_s,
            freq_lo_hz: center + b.freq_lo_hz,
            freq_hi_hz: center + b.freq_hi_hz,
            snr_db: f64::from(b.snr_db),
            peak_db: f64::from(b.peak_db),
        };
        if args.json {
            serde_json::to_writer(&mut out, &line)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:>9.4}–{:<9.4} s  {:>14.1}–{:<14.1} Hz  SNR {:>5.1} dB",
                line.start_s, line.stop_s, line.freq_lo_hz, line.freq_hi_hz, line.snr_db
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
