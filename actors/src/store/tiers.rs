//! The hot and warm tiers: recent events in memory, in front of redb. Fed only with
//! committed events, so whatever they answer is durable. Plain data, no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::query::{EventQuery, Order};

/// (ts_us, origin, seq): the same order as the cold time index, so ties sort alike.
type Key = (u64, [u8; 32], u64);
use crate::model::Event;

/// Retention of the in-memory tiers (config section `[store]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TierLimits {
    /// Hot: newest events kept per sensor.
    pub hot_per_sensor: usize,
    /// Warm: most events kept.
    pub warm_max_events: usize,
    /// Warm: oldest event kept, seconds before now.
    pub warm_max_age_s: u64,
}

/// Hot (last N per sensor, by time) and warm (a bounded recent window) tiers.
///
/// Invariant: every stored event with `ts_us >= complete_since_us` is in warm, so a query
/// whose range starts there is answered exactly from memory.
#[derive(Debug)]
pub struct Tiers {
    limits: TierLimits,
    /// (ts, origin, seq) → event, newest last.
    warm: BTreeMap<Key, Event>,
    /// Hot: per sensor ("" for node-level), keys of its newest events.
    hot: BTreeMap<String, BTreeSet<Key>>,
    complete_since_us: u64,
}

impl Tiers {
    /// Empty tiers that know nothing about times before `complete_since_us`.
    pub fn new(limits: TierLimits, complete_since_us: u64) -> Self {
        Self {
            limits,
            warm: BTreeMap::new(),
            hot: BTreeMap::new(),
            complete_since_us,
        }
    }

    /// Every stored event at or after this time is in memory.
    pub fn complete_since_us(&self) -> u64 {
        self.complete_since_us
    }

    /// Events in the warm tier.
    pub fn len(&self) -> usize {
        self.warm.len()
    }

    /// Whether the warm tier is empty.
    pub fn is_empty(&self) -> bool {
        self.warm.is_empty()
    }

    /// Adds committed events, then applies retention at `now_us`.
    pub fn insert(&mut self, events: impl IntoIterator<Item = Event>, now_us: u64) {
        for e in events {
            let key = (e.ts_us, *e.origin.as_bytes(), e.seq);
            let sensor = e.sensor.as_ref().map_or(String::new(), |s| s.to_string());
            if self.warm.insert(key, e).is_none() {
                let hot = self.hot.entry(sensor).or_default();
                hot.insert(key);
                while hot.len() > self.limits.hot_per_sensor {
                    hot.pop_first();
                }
            }
        }
        self.evict(now_us);
    }

    fn evict(&mut self, now_us: u64) {
        let min_ts = now_us.saturating_sub(self.limits.warm_max_age_s.saturating_mul(1_000_000));
        while let Some((&(ts, _, _), _)) = self.warm.first_key_value() {
            if ts >= min_ts {
                break;
            }
            self.remove_oldest_by_time();
        }
        while self.warm.len() > self.limits.warm_max_events {
            // Count eviction removes the oldest by time: that keeps the window contiguous.
            self.remove_oldest_by_time();
        }
    }

    fn remove_oldest_by_time(&mut self) {
        if let Some(((ts, origin, seq), e)) = self.warm.pop_first() {
            self.complete_since_us = self.complete_since_us.max(ts.saturating_add(1));
            let sensor = e.sensor.as_ref().map_or(String::new(), |s| s.to_string());
            if let Some(h) = self.hot.get_mut(&sensor) {
                h.remove(&(ts, origin, seq));
            }
        }
    }

    /// Answers `q` from memory when that is exact, else `None` (ask redb).
    pub fn query(&self, q: &EventQuery) -> Option<Vec<Event>> {
        let limit = q.capped_limit();
        let since = q.since_us.unwrap_or(0);
        let until = q.until_us.unwrap_or(u64::MAX);
        if since >= until || limit == 0 {
            return Some(Vec::new());
        }
        let range = (since, [0u8; 32], 0)..(until, [0u8; 32], 0);
        // Hot: a sensor's newest events.
        if let (Some(sensor), Order::Newest) = (&q.sensor, q.order)
            && let Some(keys) = self.hot.get(sensor.as_str())
        {
            let out: Vec<Event> = keys
                .range(range.clone())
                .rev()
                .filter_map(|k| self.warm.get(k))
                .filter(|e| q.matches(e))
                .take(limit)
                .cloned()
                .collect();
            if out.len() == limit && out.iter().all(|e| e.ts_us >= self.complete_since_us) {
                return Some(out);
            }
        }
        // Warm: exact when the range starts inside the complete window, or when reading
        // newest-first stops before leaving it.
        let rows = self
            .warm
            .range(range)
            .map(|(_, e)| e)
            .filter(|e| q.matches(e));
        match q.order {
            Order::Oldest if since >= self.complete_since_us => {
                Some(rows.take(limit).cloned().collect())
            }
            Order::Newest => {
                let out: Vec<Event> = rows.rev().take(limit).cloned().collect();
                let exact = since >= self.complete_since_us
                    || (out.len() == limit
                        && out.iter().all(|e| e.ts_us >= self.complete_since_us));
                exact.then_some(out)
            }
            Order::Oldest => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::model::{EventDraft, EventKind, NodeId, Payload, SensorId};

    fn event(origin: u8, seq: u64, ts_us: u64, sensor: u8, beat: bool) -> Event {
        let body = if beat {
            Payload::Heartbeat {
                role: "dev".into(),
                uptime_s: 0,
                sensors: 0,
                events_stored: 0,
                restarts: 0,
                battery: None,
            }
        } else {
            Payload::SensorProfileUpdated {
                profile: "lan".into(),
                reason: String::new(),
            }
        };
        let sensor = SensorId::new(format!("s{sensor}")).ok();
        Event::seal(
            NodeId::from_bytes([origin; 32]),
            seq,
            EventDraft {
                ts_us,
                sensor,
                room: None,
                body,
            },
        )
    }

    /// The exact answer over everything ever stored (what redb would say).
    fn brute(all: &[Event], q: &EventQuery) -> Vec<Event> {
        let mut v: Vec<Event> = all.iter().filter(|e| q.matches(e)).cloned().collect();
        v.sort_by_key(|e| (e.ts_us, *e.origin.as_bytes(), e.seq));
        if q.order == Order::Newest {
            v.reverse();
        }
        v.truncate(q.capped_limit());
        v
    }

    proptest! {
        #[test]
        fn memory_answers_are_exact_or_absent(
            batches in proptest::collection::vec(
                proptest::collection::vec((0u8..3, 0u64..2_000, 0u8..3, any::<bool>()), 1..20), 1..20),
            queries in proptest::collection::vec(
                (proptest::option::of(0u64..2_000), proptest::option::of(0u8..3), any::<bool>(), 1usize..30, any::<bool>()), 1..20),
            hot in 1usize..8, warm in 8usize..60,
        ) {
            let limits = TierLimits { hot_per_sensor: hot, warm_max_events: warm, warm_max_age_s: 1 };
            let mut tiers = Tiers::new(limits, 0);
            let mut all = Vec::new();
            let mut seq = 0;
            // "now" advances so the 1 s age limit also evicts.
            let mut now: u64 = 1_000;
            for batch in batches {
                let evs: Vec<Event> = batch.into_iter().map(|(o, dt, s, b)| {
                    seq += 1;
                    event(o, seq, now.saturating_sub(dt * 1_000), s, b)
                }).collect();
                all.extend(evs.clone());
                now += 150_000;
                tiers.insert(evs, now);
                for (since, sensor, newest, limit, beat) in &queries {
                    let q = EventQuery {
                        since_us: since.map(|s| now.saturating_sub(s * 1_000)),
                        sensor: sensor.and_then(|s| SensorId::new(format!("s{s}")).ok()),
                        kind: beat.then_some(EventKind::Heartbeat),
                        order: if *newest { Order::Newest } else { Order::Oldest },
                        limit: *limit,
                        ..EventQuery::default()
                    };
                    if let Some(found) = tiers.query(&q) {
                        prop_assert_eq!(found, brute(&all, &q), "query {:?}", q);
                    }
                }
            }
        }
    }
}
