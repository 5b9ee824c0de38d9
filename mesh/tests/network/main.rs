//! Real iroh endpoints on loopback, in one test binary with a module per protocol: live
//! streams, events and artifacts between meshes, rooms and attention. `cluster.rs` stays
//! apart: ractor_cluster's registries are process-wide.

mod common;

mod live;
mod mesh;
mod rooms;
