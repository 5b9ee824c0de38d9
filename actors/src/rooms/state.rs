//! A room's state as plain data: members, sensors, and attention hints with expiry.
//! A sensor's effective attention is the highest unexpired level over all viewers.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{AttentionLevel, RoomId, SensorId};

/// A configured room (config `[[rooms]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomConfig {
    /// Unique id.
    pub id: RoomId,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// One viewer's hint on one sensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttentionHint {
    /// How much they look.
    pub level: AttentionLevel,
    /// When the hint lapses, µs since the Unix epoch.
    pub expires_us: u64,
}

/// One change to a room, as it travels between nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RoomChange {
    /// Someone is in the room.
    Member(String),
    /// A viewer's hint on a sensor (a refresh carries a later expiry).
    Attention {
        /// Watched sensor.
        sensor: SensorId,
        /// Who watches.
        viewer: String,
        /// How much, until when.
        hint: AttentionHint,
    },
}

/// A change of room `room` made on this node, for the mesh to share.
#[derive(Clone, Debug, PartialEq)]
pub struct RoomUpdate {
    /// Which room.
    pub room: RoomId,
    /// What changed.
    pub change: RoomChange,
}

/// A room: who is in it, which sensors, and who watches what.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RoomState {
    /// Room id.
    pub id: Option<RoomId>,
    /// Display name.
    pub name: String,
    /// People or nodes in the room.
    pub members: BTreeSet<String>,
    /// Sensors in the room.
    pub sensors: BTreeSet<SensorId>,
    /// sensor → viewer → hint.
    pub attention: BTreeMap<SensorId, BTreeMap<String, AttentionHint>>,
}

impl RoomState {
    /// A room from its config and the sensors configured into it.
    pub fn new(config: &RoomConfig, sensors: impl IntoIterator<Item = SensorId>) -> Self {
        Self {
            id: Some(config.id.clone()),
            name: if config.name.is_empty() {
                config.id.to_string()
            } else {
                config.name.clone()
            },
            sensors: sensors.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Applies a change made here or elsewhere. A hint never moves back to an earlier
    /// expiry (an old copy arriving late changes nothing). Returns whether anything changed.
    pub fn apply(&mut self, change: &RoomChange) -> bool {
        match change {
            RoomChange::Member(m) => self.members.insert(m.clone()),
            RoomChange::Attention {
                sensor,
                viewer,
                hint,
            } => {
                let current = self.attention.get(sensor).and_then(|v| v.get(viewer));
                if current.is_some_and(|c| c.expires_us >= hint.expires_us) {
                    return false;
                }
                self.set_attention(sensor.clone(), viewer.clone(), *hint)
            }
        }
    }

    /// Records a viewer's hint. Returns whether anything changed.
    pub fn set_attention(&mut self, sensor: SensorId, viewer: String, hint: AttentionHint) -> bool {
        let viewers = self.attention.entry(sensor).or_default();
        viewers.insert(viewer, hint) != Some(hint)
    }

    /// Highest unexpired level over all viewers of `sensor` at `now_us`.
    pub fn effective(&self, sensor: &SensorId, now_us: u64) -> AttentionLevel {
        self.attention
            .get(sensor)
            .into_iter()
            .flat_map(|v| v.values())
            .filter(|h| h.expires_us > now_us)
            .map(|h| h.level)
            .max()
            .unwrap_or(AttentionLevel::None)
    }

    /// One viewer's unexpired level on `sensor`.
    pub fn viewer_level(&self, sensor: &SensorId, viewer: &str, now_us: u64) -> AttentionLevel {
        self.attention
            .get(sensor)
            .and_then(|v| v.get(viewer))
            .filter(|h| h.expires_us > now_us)
            .map_or(AttentionLevel::None, |h| h.level)
    }

    /// Drops lapsed hints. Returns how many.
    pub fn expire(&mut self, now_us: u64) -> usize {
        let mut n = 0;
        for viewers in self.attention.values_mut() {
            let before = viewers.len();
            viewers.retain(|_, h| h.expires_us > now_us);
            n += before - viewers.len();
        }
        self.attention.retain(|_, v| !v.is_empty());
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_level_is_max_of_unexpired_hints() {
        let cfg = RoomConfig {
            id: RoomId::new("ops").unwrap(),
            name: String::new(),
        };
        let s = SensorId::new("sdr-1").unwrap();
        let mut room = RoomState::new(&cfg, [s.clone()]);
        assert_eq!(room.effective(&s, 0), AttentionLevel::None);
        let hint = |level, expires_us| AttentionHint { level, expires_us };
        assert!(room.set_attention(s.clone(), "alice".into(), hint(AttentionLevel::High, 100)));
        assert!(room.set_attention(s.clone(), "bob".into(), hint(AttentionLevel::Low, 300)));
        assert!(!room.set_attention(s.clone(), "bob".into(), hint(AttentionLevel::Low, 300)));
        assert_eq!(room.effective(&s, 50), AttentionLevel::High);
        assert_eq!(
            room.effective(&s, 150),
            AttentionLevel::Low,
            "alice's hint lapsed"
        );
        assert_eq!(room.expire(150), 1);
        assert_eq!(room.effective(&s, 400), AttentionLevel::None);
        assert_eq!(room.name, "ops");
    }
}
