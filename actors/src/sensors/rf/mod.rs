//! The SDR sensor's edge pipeline: simulated radio → detector (STFT, noise floor, CFAR,
//! grouping) → features and evidence → store, each stage a supervised actor.

mod detector;
mod outlet;
mod report;
mod source;

pub use detector::{Candidate, Detected, Detector, TfSummary};
pub use outlet::DetectionOutlet;
pub use report::{Featurizer, Report};
pub use source::{IqWindow, SimulatedRadio};

use super::actor::{SensorArgs, StageName};
use super::plan::{StageHandle, add_stage, factory};
use crate::pipeline::Link;
use crate::supervision::{Children, Slot};

/// Adds the RF stages of `args`' sensor to `children`; returns them in pipeline order.
pub fn plan(args: &SensorArgs, children: &mut Children) -> Vec<StageHandle> {
    let id = args.config.id.to_string();
    let (source, detector, featurizer) = (Slot::new(), Slot::new(), Slot::new());
    let (cap, overflow) = (args.pipeline.edge_capacity, args.pipeline.overflow);
    let to_features = Link::new(
        &format!("{id}/features"),
        featurizer.clone(),
        cap,
        overflow,
        args.metrics.clone(),
    );
    let to_detector = Link::new(
        &format!("{id}/detector"),
        detector.clone(),
        cap,
        overflow,
        args.metrics.clone(),
    );

    let (sensor, room, rf) = (
        args.config.id.clone(),
        args.config.room.clone(),
        args.config.rf.clone(),
    );
    let features = add_stage(
        children,
        StageName::Features,
        format!("{id}/features"),
        featurizer,
        factory(move || Featurizer::new(sensor.clone(), room.clone(), &rf)),
        DetectionOutlet::new(args.store.clone()),
    );
    let rf = args.config.rf.clone();
    let detect = add_stage(
        children,
        StageName::Detector,
        format!("{id}/detector"),
        detector,
        factory(move || Detector::new(&rf)),
        to_features,
    );
    let cfg = args.config.clone();
    let radio = add_stage(
        children,
        StageName::Source,
        format!("{id}/source"),
        source,
        factory(move || SimulatedRadio::new(&cfg)),
        to_detector,
    );
    vec![radio, detect, features]
}
