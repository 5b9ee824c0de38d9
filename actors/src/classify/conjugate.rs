//! Conjugate spectral lines near a box: raising a phase-coded signal to the power of its
//! alphabet (x² for BPSK, x⁴ for QPSK) strips the code and leaves a line at k·carrier.
//! Measured over the whole band, so a box holding one line of a code's comb still finds
//! its emitter's carrier, wherever in the emission that line sits.

use rustfft::FftPlanner;

use super::input::{prev_pow2, summed_spectra};
use crate::dsp::Complex32;
use crate::dsp::features::mix;

/// Powers looked at.
const POWERS: [u32; 2] = [2, 4];
/// Carrier search ranges around the box centre: near the box, a narrow emission, a wide one.
const RANGES: usize = 3;
/// Values pushed: per power, the line strength in each range, the offset of the widest
/// range's peak, and the shape of that line over time ([`line_shape`]).
pub const CONJUGATE: usize = POWERS.len() * (RANGES + 1 + 3);
/// Samples averaged per step when following a line over time (27 µs at 2.4 Msps).
const BLOCK: usize = 64;

/// Samples looked at around the box: at least this many (the box's span widened
/// symmetrically, within the IQ), so short boxes still get a stable spectrum.
const MIN_SPAN: usize = 1 << 14;
/// Most samples looked at.
const MAX_SPAN: usize = 1 << 16;
/// Welch segment length.
const NFFT: usize = 4096;

/// Appends [`CONJUGATE`] values for a box centred at `center` Hz, `width` Hz wide, whose
/// samples are `iq[i0..i1]`: for x² then x⁴, the peak-to-median ratio (dB / 10) of the
/// power's averaged spectrum within k·R of k·centre for R = a few box widths, 100 kHz and
/// 550 kHz, then where the widest range's peak lies (carrier offset / R, in −1 … 1), then
/// that line followed over time ([`line_shape`]): a pulsed code's line comes and goes with
/// its pulses, a continuous code's stays.
pub fn conjugate_lines(
    planner: &mut FftPlanner<f32>,
    iq: &[Complex32],
    (i0, i1): (usize, usize),
    fs: f64,
    (center, width): (f64, f64),
    out: &mut Vec<f32>,
) {
    let (a, z) = widen(i0, i1, iq.len());
    let seg = &iq[a..z];
    if seg.len() < 64 || !fs.is_finite() || fs <= 0.0 || !center.is_finite() || !width.is_finite() {
        out.extend([0.0; CONJUGATE]);
        return;
    }
    let rms = (seg.iter().map(|c| c.norm_sqr()).sum::<f32>() / seg.len() as f32)
        .sqrt()
        .max(1e-30);
    let nfft = prev_pow2(seg.len()).clamp(256, NFFT);
    let ranges = [(4.0 * width).max(5e3), 100e3, 550e3];
    for k in POWERS {
        let y: Vec<Complex32> = seg.iter().map(|&c| (c / rms).powu(k)).collect();
        let p = summed_spectra(planner, &y, nfft);
        let median = median(&p).max(1e-30);
        let bin_hz = fs / nfft as f64;
        let target = f64::from(k) * center;
        let mut last = (0.0, 0.0);
        for r in ranges {
            let half = (f64::from(k) * r).min(0.5 * fs);
            let (peak, at) = peak_near(&p, bin_hz, fs, target, half);
            out.push(10.0 * (peak / median).max(1e-30).log10() / 10.0);
            last = (at, half);
        }
        out.push((last.0 / last.1) as f32);
        out.extend(line_shape(&mix(&y, fs, target + last.0)));
    }
}

/// A line mixed to 0 Hz, followed in blocks of [`BLOCK`] samples: (share of blocks whose
/// coherent mean is above half the 95th percentile, the coefficient of variation of those
/// means, mean |coherent mean| / mean of |y| — near 1 where the line holds all the power).
fn line_shape(y: &[Complex32]) -> [f32; 3] {
    let blocks: Vec<(f32, f32)> = y
        .chunks_exact(BLOCK)
        .map(|c| {
            let sum: Complex32 = c.iter().sum();
            let mag: f32 = c.iter().map(|v| v.norm()).sum();
            (sum.norm() / BLOCK as f32, mag / BLOCK as f32)
        })
        .collect();
    if blocks.is_empty() {
        return [0.0; 3];
    }
    let n = blocks.len() as f32;
    let mut means: Vec<f32> = blocks.iter().map(|b| b.0).collect();
    let mean = means.iter().sum::<f32>() / n;
    let var = means.iter().map(|m| (m - mean) * (m - mean)).sum::<f32>() / n;
    let mags = blocks.iter().map(|b| b.1).sum::<f32>() / n;
    let at = ((means.len() - 1) as f32 * 0.95) as usize;
    let high = *means.select_nth_unstable_by(at, f32::total_cmp).1;
    let duty = blocks.iter().filter(|b| b.0 > 0.5 * high).count() as f32 / n;
    [duty, var.sqrt() / mean.max(1e-30), mean / mags.max(1e-30)]
}

/// `[i0, i1)` widened symmetrically to at least [`MIN_SPAN`] samples within `0..len`, then
/// cut to its middle [`MAX_SPAN`].
fn widen(i0: usize, i1: usize, len: usize) -> (usize, usize) {
    let (i0, i1) = (i0.min(len), i1.clamp(i0.min(len), len));
    let grow = MIN_SPAN.saturating_sub(i1 - i0) / 2;
    let (mut a, mut z) = (i0.saturating_sub(grow), (i1 + grow).min(len));
    if z - a > MAX_SPAN {
        a += (z - a - MAX_SPAN) / 2;
        z = a + MAX_SPAN;
    }
    (a, z)
}

/// The largest bin of the fft-shifted spectrum `p` within `half` Hz of `target` (taken
/// modulo `fs`, so k·centre aliases as the power's spectrum does), and its offset from
/// `target` in Hz.
fn peak_near(p: &[f32], bin_hz: f64, fs: f64, target: f64, half: f64) -> (f32, f64) {
    let n = p.len();
    let mut best = (0.0f32, 0.0f64);
    for (j, &v) in p.iter().enumerate() {
        let f = (j as f64 - (n / 2) as f64) * bin_hz;
        let d = (f - target).rem_euclid(fs);
        let d = if d > 0.5 * fs { d - fs } else { d };
        if d.abs() <= half.max(bin_hz) && v > best.0 {
            best = (v, d);
        }
    }
    best
}

fn median(p: &[f32]) -> f32 {
    let mut v = p.to_vec();
    let mid = v.len() / 2;
    if v.is_empty() {
        return 0.0;
    }
    *v.select_nth_unstable_by(mid, f32::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BPSK at `carrier` (`chip` samples per chip), keyed on where `on(i)`, plus unit-power
    /// noise over the whole band (sums of uniforms, near Gaussian).
    fn bpsk(
        n: usize,
        fs: f64,
        carrier: f64,
        chip: usize,
        on: impl Fn(usize) -> bool,
    ) -> Vec<Complex32> {
        let mut state = 0x2545_f491_u32;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let mut sign = 1.0f32;
        (0..n)
            .map(|i| {
                if i % chip == 0 {
                    sign = if next() & 1 == 0 { 1.0 } else { -1.0 };
                }
                let mut uniform = || next() as f32 / u32::MAX as f32 - 0.5;
                let re: f32 = (0..6).map(|_| uniform()).sum();
                let im: f32 = (0..6).map(|_| uniform()).sum();
                let ph = std::f64::consts::TAU * carrier * i as f64 / fs;
                let s = if on(i) {
                    Complex32::from_polar(sign, ph as f32)
                } else {
                    Complex32::default()
                };
                s + Complex32::new(re, im)
            })
            .collect()
    }

    #[test]
    fn a_bpsk_carrier_is_found_from_a_box_on_its_side() {
        let fs = 2.4e6;
        let x = bpsk(40_000, fs, 300e3, 24, |_| true);
        let mut planner = FftPlanner::new();
        let mut out = Vec::new();
        // A box 60 kHz off the carrier, inside the 200 kHz-wide emission.
        conjugate_lines(&mut planner, &x, (0, x.len()), fs, (360e3, 2e3), &mut out);
        assert_eq!(out.len(), CONJUGATE);
        // x²: no line within a few box widths, a strong one within 100 kHz.
        assert!(out[0] < 1.0, "{out:?}");
        assert!(out[1] > 2.0 && out[2] > 2.0, "{out:?}");
        // The widest range's peak sits at 2·(300 − 360) kHz of 2·550 kHz.
        assert!((out[3] - (-120.0 / 1100.0)).abs() < 0.01, "{out:?}");
        // The line is there all the time.
        assert!(out[4] > 0.9, "{out:?}");
        // BPSK⁴ is a line too.
        assert!(out[9] > 1.0, "{out:?}");
    }

    #[test]
    fn a_pulsed_code_shows_its_duty_on_the_conjugate_line() {
        let fs = 2.4e6;
        // 25 % duty, 4,000-sample period: only noise between the pulses.
        let x = bpsk(48_000, fs, -200e3, 24, |i| i % 4000 < 1000);
        let mut planner = FftPlanner::new();
        let mut out = Vec::new();
        conjugate_lines(&mut planner, &x, (0, x.len()), fs, (-230e3, 2e3), &mut out);
        assert!(out[2] > 1.5, "{out:?}");
        assert!((out[4] - 0.25).abs() < 0.08, "duty {out:?}");
    }

    #[test]
    fn short_or_empty_input_gives_zeros_of_the_same_length() {
        let mut planner = FftPlanner::new();
        for (iq, span) in [
            (vec![], (0, 0)),
            (vec![Complex32::new(1.0, 0.0); 10], (3, 2)),
        ] {
            let mut out = Vec::new();
            conjugate_lines(&mut planner, &iq, span, 2.4e6, (0.0, 1e3), &mut out);
            assert_eq!(out, vec![0.0; CONJUGATE]);
        }
    }
}
