//! The spectral path's inner loops, compiled twice: for AVX2+FMA (picked once per call by
//! run-time detection) and for the baseline target. No reassociation: both give the same bits.

use super::Complex32;

/// Defines `pub fn $name` whose body is compiled for AVX2+FMA and for the baseline target,
/// choosing at run time. The body must be plain loops the compiler can vectorise.
macro_rules! kernel {
    ($(#[$m:meta])* pub fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        pub fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn imp($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn wide($($arg: $ty),*) $(-> $ret)? { imp($($arg),*) }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has the features `wide` was compiled for.
                    return unsafe { wide($($arg),*) };
                }
            }
            imp($($arg),*)
        }
    };
}

/// Complex samples as interleaved re, im components.
pub fn flat(x: &[Complex32]) -> &[f32] {
    // SAFETY: `Complex<f32>` is `#[repr(C)]` { re, im }: two f32s, no padding.
    unsafe { std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), x.len() * 2) }
}

/// Mutable complex samples as interleaved re, im components.
pub fn flat_mut(x: &mut [Complex32]) -> &mut [f32] {
    // SAFETY: as in `flat`; the borrow is exclusive and covers the same bytes.
    unsafe { std::slice::from_raw_parts_mut(x.as_mut_ptr().cast::<f32>(), x.len() * 2) }
}

/// `out[i] = x[i] · w[i]` (a real window over complex samples).
pub fn windowed(out: &mut [Complex32], x: &[Complex32], w: &[f32]) {
    window_flat(flat_mut(out), flat(x), w);
}

kernel! {
    /// `out[2i + c] = x[2i + c] · w[i]` for both components c.
    pub fn window_flat(out: &mut [f32], x: &[f32], w: &[f32]) {
        for ((o, c), v) in out.chunks_exact_mut(16).zip(x.chunks_exact(16)).zip(w.chunks_exact(8)) {
            for i in 0..8 {
                o[2 * i] = c[2 * i] * v[i];
                o[2 * i + 1] = c[2 * i + 1] * v[i];
            }
        }
        let done = out.len() / 16 * 16;
        for ((o, c), v) in out[done..].chunks_exact_mut(2).zip(x[done..].chunks_exact(2)).zip(&w[done / 2..]) {
            o[0] = c[0] * v;
            o[1] = c[1] * v;
        }
    }
}

/// What a power pass saw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PowerSummary {
    /// The largest value (0 for none; NaN is skipped).
    pub max: f32,
    /// Whether every value is finite.
    pub finite: bool,
}

/// `out[i] = |x[i]|² · scale`.
pub fn power(out: &mut [f32], x: &[Complex32], scale: f32) -> PowerSummary {
    power_flat(out, flat(x), scale)
}

kernel! {
    /// `out[i] = (x[2i]² + x[2i+1]²) · scale`.
    pub fn power_flat(out: &mut [f32], x: &[f32], scale: f32) -> PowerSummary {
        let mut lanes = [0.0f32; 8];
        // NaN is flagged per lane; +∞ shows as the maximum.
        let mut nan = [0u32; 8];
        let mut o8 = out.chunks_exact_mut(8);
        let mut x16 = x.chunks_exact(16);
        for (o, c) in (&mut o8).zip(&mut x16) {
            for i in 0..8 {
                o[i] = (c[2 * i] * c[2 * i] + c[2 * i + 1] * c[2 * i + 1]) * scale;
                lanes[i] = if o[i] > lanes[i] { o[i] } else { lanes[i] };
                nan[i] |= u32::from(o[i].is_nan());
            }
        }
        let mut m = lanes.iter().fold(0.0f32, |a, b| if *b > a { *b } else { a });
        let mut any_nan = nan.iter().any(|v| *v != 0);
        for (o, c) in o8.into_remainder().iter_mut().zip(x16.remainder().chunks_exact(2)) {
            *o = (c[0] * c[0] + c[1] * c[1]) * scale;
            m = if *o > m { *o } else { m };
            any_nan |= o.is_nan();
        }
        PowerSummary { max: m, finite: !any_nan && m.is_finite() }
    }
}

/// Interleaved i16 I/Q pairs to complex samples scaled to ±1.0, replacing what `out` held
/// (a reused buffer of the same size is not cleared first, as a live source reuses one).
pub fn cs16_fill(out: &mut Vec<Complex32>, iq: &[i16]) {
    out.resize(iq.len() / 2, Complex32::default());
    i16_to_f32(flat_mut(out), iq);
}

kernel! {
    /// `out[i] = iq[i] / 32768`.
    pub fn i16_to_f32(out: &mut [f32], iq: &[i16]) {
        const SCALE: f32 = 1.0 / 32768.0;
        for (o, v) in out.iter_mut().zip(iq) {
            *o = f32::from(*v) * SCALE;
        }
    }
}

kernel! {
    /// `out[i] = 1 / x[i]`.
    pub fn reciprocal(out: &mut [f32], x: &[f32]) {
        for (o, v) in out.iter_mut().zip(x) {
            *o = 1.0 / v;
        }
    }
}

kernel! {
    /// `row[i] *= by[i]`.
    pub fn mul_assign(row: &mut [f32], by: &[f32]) {
        for (r, b) in row.iter_mut().zip(by) {
            *r *= b;
        }
    }
}

kernel! {
    /// `acc[i] += x[i]`.
    pub fn add_assign(acc: &mut [f32], x: &[f32]) {
        for (a, v) in acc.iter_mut().zip(x) {
            *a += v;
        }
    }
}

kernel! {
    /// `out[i] = median(a[i], b[i], c[i]) · scale`.
    pub fn median3(out: &mut [f32], a: &[f32], b: &[f32], c: &[f32], scale: f32) {
        for (((o, x), y), z) in out.iter_mut().zip(a).zip(b).zip(c) {
            let (lo, hi) = if x < y { (*x, *y) } else { (*y, *x) };
            let m = if *z < lo { lo } else if *z > hi { hi } else { *z };
            *o = m * scale;
        }
    }
}

kernel! {
    /// `out[i] = a[i] + b[i]`.
    pub fn add(out: &mut [f32], a: &[f32], b: &[f32]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = x + y;
        }
    }
}

kernel! {
    /// `out[j] = x[2j] + x[2j+1]`: halves the resolution.
    pub fn pairwise(out: &mut [f32], x: &[f32]) {
        for (o, p) in out.iter_mut().zip(x.chunks_exact(2)) {
            *o = p[0] + p[1];
        }
    }
}

kernel! {
    /// `out[j] = Σ x[8j .. 8j+8]`, summed as a balanced tree.
    pub fn sum8(out: &mut [f32], x: &[f32]) {
        for (o, c) in out.iter_mut().zip(x.chunks_exact(8)) {
            *o = ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7]));
        }
    }
}

kernel! {
    /// Exponential average of noise-only cells: where `power[i] · inv[i] < censor`,
    /// `mean[i] += alpha · (power[i] − mean[i])`.
    pub fn censored_average(mean: &mut [f32], power: &[f32], inv: &[f32], alpha: f32, censor: f32) {
        for ((m, p), i) in mean.iter_mut().zip(power).zip(inv) {
            let step = if p * i < censor { alpha * (p - *m) } else { 0.0 };
            *m += step;
        }
    }
}

kernel! {
    /// Cells above `thr` in blocks of 64: a bit set per cell, a block's word only where
    /// any cell exceeds (found by a running maximum, so quiet blocks cost one pass).
    pub fn exceed(x: &[f32], thr: f32, words: &mut [u64]) {
        for (word, block) in words.iter_mut().zip(x.chunks(64)) {
            let mut lanes = [f32::MIN; 8];
            let eights = block.chunks_exact(8);
            let rest = eights.remainder();
            for c in eights {
                for i in 0..8 {
                    lanes[i] = if c[i] > lanes[i] { c[i] } else { lanes[i] };
                }
            }
            *word = 0;
            if lanes.iter().chain(rest).any(|l| *l > thr) {
                for (i, v) in block.iter().enumerate() {
                    *word |= u64::from(*v > thr) << i;
                }
            }
        }
    }
}

kernel! {
    /// How many values exceed `thr`.
    pub fn count_over(x: &[f32], thr: f32) -> usize {
        x.iter().filter(|v| **v > thr).count()
    }
}

kernel! {
    /// Bit j of `words` set where `p[j] + p[j+1] > thr`, in blocks of 64 (found by a
    /// running maximum, so quiet blocks cost one pass); `words` needs ⌈(len − 1)/64⌉.
    pub fn exceed_pairs(p: &[f32], thr: f32, words: &mut [u64]) {
        let n = p.len().saturating_sub(1);
        let (a, b) = (&p[..n], &p[1..]);
        for ((word, ca), cb) in words.iter_mut().zip(a.chunks(64)).zip(b.chunks(64)) {
            let mut lanes = [f32::MIN; 8];
            let (a8, b8) = (ca.chunks_exact(8), cb.chunks_exact(8));
            let (ra, rb) = (a8.remainder(), b8.remainder());
            for (x, y) in a8.zip(b8) {
                for i in 0..8 {
                    let s = x[i] + y[i];
                    lanes[i] = if s > lanes[i] { s } else { lanes[i] };
                }
            }
            *word = 0;
            let rest = ra.iter().zip(rb).any(|(x, y)| x + y > thr);
            if rest || lanes.iter().any(|l| *l > thr) {
                for (i, (x, y)) in ca.iter().zip(cb).enumerate() {
                    *word |= u64::from(x + y > thr) << i;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_compute_what_they_say() {
        let x: Vec<f32> = (0..200).map(|i| (i % 13) as f32 * 0.5).collect();
        let mut p = vec![0.0; 100];
        pairwise(&mut p, &x);
        assert!(
            p.iter()
                .enumerate()
                .all(|(j, v)| *v == x[2 * j] + x[2 * j + 1])
        );
        let mut s = vec![0.0; 25];
        sum8(&mut s, &x);
        assert_eq!(s[3], x[24..32].iter().sum::<f32>());
        let mut words = vec![0u64; 4];
        exceed(&x, 5.5, &mut words);
        let above = count_over(&x, 5.0);
        let want: Vec<usize> = (0..200).filter(|i| x[*i] > 5.5).collect();
        let got: Vec<usize> = (0..200)
            .filter(|i| words[i / 64] >> (i % 64) & 1 == 1)
            .collect();
        assert_eq!(got, want);
        assert_eq!(above, x.iter().filter(|v| **v > 5.0).count());
        let mut words = vec![0u64; 4];
        exceed_pairs(&x, 11.0, &mut words);
        let got: Vec<usize> = (0..199)
            .filter(|j| words[j / 64] >> (j % 64) & 1 == 1)
            .collect();
        let want: Vec<usize> = (0..199).filter(|j| x[*j] + x[j + 1] > 11.0).collect();
        assert_eq!(got, want);
        let mut m = vec![1.0f32; 3];
        censored_average(&mut m, &[2.0, 9.0, 2.0], &[1.0, 1.0, 1.0], 0.5, 4.0);
        assert_eq!(m, vec![1.5, 1.0, 1.5]);
    }
}
