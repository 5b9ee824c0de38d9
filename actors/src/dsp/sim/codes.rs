//! Code sequences of the coded waveforms (Barker-13, Welch-Costas, Frank, P4) and the chip
//! keyer that turns one into band-limited complex baseband.

use std::f64::consts::PI;

use rustfft::num_complex::Complex32;

/// The length-13 Barker code (chips ±1): aperiodic autocorrelation sidelobes of magnitude ≤ 1.
pub const BARKER13: [i8; 13] = [1, 1, 1, 1, 1, -1, -1, 1, 1, -1, 1, -1, 1];

/// Whether `p` is prime.
pub fn is_prime(p: u32) -> bool {
    let p = u64::from(p);
    p >= 2 && (2..).take_while(|d| d * d <= p).all(|d| p % d != 0)
}

fn pow_mod(base: u64, mut exp: u64, m: u64) -> u64 {
    let (mut acc, mut b) = (1 % m, base % m);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * b % m;
        }
        b = b * b % m;
        exp >>= 1;
    }
    acc
}

/// The smallest primitive root modulo the prime `p` (None when `p` is not prime).
pub fn primitive_root(p: u32) -> Option<u32> {
    if !is_prime(p) {
        return None;
    }
    let order = u64::from(p) - 1;
    let mut factors = Vec::new();
    let mut rest = order;
    let mut d = 2;
    while d * d <= rest {
        if rest % d == 0 {
            factors.push(d);
            while rest % d == 0 {
                rest /= d;
            }
        }
        d += 1;
    }
    if rest > 1 {
        factors.push(rest);
    }
    (1..p).find(|&g| {
        factors
            .iter()
            .all(|&q| pow_mod(u64::from(g), order / q, u64::from(p)) != 1)
    })
}

/// Welch-constructed Costas sequence of order `p − 1` for a prime `p ≥ 3`:
/// `a_i = g^(i+1) mod p` for `i = 0..p−1` with `g` a primitive root, so the values are a
/// permutation of `1..=p−1` (frequency index of hop `i`). None when `p` is not such a prime.
pub fn welch_costas(p: u32) -> Option<Vec<u32>> {
    if p < 3 {
        return None;
    }
    let g = u64::from(primitive_root(p)?);
    // Each value is < p, so it fits back into u32.
    Some(
        (1..u64::from(p))
            .map(|i| pow_mod(g, i, u64::from(p)) as u32)
            .collect(),
    )
}

/// Frank code phases (rad) of `m²` chips: `φ(i, j) = 2π·i·j / m`, `i, j = 0..m`.
pub fn frank(m: u32) -> Vec<f64> {
    let m = u64::from(m);
    (0..m * m)
        .map(|c| 2.0 * PI * ((c / m) * (c % m)) as f64 / m as f64)
        .collect()
}

/// P4 code phases (rad) of `n` chips: `φ_k = π·k²/n − π·k`, `k = 0..n`.
pub fn p4(n: u32) -> Vec<f64> {
    let nf = f64::from(n);
    (0..n)
        .map(|k| {
            let k = f64::from(k);
            PI * k * k / nf - PI * k
        })
        .collect()
}

/// Raised-cosine weight `(1 − cos πx)/2` for `x ∈ [0, 1]`: 0 → 1 with zero slope at both ends.
pub(crate) fn rc_ramp(x: f64) -> f64 {
    0.5 - 0.5 * (PI * x.clamp(0.0, 1.0)).cos()
}

/// A code keyed at a chip rate. Each chip cross-fades from the previous chip's symbol to its
/// own with a raised-cosine weight spanning the whole chip: the transmitter's band limit.
/// With that shaping ≥ 99.9 % of the energy of BPSK/polyphase codes lies within ±Rc (the
/// main lobe of rectangular chips), where rectangular chips would leave ~10 % outside.
#[derive(Clone, Debug)]
pub(crate) struct ChipKeyer {
    /// Symbols of one period; chip positions at or past `code.len()` in a period are silent.
    pub code: Vec<Complex32>,
    /// Chips per period (≥ `code.len()`).
    pub period: u64,
    /// Chips carrying symbols, `[0, active)`; the chip after them fades out to silence.
    pub active: u64,
    /// Chip rate / sample rate.
    pub chips_per_sample: f64,
}

impl ChipKeyer {
    fn symbol(&self, chip: i64) -> Complex32 {
        if chip < 0 || chip as u64 >= self.active {
            return Complex32::new(0.0, 0.0);
        }
        let i = (chip as u64 % self.period) as usize;
        self.code.get(i).copied().unwrap_or_default()
    }

    /// Samples from the first chip's start to the end of the fade-out chip.
    pub fn on_samples(&self) -> u64 {
        ((self.active + 1) as f64 / self.chips_per_sample).ceil() as u64
    }

    /// Mean power over the on-interval. A chip fading from `a` to `b` with weight `w(u)`
    /// carries `∫|a(1−w) + b·w|² du = 3/8·(|a|² + |b|²) + 1/4·Re(a·b*)` (in chip units),
    /// since `∫(1−w)² = ∫w² = 3/8` and `∫w(1−w) = 1/8` for the raised cosine. Chips
    /// `1..active` depend only on their index modulo the period, so whole periods are
    /// summed once.
    pub fn mean_power(&self) -> f64 {
        let chip = |c: u64| {
            let (a, b) = (self.symbol(c as i64 - 1), self.symbol(c as i64));
            0.375 * f64::from(a.norm_sqr() + b.norm_sqr()) + 0.25 * f64::from((a * b.conj()).re)
        };
        let interior = self.active.saturating_sub(1);
        let periods = interior / self.period;
        let per_period: f64 = if periods > 0 {
            (1..=self.period).map(chip).sum()
        } else {
            0.0
        };
        let rest: f64 = (1 + periods * self.period..self.active).map(chip).sum();
        let energy = chip(0) + chip(self.active) + periods as f64 * per_period + rest;
        energy / (self.active + 1) as f64
    }

    /// Envelope of local samples `n0..n0 + env.len()`.
    pub fn fill(&self, n0: u64, env: &mut [Complex32]) {
        for (i, e) in env.iter_mut().enumerate() {
            let x = (n0 + i as u64) as f64 * self.chips_per_sample;
            let chip = x.floor();
            let w = rc_ramp(x - chip) as f32;
            let (a, b) = (self.symbol(chip as i64 - 1), self.symbol(chip as i64));
            *e = a + (b - a) * w;
        }
    }
}
