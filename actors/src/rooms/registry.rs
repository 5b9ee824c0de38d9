//! Which rooms this node keeps now — the configured ones and those created or joined while
//! it runs — each with the slot of its actor; adapters subscribe to rooms being added.

use std::sync::RwLock;

use tokio::sync::broadcast;

use super::RoomMsg;
use crate::model::RoomId;
use crate::supervision::Slot;

/// A room this node keeps: id, name for people, its actor's slot.
pub type KeptRoom = (RoomId, String, Slot<RoomMsg>);

/// The rooms this node keeps.
pub struct RoomRegistry {
    rooms: RwLock<Vec<KeptRoom>>,
    added: broadcast::Sender<KeptRoom>,
}

impl Default for RoomRegistry {
    fn default() -> Self {
        Self {
            rooms: RwLock::default(),
            added: broadcast::channel(64).0,
        }
    }
}

impl RoomRegistry {
    /// Every room, in the order they came.
    pub fn list(&self) -> Vec<KeptRoom> {
        self.rooms.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The slot of room `id`, if kept here.
    pub fn get(&self, id: &RoomId) -> Option<Slot<RoomMsg>> {
        let rooms = self.rooms.read().unwrap_or_else(|p| p.into_inner());
        rooms
            .iter()
            .find(|(r, _, _)| r == id)
            .map(|(_, _, s)| s.clone())
    }

    /// Rooms added from now on.
    pub fn added(&self) -> broadcast::Receiver<KeptRoom> {
        self.added.subscribe()
    }

    /// Records a room; `false` (and nothing changes) when it is kept already.
    pub(crate) fn insert(&self, id: RoomId, name: String, slot: Slot<RoomMsg>) -> bool {
        let mut rooms = self.rooms.write().unwrap_or_else(|p| p.into_inner());
        if rooms.iter().any(|(r, _, _)| *r == id) {
            return false;
        }
        rooms.push((id.clone(), name.clone(), slot.clone()));
        let _ = self.added.send((id, name, slot));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_kept_once_and_additions_announced() {
        let reg = RoomRegistry::default();
        let mut added = reg.added();
        let id = RoomId::new("ward-2").unwrap();
        assert!(reg.insert(id.clone(), "Ward 2".into(), Slot::new()));
        assert!(!reg.insert(id.clone(), "again".into(), Slot::new()));
        assert_eq!(reg.list().len(), 1);
        assert!(reg.get(&id).is_some());
        assert_eq!(added.try_recv().unwrap().1, "Ward 2");
        assert!(added.try_recv().is_err(), "announced once");
    }
}
