//! Edge pipeline speed on one core: 1 s of 2.4 Msps cs16 IQ through the bare FFT (the
//! floor) and through the whole detection path (conversion, window, FFT, power, noise
//! floor, detection, grouping). Prints a table; run with `cargo bench -p fieldmesh-actors`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use fieldmesh_actors::dsp::analyzer::{Analyzer, AnalyzerConfig};
use fieldmesh_actors::dsp::cfar::Cfar;
use fieldmesh_actors::dsp::group::Grouper;
use fieldmesh_actors::dsp::noise::NoiseFloor;
use fieldmesh_actors::dsp::stft::Stft;
use fieldmesh_actors::dsp::{Complex32, cf32_to_cs16, cs16_fill};
use rustfft::FftPlanner;

const FS: f64 = 2.4e6;
const NFFT: usize = 4096;
const HOP: usize = 2048;

/// 1 s of noise (σ² = 1e-4) with a tone, a chirp and a wide burst, as cs16.
fn input() -> Vec<i16> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let sigma = (1e-4f64 / 2.0).sqrt();
    let n = FS as usize;
    let x: Vec<Complex32> = (0..n)
        .map(|i| {
            let t = i as f64 / FS;
            let g = |u1: f64, u2: f64| {
                (-2.0 * u1.max(1e-12).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            };
            let (mut re, mut im) = (
                sigma * g(uniform(), uniform()),
                sigma * g(uniform(), uniform()),
            );
            let tone = std::f64::consts::TAU * 300e3 * t;
            re += 0.003 * tone.cos();
            im += 0.003 * tone.sin();
            if (0.2..0.6).contains(&t) {
                let ph =
                    std::f64::consts::TAU * (-400e3 * t + 0.5 * 2e6 * (t % 0.1) * (t % 0.1) / 0.1);
                re += 0.01 * ph.cos();
                im += 0.01 * ph.sin();
            }
            Complex32::new(re as f32, im as f32)
        })
        .collect();
    cf32_to_cs16(&x)
}

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

fn main() {
    let iq = input();
    let frames = (iq.len() / 2 - NFFT) / HOP + 1;

    // Floor: the same number of FFTs, in place, nothing else.
    let fft = FftPlanner::<f32>::new().plan_fft_forward(NFFT);
    let mut buf = vec![Complex32::new(0.1, 0.2); NFFT];
    let mut scratch = vec![Complex32::default(); fft.get_inplace_scratch_len()];
    let bare = best_of(7, || {
        for _ in 0..frames {
            fft.process_with_scratch(&mut buf, &mut scratch);
        }
        black_box(&buf);
    });

    // The whole path, fed in 64 Ki-sample blocks as a source would, conversion into a
    // buffer the source reuses. Cold: a new analyzer per run (set-up, warm-up of the floor,
    // first touch of every buffer). Streaming: one analyzer fed the second again and again,
    // as a live sensor runs; each run is one more second of the same stream.
    let mut boxes = 0;
    let mut samples = Vec::with_capacity(65_536);
    let run = |a: &mut Analyzer, samples: &mut Vec<Complex32>| {
        let mut found = 0;
        for block in iq.chunks(2 * 65_536) {
            cs16_fill(samples, block);
            found += a.push(samples).len();
        }
        found
    };
    let cold = best_of(7, || {
        let mut a = Analyzer::new(&AnalyzerConfig::default(), FS);
        boxes = run(&mut a, &mut samples) + a.finish().len();
    });
    let mut live = Analyzer::new(&AnalyzerConfig::default(), FS);
    run(&mut live, &mut samples);
    let mut streamed = 0;
    let full = best_of(7, || streamed = run(&mut live, &mut samples));

    // The same path stage by stage (the cores the stage actors run), timed per block.
    let cfg = AnalyzerConfig::default();
    let mut stages = [Duration::ZERO; 5];
    let mut staged_boxes = 0;
    let mut best_total = Duration::MAX;
    for _ in 0..7 {
        let mut t = [Duration::ZERO; 5];
        let mut stft = Stft::new(&cfg.stft);
        let mut floor = NoiseFloor::new(NFFT, cfg.noise.clone());
        let mut cfar = Cfar::new(NFFT, &cfg.cfar);
        let mut grouper = Grouper::new(NFFT, cfg.group.clone());
        let (mut rows, mut hits) = (Vec::new(), Vec::new());
        staged_boxes = 0;
        for block in iq.chunks(2 * 65_536) {
            let t0 = Instant::now();
            cs16_fill(&mut samples, block);
            let t1 = Instant::now();
            rows.clear();
            let first = stft.push_rows(&samples, &mut rows);
            let t2 = Instant::now();
            let normalised = floor.push(first, std::mem::take(&mut rows));
            let t3 = Instant::now();
            hits.clear();
            if let Some(b) = &normalised {
                cfar.push(b.first, &b.data, &mut hits);
            }
            let t4 = Instant::now();
            if let Some(b) = normalised {
                grouper.push_block(b, &hits);
                staged_boxes += grouper.flush(stft.frames(), false).len();
                rows = grouper.take_spent().unwrap_or_default();
            }
            let t5 = Instant::now();
            for (acc, d) in t
                .iter_mut()
                .zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4])
            {
                *acc += d;
            }
        }
        staged_boxes += grouper.flush(stft.frames(), true).len();
        let total: Duration = t.iter().sum();
        if total < best_total {
            best_total = total;
            stages = t;
        }
    }

    let secs = iq.len() as f64 / 2.0 / FS;
    println!(
        "edge pipeline, 1 s of 2.4 Msps cs16, nfft {NFFT}, hop {HOP}, {frames} frames, one core"
    );
    println!("{:<34} {:>10} {:>12}", "stage", "ms", "x real time");
    for (name, d) in [
        ("bare rustfft (floor)", bare),
        ("full detection path, streaming", full),
        ("full path, cold (new analyzer)", cold),
    ] {
        println!(
            "{:<34} {:>10.2} {:>12.1}",
            name,
            d.as_secs_f64() * 1e3,
            secs / d.as_secs_f64()
        );
    }
    println!(
        "{:<34} {:>10.2}",
        "full / bare",
        full.as_secs_f64() / bare.as_secs_f64()
    );
    println!(
        "boxes found: {boxes} (stage by stage: {staged_boxes}; streaming, per second: {streamed})"
    );
    println!("stage by stage (best of 7), share of the floor:");
    let cfar_label = format!("CFAR: {} scales", cfg.cfar.scales.len());
    for (name, d) in [
        "cs16 → complex",
        "STFT: window, FFT, power",
        "noise floor: ratios, tracking",
        &cfar_label,
        "grouping, boxes",
    ]
    .iter()
    .zip(stages)
    {
        println!(
            "  {:<32} {:>10.2} {:>11.2}x",
            name,
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / bare.as_secs_f64()
        );
    }

    // Side by side: scipy.signal.stft (conversion + STFT + power only) on the same input.
    let path = std::env::temp_dir().join("fieldmesh-edge-bench.cs16");
    let bytes: Vec<u8> = iq.iter().flat_map(|v| v.to_le_bytes()).collect();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/bench_scipy_stft.py"
    );
    let scipy = std::fs::write(&path, bytes).ok().and_then(|_| {
        std::process::Command::new("python3")
            .arg(script)
            .arg(&path)
            .args([FS.to_string(), NFFT.to_string(), HOP.to_string()])
            .output()
            .ok()
    });
    match scipy {
        Some(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            match text
                .split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
            {
                Some(ms) => println!(
                    "{:<34} {:>10.2} {:>12.1}   (full path {:.1}x faster)",
                    "scipy.signal.stft, same input",
                    ms,
                    secs / (ms / 1e3),
                    ms / (full.as_secs_f64() * 1e3)
                ),
                None => println!("scipy: unexpected output {text:?}"),
            }
        }
        Some(out) => println!(
            "scipy: not run ({}); pip install numpy scipy",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        None => println!("scipy: python3 not found"),
    }
    let _ = std::fs::remove_file(&path);
}
