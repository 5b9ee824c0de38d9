//! Detection thresholds for sums of noise-normalised power cells: how many independent
//! cells a window of correlated rows and bins is worth, and the exact Gamma tail threshold.

/// Independent cells worth of T rows × F bins.
pub fn effective_cells(rows: usize, bins: usize, row_corr: f64, bin_corr: f64) -> usize {
    let r = if rows > 1 {
        rows as f64 / row_corr
    } else {
        1.0
    };
    let b = if bins > 1 {
        bins as f64 / bin_corr
    } else {
        1.0
    };
    ((r * b).floor() as usize).max(1)
}

/// Threshold on the mean of `n` independent unit-mean exponentials (a Gamma(n, 1/n) variable)
/// exceeded with probability `pfa`. Exact for integer `n`:
/// P(sum > x) = e^{−x} Σ_{k<n} x^k / k!, solved by bisection in log space.
pub fn gamma_mean_threshold(n: usize, pfa: f64) -> f64 {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    // Solving costs O(n) per step; detectors are made often (restarts, tests): remember.
    static KNOWN: OnceLock<Mutex<HashMap<(usize, u64), f64>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    let key = (n, pfa.to_bits());
    if let Some(t) = known.lock().ok().and_then(|m| m.get(&key).copied()) {
        return t;
    }
    let t = solve_gamma_mean_threshold(n, pfa);
    if let Ok(mut m) = known.lock() {
        m.insert(key, t);
    }
    t
}

fn solve_gamma_mean_threshold(n: usize, pfa: f64) -> f64 {
    let n = n.max(1);
    if n == 1 {
        return -pfa.ln();
    }
    let target = pfa.ln();
    let log_tail = |x: f64| {
        // log Σ_{k<n} exp(k ln x − x − ln k!)
        let mut terms = Vec::with_capacity(n);
        let mut lfact = 0.0;
        for k in 0..n {
            if k > 0 {
                lfact += (k as f64).ln();
            }
            terms.push(k as f64 * x.ln() - x - lfact);
        }
        let m = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
    };
    let nf = n as f64;
    let (mut lo, mut hi) = (nf, nf + 20.0 * nf.sqrt() + 60.0);
    for _ in 0..64 {
        let mid = 0.5 * (lo + hi);
        if log_tail(mid) > target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi) / nf
}
