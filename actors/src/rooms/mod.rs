//! Rooms: groups of sensors and people with attention hints. [`RoomState`] is the plain
//! data (the mesh will mirror it into a document); [`RoomActor`] is its actor.

mod actor;
mod state;

pub use actor::{RoomActor, RoomArgs, RoomMsg};
pub use state::{AttentionHint, RoomConfig, RoomState};
