//! Supervision shared by every supervisor: the restart policy (sans-IO), child bookkeeping,
//! and slots that always point at a child's current incarnation.

mod children;
mod policy;
mod slot;

pub use children::{ChildAction, Children, DownFn, SpawnFn};
pub use policy::{RestartDecision, RestartPolicy, RestartTracker};
pub use slot::{Slot, SlotEmpty};
