//! End-to-end tests across crates, mostly through the real `fieldmesh` binary: one test
//! binary (one link, one copy on disk) with a module per capability. Two stay apart:
//! `tests/config.rs` (`figment::Jail` changes the process's environment and working
//! directory) and `tests/classify_onnxruntime.rs` (the classifier's backend is chosen once
//! per process, and there it is ONNX Runtime).

mod common;

mod analyze;
mod api;
mod auth;
mod captures;
mod classify_tract;
mod cli;
mod crash;
mod dashboard;
mod display;
mod ingest;
mod live;
mod mesh;
mod metrics;
