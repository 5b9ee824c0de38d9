//! Event rates (sans-IO): events counted per key (a node, a sensor) in one-second buckets
//! over the last minute — the rate now and the history the sparklines draw.

use std::collections::BTreeMap;

/// Seconds of history kept.
pub const HISTORY_S: usize = 60;
/// Seconds the rate "now" averages over.
const RATE_WINDOW_S: u64 = 10;

#[derive(Clone, Debug)]
struct Series {
    /// Count per second; index = second % HISTORY_S.
    buckets: [u32; HISTORY_S],
    /// The second the newest bucket holds.
    newest_s: u64,
}

impl Series {
    fn new(now_s: u64) -> Self {
        Self {
            buckets: [0; HISTORY_S],
            newest_s: now_s,
        }
    }

    /// Moves the newest bucket up to `now_s`, zeroing the seconds skipped.
    fn advance(&mut self, now_s: u64) {
        if now_s <= self.newest_s {
            return;
        }
        let steps = (now_s - self.newest_s).min(HISTORY_S as u64);
        for i in 1..=steps {
            self.buckets[((self.newest_s + i) % HISTORY_S as u64) as usize] = 0;
        }
        self.newest_s = now_s;
    }

    fn count(&self, sec: u64) -> u32 {
        if sec > self.newest_s || self.newest_s - sec >= HISTORY_S as u64 {
            return 0;
        }
        self.buckets[(sec % HISTORY_S as u64) as usize]
    }
}

/// Event counts per key.
#[derive(Clone, Debug, Default)]
pub struct EventRates {
    series: BTreeMap<String, Series>,
}

impl EventRates {
    /// Counts `n` events of `key` at second `now_s`.
    pub fn record(&mut self, key: &str, now_s: u64, n: u32) {
        let s = self
            .series
            .entry(key.to_string())
            .or_insert_with(|| Series::new(now_s));
        s.advance(now_s);
        if now_s + HISTORY_S as u64 > s.newest_s {
            let i = (now_s % HISTORY_S as u64) as usize;
            s.buckets[i] = s.buckets[i].saturating_add(n);
        }
    }

    /// Events per second of `key` over the last ten whole seconds before `now_s`.
    pub fn rate(&self, key: &str, now_s: u64) -> f64 {
        let Some(s) = self.series.get(key) else {
            return 0.0;
        };
        let sum: u64 = (1..=RATE_WINDOW_S)
            .map(|i| u64::from(s.count(now_s.saturating_sub(i))))
            .sum();
        sum as f64 / RATE_WINDOW_S as f64
    }

    /// Counts per second of `key` for the last minute, oldest first, ending at `now_s - 1`.
    pub fn history(&self, key: &str, now_s: u64) -> Vec<u32> {
        let Some(s) = self.series.get(key) else {
            return vec![0; HISTORY_S];
        };
        (1..=HISTORY_S as u64)
            .rev()
            .map(|i| s.count(now_s.saturating_sub(i)))
            .collect()
    }

    /// Forgets keys with nothing in the last minute.
    pub fn prune(&mut self, now_s: u64) {
        self.series
            .retain(|_, s| s.newest_s + HISTORY_S as u64 > now_s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_history_follow_the_clock() {
        let mut r = EventRates::default();
        for sec in 100..110 {
            r.record("n1", sec, 5);
        }
        assert_eq!(r.rate("n1", 110), 5.0);
        assert_eq!(r.rate("n1", 115), 2.5, "half the window is quiet");
        assert_eq!(r.rate("other", 110), 0.0);
        let h = r.history("n1", 110);
        assert_eq!(h.len(), HISTORY_S);
        assert_eq!(h[HISTORY_S - 10..], [5; 10]);
        assert_eq!(h[..HISTORY_S - 10], [0; HISTORY_S - 10]);
        // Two minutes later the old counts are gone, even though the buckets are reused.
        r.record("n1", 230, 1);
        assert_eq!(r.history("n1", 231).iter().sum::<u32>(), 1);
        r.prune(400);
        assert_eq!(r.history("n1", 400), vec![0; HISTORY_S]);
    }
}
