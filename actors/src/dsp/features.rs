//! Features of one candidate: the IQ inside its box is shifted to baseband and band-limited,
//! then described per sub-window (envelope, PAPR, zero crossings, instantaneous frequency,
//! sweep rate, hops) and aggregated as mean/std/min/max, plus whole-box spectral features.

use rustfft::FftPlanner;

use super::Complex32;
use super::analyzer::TfBox;

/// Identifies this feature layout (names and order); bump when it changes.
pub const FEATURE_SET_ID: &str = "fm-features-1";

/// Per-sub-window features, each aggregated as mean/std/min/max.
pub const SUBWINDOW_FEATURES: [&str; 8] = [
    "envelope_mean",
    "envelope_std",
    "envelope_max",
    "papr_db",
    "zero_crossing_rate",
    "inst_freq_mean_hz",
    "inst_freq_std_hz",
    "sweep_rate_hz_per_s",
];

/// Whole-box features.
pub const BOX_FEATURES: [&str; 9] = [
    "rssi_db",
    "snr_db",
    "noise_floor_db",
    "freq_offset_hz",
    "occupied_bw_hz",
    "spectral_centroid_hz",
    "rolloff_hz",
    "hop_count",
    "duration_s",
];

/// Sub-windows a box is cut into.
pub const SUBWINDOWS: usize = 8;

/// Feature names in vector order.
pub fn feature_names() -> Vec<String> {
    let mut names: Vec<String> = BOX_FEATURES.iter().map(|s| s.to_string()).collect();
    for f in SUBWINDOW_FEATURES {
        for agg in ["mean", "std", "min", "max"] {
            names.push(format!("{f}_{agg}"));
        }
    }
    names
}

/// A candidate's features, in [`feature_names`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// Values.
    pub values: Vec<f32>,
}

impl Features {
    /// The value named `name`.
    pub fn get(&self, name: &str) -> Option<f32> {
        feature_names()
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.values.get(i).copied())
    }
}

/// Computes the features of `b` from `iq` (whose first sample is time 0 of the box's
/// clock) at `fs`.
pub fn features(iq: &[Complex32], fs: f64, b: &TfBox) -> Features {
    let i0 = ((b.start_s * fs).max(0.0) as usize).min(iq.len());
    let i1 = ((b.stop_s * fs).max(0.0) as usize).clamp(i0, iq.len());
    let center = 0.5 * (b.freq_lo_hz + b.freq_hi_hz);
    let width = (b.freq_hi_hz - b.freq_lo_hz).max(fs / 4096.0);
    let x = band_limit(&iq[i0..i1], fs, center, width);

    let (spectrum_centroid, occupied, rolloff) = spectral(&x, fs);
    let inst = inst_freq(&x, fs);
    let hops = hop_count(&inst, width);
    let rssi = mean_power(&x);
    let mut values = vec![
        db(rssi),
        b.snr_db,
        b.noise_floor_db,
        center as f32,
        occupied,
        spectrum_centroid,
        rolloff,
        hops as f32,
        (b.stop_s - b.start_s) as f32,
    ];

    let n = x.len();
    let per: Vec<[f32; 8]> = (0..SUBWINDOWS)
        .filter_map(|s| {
            let (a, z) = (s * n / SUBWINDOWS, (s + 1) * n / SUBWINDOWS);
            (z > a + 4).then(|| {
                subwindow(
                    &x[a..z],
                    &inst[a.min(inst.len())..z.saturating_sub(1).min(inst.len())],
                    fs,
                )
            })
        })
        .collect();
    for f in 0..SUBWINDOW_FEATURES.len() {
        let v: Vec<f32> = per.iter().map(|p| p[f]).collect();
        values.extend(aggregate(&v));
    }
    Features { values }
}

fn db(p: f32) -> f32 {
    10.0 * p.max(1e-30).log10()
}

fn mean_power(x: &[Complex32]) -> f32 {
    x.iter().map(|c| c.norm_sqr()).sum::<f32>() / x.len().max(1) as f32
}

/// Mixes `center` to 0 Hz and keeps ±width/2 (an FFT mask over the whole segment).
pub(crate) fn band_limit(x: &[Complex32], fs: f64, center: f64, width: f64) -> Vec<Complex32> {
    let n = x.len();
    if n == 0 {
        return Vec::new();
    }
    let mut y = mix(x, fs, center);
    let (forward, inverse) = plans(n);
    forward.process(&mut y);
    let keep = ((0.5 * width / fs) * n as f64).ceil() as usize + 1;
    for (k, v) in y.iter_mut().enumerate() {
        let dist = k.min(n - k);
        if dist > keep {
            *v = Complex32::default();
        }
    }
    inverse.process(&mut y);
    let scale = 1.0 / n as f32;
    y.iter_mut().for_each(|v| *v *= scale);
    y
}

thread_local! {
    /// Plans by size for [`band_limit`], per thread; dropped once they span too many sizes
    /// (segment lengths vary), so it stays small.
    static PLANS: std::cell::RefCell<(FftPlanner<f32>, std::collections::HashSet<usize>)> =
        std::cell::RefCell::new((FftPlanner::new(), std::collections::HashSet::new()));
}

type Plan = std::sync::Arc<dyn rustfft::Fft<f32>>;

/// Forward and inverse FFT plans of size `n` (planning a large size costs more than running it).
fn plans(n: usize) -> (Plan, Plan) {
    PLANS.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.1.len() >= 32 && !cell.1.contains(&n) {
            *cell = (FftPlanner::new(), std::collections::HashSet::new());
        }
        cell.1.insert(n);
        (cell.0.plan_fft_forward(n), cell.0.plan_fft_inverse(n))
    })
}

/// `x` shifted by −`center` Hz (a rotator, re-anchored every 1024 samples so rounding
/// does not accumulate).
pub(crate) fn mix(x: &[Complex32], fs: f64, center: f64) -> Vec<Complex32> {
    let step = -std::f64::consts::TAU * center / fs;
    let rot = Complex32::new(step.cos() as f32, step.sin() as f32);
    let mut ph = Complex32::new(1.0, 0.0);
    x.iter()
        .enumerate()
        .map(|(i, c)| {
            if i % 1024 == 0 {
                let p = step * i as f64;
                ph = Complex32::new(p.cos() as f32, p.sin() as f32);
            }
            let v = c * ph;
            ph *= rot;
            v
        })
        .collect()
}

/// (centroid offset Hz, 99 % occupied bandwidth Hz, 85 % roll-off Hz) of the band-limited
/// segment's spectrum (averaged 256-point periodogram).
fn spectral(x: &[Complex32], fs: f64) -> (f32, f32, f32) {
    const N: usize = 256;
    if x.len() < N {
        return (0.0, 0.0, 0.0);
    }
    let fft = FftPlanner::<f32>::new().plan_fft_forward(N);
    let mut psd = vec![0.0f32; N];
    let mut buf = vec![Complex32::default(); N];
    for chunk in x.chunks_exact(N) {
        buf.copy_from_slice(chunk);
        fft.process(&mut buf);
        for (k, c) in buf.iter().enumerate() {
            psd[(k + N / 2) % N] += c.norm_sqr();
        }
    }
    let total: f32 = psd.iter().sum::<f32>().max(1e-30);
    let hz = |k: usize| ((k as f64 - (N / 2) as f64) * fs / N as f64) as f32;
    let centroid = psd.iter().enumerate().map(|(k, p)| hz(k) * p).sum::<f32>() / total;
    let mut acc = 0.0;
    let (mut lo, mut hi, mut roll) = (0, N - 1, N - 1);
    let mut found_lo = false;
    for (k, p) in psd.iter().enumerate() {
        acc += p;
        if !found_lo && acc >= 0.005 * total {
            lo = k;
            found_lo = true;
        }
        if acc >= 0.85 * total && roll == N - 1 {
            roll = k;
        }
        if acc >= 0.995 * total {
            hi = k;
            break;
        }
    }
    (
        centroid,
        (hz(hi) - hz(lo)).abs() + (fs / N as f64) as f32,
        hz(roll),
    )
}

/// Instantaneous frequency (Hz) between consecutive samples.
fn inst_freq(x: &[Complex32], fs: f64) -> Vec<f32> {
    let k = (fs / std::f64::consts::TAU) as f32;
    x.windows(2)
        .map(|w| (w[1] * w[0].conj()).arg() * k)
        .collect()
}

/// Abrupt changes of the smoothed instantaneous frequency by more than a fifth of the band.
fn hop_count(inst: &[f32], width: f64) -> usize {
    const SMOOTH: usize = 64;
    if inst.len() < 4 * SMOOTH {
        return 0;
    }
    let means: Vec<f32> = inst
        .chunks(SMOOTH)
        .map(|c| c.iter().sum::<f32>() / c.len() as f32)
        .collect();
    let jump = (width / 5.0) as f32;
    means
        .windows(2)
        .filter(|w| (w[1] - w[0]).abs() > jump)
        .count()
}

fn subwindow(x: &[Complex32], inst: &[f32], fs: f64) -> [f32; 8] {
    let env: Vec<f32> = x.iter().map(|c| c.norm()).collect();
    let (m, s) = mean_std(&env);
    let peak = env.iter().cloned().fold(0.0f32, f32::max);
    let p = mean_power(x);
    let papr = db(peak * peak / p.max(1e-30));
    let zc = x
        .windows(2)
        .filter(|w| (w[0].re >= 0.0) != (w[1].re >= 0.0))
        .count() as f32
        / x.len() as f32;
    let (fm, fsd) = mean_std(inst);
    // Sweep: least-squares slope of instantaneous frequency over time.
    let n = inst.len() as f32;
    let slope = if n > 2.0 {
        let tm = (n - 1.0) / 2.0;
        let (num, den) = inst
            .iter()
            .enumerate()
            .fold((0.0f32, 0.0f32), |(a, b), (i, f)| {
                let dt = i as f32 - tm;
                (a + dt * (f - fm), b + dt * dt)
            });
        num / den.max(1e-12) * fs as f32
    } else {
        0.0
    };
    [m, s, peak, papr, zc, fm, fsd, slope]
}

fn mean_std(v: &[f32]) -> (f32, f32) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let m = v.iter().sum::<f32>() / v.len() as f32;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / v.len() as f32;
    (m, var.sqrt())
}

fn aggregate(v: &[f32]) -> [f32; 4] {
    if v.is_empty() {
        return [0.0; 4];
    }
    let (m, s) = mean_std(v);
    let lo = v.iter().cloned().fold(f32::INFINITY, f32::min);
    let hi = v.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    [m, s, lo, hi]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tfbox(start_s: f64, stop_s: f64, lo: f64, hi: f64) -> TfBox {
        TfBox::spanning(start_s, stop_s, lo, hi)
    }

    fn chirp(fs: f64, secs: f64, f0: f64, f1: f64) -> Vec<Complex32> {
        let n = (fs * secs) as usize;
        let k = (f1 - f0) / secs;
        (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                let ph = std::f64::consts::TAU * (f0 * t + 0.5 * k * t * t);
                Complex32::new(ph.cos() as f32, ph.sin() as f32)
            })
            .collect()
    }

    #[test]
    fn names_and_values_line_up() {
        assert_eq!(
            feature_names().len(),
            BOX_FEATURES.len() + 4 * SUBWINDOW_FEATURES.len()
        );
        let fs = 1e6;
        let f = features(
            &chirp(fs, 0.05, 100e3, 200e3),
            fs,
            &tfbox(0.0, 0.05, 90e3, 210e3),
        );
        assert_eq!(f.values.len(), feature_names().len());
        assert!(f.values.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn a_chirp_shows_its_sweep_and_a_tone_does_not() {
        let fs = 1e6;
        let b = tfbox(0.0, 0.05, 90e3, 210e3);
        let f = features(&chirp(fs, 0.05, 100e3, 200e3), fs, &b);
        let sweep = f.get("sweep_rate_hz_per_s_mean").unwrap();
        assert!((sweep - 2e6).abs() < 0.2e6, "sweep {sweep}");
        let papr = f.get("papr_db_mean").unwrap();
        assert!(papr < 1.5, "constant envelope: {papr}");
        let tone = features(
            &chirp(fs, 0.05, 150e3, 150e3),
            fs,
            &tfbox(0.0, 0.05, 149e3, 151e3),
        );
        assert!(tone.get("sweep_rate_hz_per_s_mean").unwrap().abs() < 1e4);
        assert!(tone.get("occupied_bw_hz").unwrap() < 20e3);
        assert!(f.get("occupied_bw_hz").unwrap() > 80e3);
        assert_eq!(tone.get("hop_count").unwrap(), 0.0);
    }

    #[test]
    fn empty_or_out_of_range_boxes_do_not_panic() {
        let f = features(&[], 1e6, &tfbox(0.0, 1.0, 0.0, 1.0));
        assert!(f.values.iter().all(|v| v.is_finite()));
        let f = features(
            &chirp(1e6, 0.01, 0.0, 0.0),
            1e6,
            &tfbox(5.0, 6.0, -1.0, 1.0),
        );
        assert!(f.values.iter().all(|v| v.is_finite()));
    }
}
