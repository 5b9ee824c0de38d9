//! Which sensors this node's own viewers watch, from the attention hints they set (sans-IO):
//! the mesh subscribes to a remote sensor's live data exactly while this says so.

use std::collections::{BTreeMap, BTreeSet};

use super::{RoomState, RoomUpdate};
use crate::model::{AttentionLevel, RoomId, SensorId};

/// Attention hints of this node's viewers, per room.
#[derive(Clone, Debug, Default)]
pub struct LocalViewing {
    rooms: BTreeMap<RoomId, RoomState>,
}

impl LocalViewing {
    /// Takes in a change made on this node (other nodes' viewers subscribe for themselves).
    pub fn apply(&mut self, update: &RoomUpdate) {
        self.rooms
            .entry(update.room.clone())
            .or_default()
            .apply(&update.change);
    }

    /// Sensors some viewer here watches at `now_us` (an unexpired level above `none`).
    pub fn watched(&self, now_us: u64) -> BTreeSet<SensorId> {
        self.rooms
            .values()
            .flat_map(|r| {
                r.attention
                    .keys()
                    .filter(move |s| r.effective(s, now_us) > AttentionLevel::None)
            })
            .cloned()
            .collect()
    }

    /// Forgets lapsed hints.
    pub fn expire(&mut self, now_us: u64) {
        for r in self.rooms.values_mut() {
            r.expire(now_us);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rooms::{AttentionHint, RoomChange};

    fn hint(room: &str, sensor: &str, viewer: &str, level: AttentionLevel, exp: u64) -> RoomUpdate {
        RoomUpdate {
            room: RoomId::new(room).unwrap(),
            change: RoomChange::Attention {
                sensor: SensorId::new(sensor).unwrap(),
                viewer: viewer.into(),
                hint: AttentionHint {
                    level,
                    expires_us: exp,
                },
            },
        }
    }

    fn ids(v: &[&str]) -> BTreeSet<SensorId> {
        v.iter().map(|s| SensorId::new(*s).unwrap()).collect()
    }

    #[test]
    fn a_sensor_is_watched_while_any_viewer_in_any_room_holds_an_unexpired_level() {
        let mut v = LocalViewing::default();
        assert!(v.watched(0).is_empty());
        v.apply(&hint("r1", "s1", "alice", AttentionLevel::High, 100));
        v.apply(&hint("r2", "s1", "bob", AttentionLevel::Low, 200));
        v.apply(&hint("r1", "s2", "alice", AttentionLevel::None, 300));
        assert_eq!(v.watched(50), ids(&["s1"]), "level none does not watch");
        assert_eq!(v.watched(150), ids(&["s1"]), "bob still looks");
        assert!(v.watched(200).is_empty(), "every hint lapsed");
        // Alice looks away (a later hint with level none): s1 rests on bob alone.
        v.apply(&hint("r1", "s1", "alice", AttentionLevel::None, 400));
        v.apply(&hint("r2", "s1", "bob", AttentionLevel::None, 400));
        assert!(v.watched(10).is_empty());
        v.expire(1_000);
        assert!(v.watched(0).is_empty());
    }
}
