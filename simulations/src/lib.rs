//! fieldmesh-sim: hundreds of whole fieldmesh nodes in one process, on a shaped in-memory
//! network, playing a seeded scenario; what they did comes out as a report with plots.

pub mod fleet;
pub mod html;
pub mod link;
pub mod measure;
pub mod report;
pub mod run;
pub mod scenario;
mod summary;

pub use report::Report;
pub use run::{RunOptions, run};
pub use scenario::{Scenario, Sizes};
