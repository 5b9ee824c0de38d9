//! The `fieldmesh` node assembly: configuration, identity, and wiring the domain actors,
//! the HTTP adapter and the mesh into one node. The binary in `main.rs` is a thin CLI.

pub mod access_cmd;
pub mod analyze_cmd;
pub mod artifacts_cmd;
pub mod classifier;
pub mod cli;
pub mod config;
pub mod demo;
pub mod events_cmd;
pub mod identity;
pub mod kept_rooms;
pub mod logging;
pub mod mesh_api;
pub mod node;
pub mod node_client;
pub mod simulate_cmd;
