//! Sensors: configuration, simulated measurement sources and batching as sans-IO stages,
//! the [`SensorActor`] that supervises a sensor's pipeline, and the [`SensorSupervisor`].

mod actor;
mod batcher;
mod config;
mod display;
mod measurement;
mod plan;
pub mod rf;
mod supervisor;

pub use actor::{DRAIN_TIMEOUT, SensorActor, SensorArgs, SensorMsg, StageName};
pub use batcher::Batcher;
pub use config::{IqSourceConfig, MAX_BATCH_VALUES, RfConfig, RfMode, SensorConfig, SensorKind};
pub use display::{DisplayStreams, WaterfallFrame};
pub use measurement::{MeasurementSource, SampleChunk};
pub use plan::StageHandle;
pub use rf::{InletError, IqInlets};
pub use supervisor::{SensorSupervisor, SensorSupervisorArgs, SensorSupervisorMsg};
