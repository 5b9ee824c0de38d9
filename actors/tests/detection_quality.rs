//! Detection quality on the seeded simulator, as a regression guard: every non-tone class is
//! found at 0 dB in-band SNR, and noise alone gives no box. (The full table, −6 dB and CW
//! included, is the `detection_quality` bench; see docs/benchmarks.md.)

use fieldmesh_actors::dsp::analyzer::{AnalyzerConfig, TfBox, analyze_recording};
use fieldmesh_actors::dsp::score::Score;
use fieldmesh_actors::dsp::sim::{SimConfig, random_emitter, simulate};
use fieldmesh_actors::dsp::{IqRecording, WaveformClass};
use rand::SeedableRng;
use rand::rngs::StdRng;

const FS: f64 = 2.4e6;

fn analyze(rec: &IqRecording) -> Vec<TfBox> {
    analyze_recording(&AnalyzerConfig::default(), rec)
}

#[test]
fn wideband_classes_are_found_at_0_db_and_boxes_hug_them() {
    let classes = [
        WaveformClass::Lfm,
        WaveformClass::Costas,
        WaveformClass::Barker13,
        WaveformClass::Polyphase,
        WaveformClass::Fsk,
        WaveformClass::Ofdm,
    ];
    let (mut found, mut total, mut false_boxes) = (0, 0, 0);
    for class in classes {
        for t in 0..6u64 {
            let seed = 7000 + 31 * t + class as u64;
            let mut rng = StdRng::seed_from_u64(seed);
            let duration = 0.02 + 0.01 * (t % 4) as f64;
            let e = random_emitter(&mut rng, class, 0.0, FS, (0.06, duration));
            let rec = simulate(&SimConfig {
                sample_rate_hz: FS,
                duration_s: 0.12 + duration,
                seed,
                emitters: vec![e],
                ..SimConfig::default()
            });
            let score = Score::of(&rec.annotations, &analyze(&rec));
            total += rec.annotations.len();
            found += score.matches.iter().filter(|m| m.found.is_some()).count();
            false_boxes += score.false_boxes.len();
        }
    }
    let pd = found as f64 / total as f64;
    assert!(pd >= 0.95, "Pd at 0 dB = {pd} ({found}/{total})");
    assert!(
        false_boxes <= 1,
        "{false_boxes} boxes overlapped no emitter"
    );
}

#[test]
fn ten_seconds_of_noise_give_no_box() {
    let rec = simulate(&SimConfig {
        sample_rate_hz: FS,
        duration_s: 10.0,
        seed: 424242,
        emitters: vec![],
        ..SimConfig::default()
    });
    let boxes = analyze(&rec);
    assert!(boxes.len() <= 1, "false boxes on 10 s of noise: {boxes:?}");
}
