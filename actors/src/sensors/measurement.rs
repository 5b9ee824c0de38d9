//! Simulated measurement sensors as a sans-IO source stage: fed the time, it returns the
//! samples that elapsed since the last call (a heart-rate-like or an IMU-like signal).

use std::f64::consts::TAU;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::config::{SensorConfig, SensorKind};
use crate::pipeline::Stage;

/// Samples covering `[t0_us, t0_us + len/rate)`.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleChunk {
    /// Time of the first sample, µs since the Unix epoch.
    pub t0_us: u64,
    /// Interleaved values.
    pub values: Vec<f32>,
}

/// Most time one tick may cover; a longer stall is skipped (and counted), not back-filled.
const MAX_CATCH_UP: Duration = Duration::from_secs(2);

/// The source stage of a simulated measurement sensor.
pub struct MeasurementSource {
    kind: SensorKind,
    rate_hz: f64,
    rng: StdRng,
    baseline: f64,
    /// Sample index of the next sample, counted from `start_us`.
    next: u64,
    start_us: Option<u64>,
    skipped: u64,
}

impl MeasurementSource {
    /// A source for `config`.
    pub fn new(config: &SensorConfig) -> Self {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let baseline = match config.kind {
            SensorKind::HeartRate => 62.0 + rng.random::<f64>() * 16.0,
            SensorKind::Imu | SensorKind::Sdr => 9.81,
        };
        Self {
            kind: config.kind,
            rate_hz: config.rate_hz,
            rng,
            baseline,
            next: 0,
            start_us: None,
            skipped: 0,
        }
    }

    /// Samples skipped because the stage was stalled for longer than it back-fills.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn gauss(&mut self) -> f64 {
        // Box-Muller.
        let u1: f64 = self.rng.random::<f64>().max(1e-12);
        let u2: f64 = self.rng.random();
        (-2.0 * u1.ln()).sqrt() * (TAU * u2).cos()
    }

    fn sample(&mut self, t_s: f64, out: &mut Vec<f32>) {
        match self.kind {
            SensorKind::HeartRate => {
                let slow = 6.0 * (TAU * t_s / 90.0).sin();
                let breathing = 2.0 * (TAU * 0.25 * t_s).sin();
                let v = self.baseline + slow + breathing + 0.6 * self.gauss();
                out.push(v as f32);
            }
            SensorKind::Imu | SensorKind::Sdr => {
                let walk = TAU * 1.8 * t_s;
                let ax = 0.8 * walk.sin() + 0.05 * self.gauss();
                let ay = 0.3 * (2.0 * walk).cos() + 0.05 * self.gauss();
                let az = self.baseline + 0.5 * walk.cos().abs() + 0.05 * self.gauss();
                out.extend([ax as f32, ay as f32, az as f32]);
            }
        }
    }

    fn time_of(&self, start: u64, index: u64) -> u64 {
        start + (index as f64 * 1e6 / self.rate_hz) as u64
    }
}

impl Stage for MeasurementSource {
    type In = ();
    type Out = SampleChunk;

    fn tick_every(&self) -> Option<Duration> {
        // Ticks at up to 50 Hz: low latency without a message per sample.
        let period = (1.0 / self.rate_hz).max(0.02);
        Some(Duration::from_secs_f64(period))
    }

    fn on_input(&mut self, _: (), _now_us: u64) -> Vec<SampleChunk> {
        Vec::new()
    }

    fn on_tick(&mut self, now_us: u64) -> Vec<SampleChunk> {
        let start = *self.start_us.get_or_insert(now_us);
        let elapsed_s = now_us.saturating_sub(start) as f64 / 1e6;
        let due = (elapsed_s * self.rate_hz).floor() as u64 + 1;
        let max_n = (MAX_CATCH_UP.as_secs_f64() * self.rate_hz).ceil() as u64;
        if due.saturating_sub(self.next) > max_n {
            let skip = due - self.next - max_n;
            self.skipped += skip;
            self.next += skip;
        }
        if due <= self.next {
            return Vec::new();
        }
        let t0_us = self.time_of(start, self.next);
        let mut values = Vec::with_capacity((due - self.next) as usize * 3);
        for i in self.next..due {
            let t_s = self.time_of(start, i) as f64 / 1e6;
            self.sample(t_s, &mut values);
        }
        self.next = due;
        vec![SampleChunk { t0_us, values }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SensorId;

    fn config(kind: SensorKind, rate_hz: f64) -> SensorConfig {
        SensorConfig {
            id: SensorId::new("s").unwrap(),
            kind,
            room: None,
            rate_hz,
            batch_max_samples: 50,
            batch_window_ms: 1000,
            profile: "lan".into(),
            seed: 7,
            rf: Default::default(),
        }
    }

    #[test]
    fn emits_exactly_the_elapsed_samples() {
        let mut s = MeasurementSource::new(&config(SensorKind::HeartRate, 100.0));
        let t0 = 1_000_000_000;
        let mut n = 0;
        for k in 0..=100u64 {
            n += s
                .on_tick(t0 + k * 10_000)
                .iter()
                .map(|c| c.values.len())
                .sum::<usize>();
        }
        assert_eq!(n, 101, "one second at 100 Hz, both ends included");
        let c = s.on_tick(t0 + 1_005_000);
        assert!(c.is_empty(), "no new sample is due yet");
    }

    #[test]
    fn heart_rate_is_plausible_and_seeded() {
        let mut a = MeasurementSource::new(&config(SensorKind::HeartRate, 50.0));
        let mut b = MeasurementSource::new(&config(SensorKind::HeartRate, 50.0));
        a.on_tick(0);
        b.on_tick(0);
        let va = a.on_tick(10_000_000).remove(0).values;
        let vb = b.on_tick(10_000_000).remove(0).values;
        assert_eq!(va, vb, "same seed, same signal");
        assert!(va.iter().all(|v| (40.0..110.0).contains(v)));
    }

    #[test]
    fn imu_has_three_channels_and_long_stalls_are_skipped() {
        let mut s = MeasurementSource::new(&config(SensorKind::Imu, 100.0));
        s.on_tick(0);
        let c = s.on_tick(60_000_000).remove(0);
        assert_eq!(c.values.len() % 3, 0);
        assert_eq!(c.values.len() / 3, 200, "back-fills at most 2 s");
        assert_eq!(s.skipped(), 5800);
    }
}
