//! fieldmesh's domain: the model (events, artifacts), sensors, pipeline stages, rooms and
//! storage as supervised ractor actors. No network here: `mesh` and `ui` adapt it.

pub mod classify;
pub mod dsp;
pub mod metrics;
pub mod model;
pub mod node;
pub mod pipeline;
pub mod rooms;
pub mod sensors;
pub mod store;
pub mod supervision;
