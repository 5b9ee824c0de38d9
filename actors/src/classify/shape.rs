//! Time-domain shape of a band-limited candidate for the model input: where its
//! instantaneous frequency sits, and how its envelope comes and goes.

use super::input::IF_BINS;
use crate::dsp::Complex32;

/// Power-weighted histogram of the instantaneous frequency over ±view/2, summing to 1.
/// The phase step is taken over a lag that keeps ±view unambiguous.
pub(super) fn inst_freq_histogram(x: &[Complex32], fs: f64, view: f64, out: &mut Vec<f32>) {
    let lag = ((fs / (2.0 * view)).floor() as usize).clamp(1, 64);
    let mut hist = [0.0f32; IF_BINS];
    let k = fs / (std::f64::consts::TAU * lag as f64);
    for i in 0..x.len().saturating_sub(lag) {
        let p = x[i + lag] * x[i].conj();
        let f = f64::from(p.arg()) * k;
        let w = p.norm();
        let bin = ((f / view + 0.5) * IF_BINS as f64).floor();
        if (0.0..IF_BINS as f64).contains(&bin) {
            hist[bin as usize] += w;
        }
    }
    let total: f32 = hist.iter().sum::<f32>().max(1e-30);
    out.extend(hist.iter().map(|h| h / total));
}

/// (share of time the smoothed envelope is above half its maximum, its coefficient of
/// variation).
pub(super) fn envelope_shape(x: &[Complex32]) -> (f32, f32) {
    const SMOOTH: usize = 64;
    let env: Vec<f32> = x
        .chunks(SMOOTH)
        .map(|c| c.iter().map(|v| v.norm_sqr()).sum::<f32>() / c.len() as f32)
        .collect();
    if env.is_empty() {
        return (0.0, 0.0);
    }
    let peak = env.iter().cloned().fold(0.0f32, f32::max);
    let duty = env.iter().filter(|&&v| v > 0.5 * peak).count() as f32 / env.len() as f32;
    let mean = env.iter().sum::<f32>() / env.len() as f32;
    let var = env.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / env.len() as f32;
    (duty, var.sqrt() / mean.max(1e-30))
}
