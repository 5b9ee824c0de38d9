//! The node's heartbeat as a sans-IO stage: on each tick, one `heartbeat` event draft
//! with the node's role, uptime, counters and battery.

use std::sync::Arc;
use std::time::Duration;

use crate::metrics::NodeMetrics;
use crate::model::{EventDraft, Payload};
use crate::pipeline::Stage;

use super::power::PowerGauge;

/// Emits heartbeats every `every`.
pub struct Heartbeat {
    role: String,
    sensors: u32,
    every: Duration,
    started_us: u64,
    metrics: Arc<NodeMetrics>,
    power: PowerGauge,
}

impl Heartbeat {
    /// A heartbeat for a node of `role`, started at `started_us`, running `sensors` sensors,
    /// reading its battery from `power`.
    pub fn new(
        role: String,
        sensors: u32,
        every: Duration,
        started_us: u64,
        metrics: Arc<NodeMetrics>,
        power: PowerGauge,
    ) -> Self {
        Self {
            role,
            sensors,
            every,
            started_us,
            metrics,
            power,
        }
    }
}

impl Stage for Heartbeat {
    type In = ();
    type Out = Vec<EventDraft>;

    fn tick_every(&self) -> Option<Duration> {
        Some(self.every)
    }

    fn on_input(&mut self, _: (), _now_us: u64) -> Vec<Vec<EventDraft>> {
        Vec::new()
    }

    fn on_tick(&mut self, now_us: u64) -> Vec<Vec<EventDraft>> {
        vec![vec![EventDraft {
            ts_us: now_us,
            sensor: None,
            room: None,
            body: Payload::Heartbeat {
                role: self.role.clone(),
                uptime_s: now_us.saturating_sub(self.started_us) / 1_000_000,
                sensors: self.sensors,
                events_stored: self.metrics.stored_events(),
                restarts: self.metrics.restarts(),
                battery: self.power.read(now_us),
            },
        }]]
    }
}
