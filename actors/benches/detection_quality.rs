//! Detection quality on the seeded simulator: probability of detection per class and in-band
//! SNR, false boxes per 10 s of noise, and box-edge accuracy at 6 dB. Prints tables; run with
//! `cargo bench -p fieldmesh-actors --bench detection_quality`.

use fieldmesh_actors::dsp::analyzer::{AnalyzerConfig, TfBox, analyze_recording};
use fieldmesh_actors::dsp::score::{Score, edge_errors};
use fieldmesh_actors::dsp::sim::{SimConfig, random_emitter, simulate};
use fieldmesh_actors::dsp::{IqRecording, WaveformClass};
use rand::SeedableRng;
use rand::rngs::StdRng;

const FS: f64 = 2.4e6;
const TRIALS: u64 = 40;

fn analyze(rec: &IqRecording) -> Vec<TfBox> {
    analyze_recording(&AnalyzerConfig::default(), rec)
}

/// Trial `t` of a cell lasts 20, 30, 40, 50 or 60 ms in turn (`t % 5`).
fn one(class: WaveformClass, snr_db: f64, t: u64, seed: u64) -> (Score, Vec<TfBox>, IqRecording) {
    let mut rng = StdRng::seed_from_u64(seed);
    let duration = 0.02 + 0.04 * (t % 5) as f64 / 4.0;
    let emitter = random_emitter(&mut rng, class, snr_db, FS, (0.06, duration));
    let cfg = SimConfig {
        sample_rate_hz: FS,
        duration_s: 0.06 + duration + 0.04,
        seed,
        emitters: vec![emitter],
        ..SimConfig::default()
    };
    let rec = simulate(&cfg);
    let boxes = analyze(&rec);
    (Score::of(&rec.annotations, &boxes), boxes, rec)
}

fn main() {
    let classes = WaveformClass::EMITTERS;
    let snrs = [-6.0, 0.0, 6.0];
    println!(
        "probability of detection, {TRIALS} emitters of 20–60 ms per cell (nfft 4096, 2.4 Msps)"
    );
    print!("{:<10}", "class");
    for s in snrs {
        print!("{:>9}", format!("{s:+.0} dB"));
    }
    println!();
    let mut totals = vec![(0usize, 0usize); snrs.len()];
    let mut edges = Vec::new();
    for &class in classes {
        print!("{:<10}", class.as_str());
        for (i, &snr) in snrs.iter().enumerate() {
            let mut found = 0;
            for t in 0..TRIALS {
                let (score, boxes, rec) =
                    one(class, snr, t, 1000 * t + i as u64 * 17 + class as u64);
                if score.detection_rate() >= 1.0 {
                    found += 1;
                }
                if snr == 6.0
                    && let Some(m) = score.matches.first()
                    && let Some(b) = m.found
                {
                    let (ds, de, dl, dh) = edge_errors(&m.truth, &boxes[b]);
                    if std::env::var_os("EDGE_DEBUG").is_some() {
                        let (tb, bx) = (&m.truth, &boxes[b]);
                        let hop = 2048.0 / rec.sample_rate_hz;
                        let fbin = rec.sample_rate_hz / 4096.0;
                        eprintln!(
                            "{:<10} start {:+6.1} stop {:+6.1} hops  lo {:+7.1} hi {:+7.1} bins  bw {:6.1} bins",
                            class.as_str(),
                            (bx.start_s - tb.start_s) / hop,
                            (bx.stop_s - tb.stop_s) / hop,
                            (bx.freq_lo_hz - tb.freq_lo_hz) / fbin,
                            (bx.freq_hi_hz - tb.freq_hi_hz) / fbin,
                            (tb.freq_hi_hz - tb.freq_lo_hz) / fbin
                        );
                    }
                    let bw = m.truth.freq_hi_hz - m.truth.freq_lo_hz;
                    let hop = 2048.0 / rec.sample_rate_hz;
                    let fbin = rec.sample_rate_hz / 4096.0;
                    edges.push((
                        class,
                        ds <= 2.0 * hop && de <= 2.0 * hop,
                        dl <= 0.05 * bw + 2.0 * fbin && dh <= 0.05 * bw + 2.0 * fbin,
                    ));
                }
            }
            totals[i].0 += found;
            totals[i].1 += TRIALS as usize;
            print!("{:>9.2}", found as f64 / TRIALS as f64);
        }
        println!();
    }
    print!("{:<10}", "all");
    for (f, n) in &totals {
        print!("{:>9.2}", *f as f64 / *n as f64);
    }
    println!();
    println!("box edges at +6 dB, share of found emitters within the goal");
    println!("{:<10} {:>6} {:>6}", "class", "time", "freq");
    for &class in classes {
        let mine: Vec<_> = edges.iter().filter(|e| e.0 == class).collect();
        let share = |f: fn(&&(WaveformClass, bool, bool)) -> bool| {
            mine.iter().filter(|e| f(e)).count() as f64 / mine.len().max(1) as f64
        };
        println!(
            "{:<10} {:>6.2} {:>6.2}",
            class.as_str(),
            share(|e| e.1),
            share(|e| e.2)
        );
    }
    let time_ok = edges.iter().filter(|e| e.1).count() as f64 / edges.len().max(1) as f64;
    let freq_ok = edges.iter().filter(|e| e.2).count() as f64 / edges.len().max(1) as f64;
    println!(
        "edges at +6 dB: time within 2 hops {:.2}, frequency within 5% of B + 2 bins {:.2} ({} boxes)",
        time_ok,
        freq_ok,
        edges.len()
    );

    let secs = 30.0;
    let noise = simulate(&SimConfig {
        sample_rate_hz: FS,
        duration_s: secs,
        seed: 99,
        emitters: vec![],
        ..SimConfig::default()
    });
    let fa = analyze(&noise).len();
    println!(
        "false boxes on {secs:.0} s of noise: {fa} ({:.2} per 10 s)",
        fa as f64 * 10.0 / secs
    );
}
