//! Rooms: groups of sensors and people with attention hints. [`RoomState`] is the plain
//! data (the mesh mirrors it into a document); [`RoomActor`] is its actor: its own changes
//! go out as [`RoomUpdate`]s, other nodes' come back as [`RoomMsg::Remote`].

mod actor;
mod attention;
mod registry;
mod state;
mod viewing;

pub use actor::{RoomActor, RoomArgs, RoomMsg};
pub use attention::{AttentionBoard, AttentionFollower, AttentionTable, BatchRule};
pub use registry::{KeptRoom, RoomRegistry};
pub use state::{AttentionHint, RoomChange, RoomConfig, RoomState, RoomUpdate};
pub use viewing::LocalViewing;
