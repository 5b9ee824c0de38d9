//! A token bucket (sans-IO): the per-connection rate limit of device ingest.

/// A token bucket (sans-IO): `rate` tokens a second, at most `burst` saved up.
#[derive(Clone, Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last_us: u64,
}

impl TokenBucket {
    /// A full bucket at `now_us`.
    pub fn new(rate: f64, burst: f64, now_us: u64) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last_us: now_us,
        }
    }

    /// Takes one token at `now_us`; false when there is none.
    pub fn take(&mut self, now_us: u64) -> bool {
        let dt = now_us.saturating_sub(self.last_us) as f64 / 1e6;
        self.last_us = self.last_us.max(now_us);
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let mut b = TokenBucket::new(10.0, 5.0, 0);
        assert!((0..5).all(|_| b.take(0)));
        assert!(!b.take(0), "burst spent");
        assert!(b.take(100_000), "one token per 100 ms");
        assert!(!b.take(100_000));
        assert!(
            (0..5).all(|_| b.take(10_000_000)),
            "refilled to the burst, not beyond"
        );
        assert!(!b.take(10_000_000));
        assert!(!b.take(5_000_000), "time going back gives nothing");
    }
}
