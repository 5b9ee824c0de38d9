//! Pipeline plumbing: sans-IO [`Stage`]s run inside [`StageActor`] shells, connected by
//! bounded [`Link`]s and ending in the store via [`StoreOutlet`].

mod link;
mod outlets;
mod stage;

pub use link::{Credit, Link, Outlet, Overflow, PushError, StageMsg};
pub use outlets::StoreOutlet;
pub use stage::{Stage, StageActor, StageArgs, StageFactory, StageState};

use serde::{Deserialize, Serialize};

/// Edge settings between stages (config section `[pipeline]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Messages an edge holds before its producer waits or drops.
    pub edge_capacity: usize,
    /// What a producer does when the edge is full.
    pub overflow: Overflow,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        Self {
            edge_capacity: 64,
            overflow: Overflow::Block,
        }
    }
}

impl PipelineConfig {
    /// Problems with these settings, as `(key, message)` pairs.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        if (1..=65_536).contains(&self.edge_capacity) {
            Vec::new()
        } else {
            vec![("edge_capacity", "must be in 1..=65536".into())]
        }
    }
}

#[cfg(test)]
mod tests;
