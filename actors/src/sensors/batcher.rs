//! Groups samples into `measurement_batch` event drafts: a batch is closed when it is full
//! or when its oldest sample reaches the batch window. Sans-IO; a sensor in a room follows
//! its attention (the size and window come from the attention table then).

use std::time::Duration;

use super::config::SensorConfig;
use super::measurement::SampleChunk;
use crate::model::{EventDraft, Payload, RoomId, SensorId};
use crate::pipeline::Stage;

/// The batching stage of a measurement sensor.
pub struct Batcher {
    sensor: SensorId,
    room: Option<RoomId>,
    quantity: &'static str,
    unit: &'static str,
    rate_hz: f64,
    channels: usize,
    max_samples: usize,
    window: Duration,
    /// Configured size and window (used while the sensor is in no room).
    configured: (usize, Duration),
    attention: Option<crate::rooms::AttentionFollower>,
    t0_us: u64,
    values: Vec<f32>,
}

impl Batcher {
    /// A batcher for `config`, following `attention` when given.
    pub fn new(config: &SensorConfig, attention: Option<crate::rooms::AttentionFollower>) -> Self {
        let (quantity, unit) = match config.kind {
            super::SensorKind::HeartRate => ("heart_rate", "bpm"),
            super::SensorKind::Imu => ("acceleration", "m/s2"),
            super::SensorKind::Sdr => ("iq_power", "dBFS"),
        };
        Self {
            sensor: config.id.clone(),
            room: config.room.clone(),
            quantity,
            unit,
            rate_hz: config.rate_hz,
            channels: config.channels(),
            max_samples: config.batch_max_samples,
            window: Duration::from_millis(config.batch_window_ms),
            configured: (
                config.batch_max_samples,
                Duration::from_millis(config.batch_window_ms),
            ),
            attention,
            t0_us: 0,
            values: Vec::new(),
        }
    }

    /// Takes in a change of attention, if there was one.
    fn follow(&mut self) {
        let Some(change) = self.attention.as_mut().and_then(|a| a.changed()) else {
            return;
        };
        (self.max_samples, self.window) = match change {
            Some((_, rule)) => (
                rule.batch_size
                    .min(crate::sensors::MAX_BATCH_VALUES / self.channels)
                    .max(1),
                Duration::from_millis(rule.batch_window_ms),
            ),
            None => self.configured,
        };
    }

    fn samples(&self) -> usize {
        self.values.len() / self.channels
    }

    fn close(&mut self, now_us: u64) -> Vec<EventDraft> {
        let values = std::mem::take(&mut self.values);
        vec![EventDraft {
            ts_us: now_us,
            sensor: Some(self.sensor.clone()),
            room: self.room.clone(),
            body: Payload::MeasurementBatch {
                quantity: self.quantity.into(),
                unit: self.unit.into(),
                sample_rate_hz: self.rate_hz as f32,
                t0_us: self.t0_us,
                values,
                channels: self.channels as u8,
            },
        }]
    }
}

impl Stage for Batcher {
    type In = SampleChunk;
    type Out = Vec<EventDraft>;

    fn tick_every(&self) -> Option<Duration> {
        // Attention may shorten the window at any time: look often enough for the shortest.
        let shortest = match &self.attention {
            Some(_) => Duration::from_millis(10),
            None => self.window / 4,
        };
        Some(shortest.max(Duration::from_millis(5)))
    }

    fn on_input(&mut self, chunk: SampleChunk, now_us: u64) -> Vec<Vec<EventDraft>> {
        self.follow();
        let mut out = Vec::new();
        let step_us = 1e6 / self.rate_hz;
        let mut values = chunk.values.as_slice();
        let mut t0 = chunk.t0_us as f64;
        while !values.is_empty() {
            if self.values.is_empty() {
                self.t0_us = t0 as u64;
            }
            let room = (self.max_samples - self.samples()) * self.channels;
            let take = room.min(values.len());
            self.values.extend_from_slice(&values[..take]);
            values = &values[take..];
            t0 += (take / self.channels) as f64 * step_us;
            if self.samples() >= self.max_samples {
                out.push(self.close(now_us));
            }
        }
        out
    }

    fn on_tick(&mut self, now_us: u64) -> Vec<Vec<EventDraft>> {
        self.follow();
        let mut out = Vec::new();
        // A smaller batch size closes what is already full.
        if self.samples() >= self.max_samples {
            out.push(self.close(now_us));
        }
        let age = Duration::from_micros(now_us.saturating_sub(self.t0_us));
        if !self.values.is_empty() && age >= self.window {
            out.push(self.close(now_us));
        }
        out
    }

    fn on_stop(&mut self, now_us: u64) -> Vec<Vec<EventDraft>> {
        if self.values.is_empty() {
            Vec::new()
        } else {
            vec![self.close(now_us)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Payload;
    use crate::sensors::SensorKind;

    fn batcher(max: usize, window_ms: u64) -> Batcher {
        Batcher::new(
            &SensorConfig {
                id: SensorId::new("hr").unwrap(),
                kind: SensorKind::HeartRate,
                room: None,
                rate_hz: 10.0,
                batch_max_samples: max,
                batch_window_ms: window_ms,
                profile: "lan".into(),
                seed: 0,
                rf: Default::default(),
            },
            None,
        )
    }

    fn batch_of(d: &[EventDraft]) -> (u64, Vec<f32>) {
        match &d[0].body {
            Payload::MeasurementBatch { t0_us, values, .. } => (*t0_us, values.clone()),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn closes_full_batches_with_correct_start_times() {
        let mut b = batcher(4, 10_000);
        let out = b.on_input(
            SampleChunk {
                t0_us: 1_000_000,
                values: (0..10).map(|v| v as f32).collect(),
            },
            0,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(batch_of(&out[0]), (1_000_000, vec![0.0, 1.0, 2.0, 3.0]));
        assert_eq!(batch_of(&out[1]), (1_400_000, vec![4.0, 5.0, 6.0, 7.0]));
        let rest = b.on_stop(0);
        assert_eq!(batch_of(&rest[0]), (1_800_000, vec![8.0, 9.0]));
    }

    #[test]
    fn closes_old_batches_on_tick() {
        let mut b = batcher(100, 500);
        b.on_input(
            SampleChunk {
                t0_us: 1_000_000,
                values: vec![1.0],
            },
            1_000_000,
        );
        assert!(b.on_tick(1_400_000).is_empty());
        assert_eq!(b.on_tick(1_500_000).len(), 1);
        assert!(b.on_tick(2_000_000).is_empty(), "nothing left to send");
    }

    #[test]
    fn a_sensor_in_a_room_batches_by_its_attention() {
        use crate::model::{AttentionLevel, RoomId};
        use crate::rooms::{AttentionBoard, AttentionTable};
        let board = AttentionBoard::new(AttentionTable::default());
        let mut b = batcher(100, 10_000);
        b.attention = Some(board.follow(&SensorId::new("hr").unwrap()));
        let feed = |b: &mut Batcher, t: u64| {
            b.on_input(
                SampleChunk {
                    t0_us: t,
                    values: vec![1.0],
                },
                t,
            )
        };
        // In no room: the configured 100 samples / 10 s.
        assert!(feed(&mut b, 0).is_empty());
        assert!(b.on_tick(1_000_000).is_empty());
        let (room, hr) = (RoomId::new("ward").unwrap(), SensorId::new("hr").unwrap());
        board.publish(&room, &hr, AttentionLevel::High);
        // High: one sample per message; what waited goes at once.
        assert_eq!(b.on_tick(1_010_000).len(), 1);
        assert_eq!(feed(&mut b, 1_020_000).len(), 1);
        // None: 20 samples or 5 s.
        board.publish(&room, &hr, AttentionLevel::None);
        for i in 0..19 {
            assert!(feed(&mut b, 2_000_000 + i * 1000).is_empty());
        }
        assert_eq!(feed(&mut b, 2_019_000).len(), 1);
        assert!(feed(&mut b, 3_000_000).is_empty());
        assert!(b.on_tick(7_999_000).is_empty());
        assert_eq!(b.on_tick(8_000_000).len(), 1);
    }
}
