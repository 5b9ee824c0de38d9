//! Attention → backpressure: rooms publish each sensor's effective attention on the
//! [`AttentionBoard`]; sensors follow it and batch by the [`AttentionTable`] — a watched
//! sensor streams fast, an unwatched one batches and slows.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::model::{AttentionLevel, RoomId, SensorId};

/// How a sensor batches at one attention level: a message goes out when it holds
/// `batch_size` samples or its oldest sample is `batch_window_ms` old.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchRule {
    /// Longest a sample waits, ms.
    pub batch_window_ms: u64,
    /// Samples per message at most.
    pub batch_size: usize,
}

/// The rule per attention level (config `[attention]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttentionTable {
    /// Focused and visible.
    pub high: BatchRule,
    /// Visible.
    pub medium: BatchRule,
    /// Scrolled away.
    pub low: BatchRule,
    /// Nobody looks.
    pub none: BatchRule,
}

impl Default for AttentionTable {
    fn default() -> Self {
        let rule = |batch_size, batch_window_ms| BatchRule {
            batch_window_ms,
            batch_size,
        };
        Self {
            high: rule(1, 50),
            medium: rule(5, 200),
            low: rule(10, 1000),
            none: rule(20, 5000),
        }
    }
}

impl AttentionTable {
    /// The rule for `level`.
    pub fn rule(&self, level: AttentionLevel) -> BatchRule {
        match level {
            AttentionLevel::High => self.high,
            AttentionLevel::Medium => self.medium,
            AttentionLevel::Low => self.low,
            AttentionLevel::None => self.none,
        }
    }

    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, r) in [
            ("high", self.high),
            ("medium", self.medium),
            ("low", self.low),
            ("none", self.none),
        ] {
            if r.batch_size == 0 || r.batch_size > crate::sensors::MAX_BATCH_VALUES {
                out.push((
                    format!("{name}.batch_size"),
                    format!("must be in 1..={}", crate::sensors::MAX_BATCH_VALUES),
                ));
            }
            if !(10..=600_000).contains(&r.batch_window_ms) {
                out.push((
                    format!("{name}.batch_window_ms"),
                    "must be in 10..=600000".into(),
                ));
            }
        }
        out
    }
}

/// A sensor's level as rooms see it: `None` while no room holds the sensor.
type Published = Option<AttentionLevel>;

/// Every sensor's effective attention on this node: the highest level any room gives it.
#[derive(Debug, Default)]
pub struct AttentionBoard {
    table: AttentionTable,
    inner: Mutex<Board>,
}

#[derive(Debug, Default)]
struct Board {
    /// (sensor, room) → that room's effective level for the sensor.
    by_room: BTreeMap<(SensorId, RoomId), AttentionLevel>,
    channels: BTreeMap<SensorId, watch::Sender<Published>>,
}

impl Board {
    fn channel(&mut self, sensor: &SensorId) -> &watch::Sender<Published> {
        self.channels
            .entry(sensor.clone())
            .or_insert_with(|| watch::channel(None).0)
    }
}

impl AttentionBoard {
    /// A board whose followers batch by `table`.
    pub fn new(table: AttentionTable) -> Self {
        Self {
            table,
            inner: Mutex::default(),
        }
    }

    /// The batching table followers use.
    pub fn table(&self) -> &AttentionTable {
        &self.table
    }

    /// Room `room` gives `sensor` the effective level `level` now.
    pub fn publish(&self, room: &RoomId, sensor: &SensorId, level: AttentionLevel) {
        let mut b = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        b.by_room.insert((sensor.clone(), room.clone()), level);
        let max = b
            .by_room
            .iter()
            .filter(|((s, _), _)| s == sensor)
            .map(|(_, l)| *l)
            .max();
        b.channel(sensor).send_if_modified(|cur| {
            let changed = *cur != max;
            *cur = max;
            changed
        });
    }

    /// `sensor`'s level now (`None`: in no room).
    pub fn level(&self, sensor: &SensorId) -> Option<AttentionLevel> {
        let mut b = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        *b.channel(sensor).borrow()
    }

    /// A follower of `sensor`'s level.
    pub fn follow(&self, sensor: &SensorId) -> AttentionFollower {
        let mut b = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut rx = b.channel(sensor).subscribe();
        rx.mark_changed();
        AttentionFollower {
            rx,
            table: self.table,
        }
    }
}

/// What a sensor holds to follow its attention.
#[derive(Debug, Clone)]
pub struct AttentionFollower {
    rx: watch::Receiver<Published>,
    table: AttentionTable,
}

impl AttentionFollower {
    /// The new level and its rule, when the level changed since the last look (`None`
    /// inside: the sensor is in no room and keeps its configured batching).
    pub fn changed(&mut self) -> Option<Option<(AttentionLevel, BatchRule)>> {
        if !self.rx.has_changed().unwrap_or(false) {
            return None;
        }
        let level = *self.rx.borrow_and_update();
        Some(level.map(|l| (l, self.table.rule(l))))
    }

    /// Waits for the next change (ingest connections push it to their device).
    pub async fn next(&mut self) -> Option<Option<(AttentionLevel, BatchRule)>> {
        self.rx.changed().await.ok()?;
        let level = *self.rx.borrow_and_update();
        Some(level.map(|l| (l, self.table.rule(l))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> SensorId {
        SensorId::new(x).unwrap()
    }
    fn r(x: &str) -> RoomId {
        RoomId::new(x).unwrap()
    }

    #[test]
    fn a_sensor_follows_the_highest_level_any_room_gives_it() {
        let board = AttentionBoard::new(AttentionTable::default());
        let mut f = board.follow(&s("hr"));
        assert_eq!(f.changed(), Some(None), "in no room: configured batching");
        assert_eq!(f.changed(), None);
        board.publish(&r("a"), &s("hr"), AttentionLevel::Low);
        board.publish(&r("b"), &s("hr"), AttentionLevel::High);
        let t = AttentionTable::default();
        assert_eq!(f.changed(), Some(Some((AttentionLevel::High, t.high))));
        board.publish(&r("b"), &s("hr"), AttentionLevel::None);
        assert_eq!(f.changed(), Some(Some((AttentionLevel::Low, t.low))));
        board.publish(&r("b"), &s("hr"), AttentionLevel::None);
        assert_eq!(f.changed(), None, "no change, no wake-up");
        board.publish(&r("a"), &s("other"), AttentionLevel::High);
        assert_eq!(f.changed(), None, "another sensor's level");
        assert_eq!(board.level(&s("hr")), Some(AttentionLevel::Low));
    }

    #[test]
    fn the_default_table_is_the_documented_one_and_bad_tables_are_named() {
        let t = AttentionTable::default();
        assert_eq!((t.high.batch_size, t.high.batch_window_ms), (1, 50));
        assert_eq!((t.medium.batch_size, t.medium.batch_window_ms), (5, 200));
        assert_eq!((t.low.batch_size, t.low.batch_window_ms), (10, 1000));
        assert_eq!((t.none.batch_size, t.none.batch_window_ms), (20, 5000));
        assert!(t.problems().is_empty());
        let bad = AttentionTable {
            low: BatchRule {
                batch_window_ms: 0,
                batch_size: 0,
            },
            ..t
        };
        let keys: Vec<String> = bad.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["low.batch_size", "low.batch_window_ms"]);
    }
}
