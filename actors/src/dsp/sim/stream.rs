//! An endless simulated scene for a live SDR sensor: emitters come and go at random and
//! consecutive windows are contiguous, phase-continuous slices of the same scene.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::channel::EmitterSource;
use super::scenario::random_emitter;
use super::{DEFAULT_NOISE_POWER, add_noise, sub_seed};
use crate::dsp::{Complex32, IqRecording, WaveformClass};

/// Mean time between emitter arrivals, s.
const MEAN_GAP_S: f64 = 0.25;
/// Emitter durations, s (log-uniform).
const DURATION_S: (f64, f64) = (0.03, 1.5);
/// Most emitters on at once.
const MAX_ACTIVE: usize = 4;
/// Least gap between the bands of emitters on at the same time, Hz.
const GUARD_HZ: f64 = 5e3;

/// Consecutive windows of an endless random scene (classes uniform, SNR −6…+20 dB,
/// 30 ms…1.5 s on, about four arrivals per second, at most four at once and never
/// overlapping in frequency while on together). The scene depends only on the seed:
/// windows of any sizes concatenate to the same samples as one long window.
pub struct SimStream {
    sample_rate_hz: f64,
    center_freq_hz: f64,
    noise_power: f64,
    start_us: u64,
    scene_rng: StdRng,
    noise_rng: StdRng,
    seed: u64,
    /// Scene sample of the next window's first sample.
    next_n: u64,
    /// Scene sample of the next arrival.
    next_arrival: u64,
    spawned: u64,
    active: Vec<EmitterSource>,
}

impl SimStream {
    /// A scene at `sample_rate_hz` around `center_freq_hz`, noise power
    /// [`DEFAULT_NOISE_POWER`], first sample at `start_us` 0 (see [`Self::with_start_us`]).
    pub fn new(seed: u64, sample_rate_hz: f64, center_freq_hz: f64) -> Self {
        let mut s = SimStream {
            sample_rate_hz,
            center_freq_hz,
            noise_power: DEFAULT_NOISE_POWER,
            start_us: 0,
            scene_rng: StdRng::seed_from_u64(sub_seed(seed, u64::MAX - 1)),
            noise_rng: StdRng::seed_from_u64(sub_seed(seed, 0)),
            seed,
            next_n: 0,
            next_arrival: 0,
            spawned: 0,
            active: Vec::new(),
        };
        s.next_arrival = s.draw_gap(0);
        s
    }

    /// Stamps the first sample at `start_us` (µs since the Unix epoch); later windows
    /// follow from the sample count, so they never drift.
    pub fn with_start_us(mut self, start_us: u64) -> Self {
        self.start_us = start_us;
        self
    }

    fn valid_rate(&self) -> bool {
        self.sample_rate_hz.is_finite() && self.sample_rate_hz > 0.0
    }

    /// Scene sample of the arrival after one at `from`.
    fn draw_gap(&mut self, from: u64) -> u64 {
        if !self.valid_rate() {
            return u64::MAX;
        }
        let u = 1.0 - self.scene_rng.random::<f64>();
        let gap = (-u.ln() * MEAN_GAP_S * self.sample_rate_hz).round() as u64;
        from.saturating_add(gap.max(1))
    }

    /// Starts the emitter arriving at scene sample `at`, if the band has room for it.
    fn spawn(&mut self, at: u64) {
        let fs = self.sample_rate_hz;
        let on_at = |e: &&EmitterSource| e.span().1 > at as i64;
        if self.active.iter().filter(on_at).count() >= MAX_ACTIVE {
            return;
        }
        for _attempt in 0..10 {
            let class = WaveformClass::ALL[self.scene_rng.random_range(1..8)];
            let snr_db = -6.0 + 26.0 * self.scene_rng.random::<f64>();
            let (lo, hi) = DURATION_S;
            let dur = (lo.ln() + self.scene_rng.random::<f64>() * (hi / lo).ln()).exp();
            let spec = random_emitter(
                &mut self.scene_rng,
                class,
                snr_db,
                fs,
                (at as f64 / fs, dur),
            );
            self.spawned += 1;
            let seed = sub_seed(self.seed, self.spawned);
            let Ok(src) = EmitterSource::new(&spec, fs, self.noise_power, seed) else {
                continue;
            };
            let (lo, hi) = src.band();
            let (start, end) = src.span();
            let clear = self.active.iter().all(|e| {
                let ((s, t), (l, h)) = (e.span(), e.band());
                t <= start || end <= s || hi + GUARD_HZ <= l || h + GUARD_HZ <= lo
            });
            if clear {
                self.active.push(src);
                return;
            }
        }
    }

    /// The next `n_samples` samples, annotated with the emitters on in them (clipped to the
    /// window, times relative to its first sample).
    pub fn next_window(&mut self, n_samples: usize) -> IqRecording {
        let n0 = self.next_n;
        let n1 = n0 + n_samples as u64;
        while self.next_arrival < n1 {
            let at = self.next_arrival;
            self.spawn(at);
            self.next_arrival = self.draw_gap(at);
        }
        let mut samples = vec![Complex32::default(); n_samples];
        add_noise(&mut self.noise_rng, self.noise_power, &mut samples);
        let mut annotations = Vec::new();
        for e in &mut self.active {
            e.render_add(n0, &mut samples);
            annotations.extend(e.emission_in(n0, n1));
        }
        self.active.retain(|e| e.span().1 > n1 as i64);
        self.next_n = n1;
        let offset_us = if self.valid_rate() {
            (n0 as f64 * 1e6 / self.sample_rate_hz).round() as u64
        } else {
            0
        };
        IqRecording {
            sample_rate_hz: self.sample_rate_hz,
            center_freq_hz: Some(self.center_freq_hz),
            start_us: Some(self.start_us + offset_us),
            samples,
            annotations,
        }
    }
}
