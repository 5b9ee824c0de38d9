//! The SDR sensor's edge pipeline: source → STFT → noise floor → CFAR → grouping →
//! features and evidence → classify (when a model is loaded) → store, each stage a
//! supervised actor with bounded edges.

mod bands;
mod classify;
mod detector;
mod inlet;
mod iq01_tcp;
mod outlet;
mod replay;
mod report;
mod source;
mod spectral;

pub use bands::{BAND_ALERT_FEATURES, BandWatch};
pub use classify::ClassifyStage;
pub use detector::{Candidate, Detected, GroupStage, TfSummary};
pub use inlet::{InletError, IqInlet, IqInletArgs, IqInlets};
pub use iq01_tcp::{Iq01Framer, Iq01Listener, Iq01ListenerArgs, Iq01StreamError};
pub use outlet::DetectionOutlet;
pub use replay::ReplayRadio;
pub use report::{Featurizer, Report};
pub use source::{IqWindow, SimulatedRadio};
pub use spectral::{DetectStage, FloorStage, SpectralBatch, SpectrumStage};

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use super::actor::{SensorArgs, StageName};
use super::config::{IqSourceConfig, RfMode};
use super::plan::{StageHandle, add_stage, factory};
use crate::dsp::sigmf::read_recording;
use crate::pipeline::Link;
use crate::supervision::{Children, Slot};

/// Adds the RF stages of `args`' sensor to `children`; returns them in pipeline order.
/// Fails when the configured source cannot be used (e.g. an unreadable recording).
pub fn plan(args: &SensorArgs, children: &mut Children) -> Result<Vec<StageHandle>, String> {
    let id = args.config.id.to_string();
    // A replay runs at the recording's own sample rate and tuning.
    let mut rf = args.config.rf.clone();
    let recording = match &rf.source {
        IqSourceConfig::Replay { path, .. } => {
            let rec = Arc::new(read_recording(path).map_err(|e| format!("sensor {id}: {e}"))?);
            rf.sample_rate_hz = rec.sample_rate_hz;
            rf.center_freq_hz = rec.center_freq_hz.unwrap_or(rf.center_freq_hz);
            Some(rec)
        }
        _ => None,
    };
    let (sensor, room) = (args.config.id.clone(), args.config.room.clone());

    // Consumers first (they start first), then the source feeding the first of them.
    let first = Slot::new();
    let mut stages = match rf.mode {
        RfMode::Full => spectral_plan(args, children, &rf, first.clone()),
        RfMode::BandEnergy => {
            let cfg = rf.clone();
            vec![add_stage(
                children,
                StageName::Detector,
                format!("{id}/bands"),
                first.clone(),
                factory(move || BandWatch::new(sensor.clone(), room.clone(), &cfg)),
                crate::pipeline::StoreOutlet::new(args.store.clone()),
            )]
        }
    };
    let to_detector: Link<IqWindow> = edge(args, "spectrum", first);
    let label = format!("{id}/source");
    let radio = match (&rf.source, recording) {
        (
            IqSourceConfig::Replay {
                realtime, repeat, ..
            },
            Some(rec),
        ) => {
            let (window, realtime, repeat) = (rf.window_samples, *realtime, *repeat);
            let make = factory(move || ReplayRadio::new(rec.clone(), window, realtime, repeat));
            add_stage(
                children,
                StageName::Source,
                label,
                Slot::new(),
                make,
                to_detector,
            )
        }
        (IqSourceConfig::Iq01Tcp { bind }, _) => {
            let slot = Slot::new();
            let (bind, rejected) = (*bind, Arc::new(AtomicU64::new(0)));
            children.add_actor(
                label,
                slot.clone(),
                || Iq01Listener,
                move || Iq01ListenerArgs {
                    bind,
                    out: to_detector.clone(),
                    rejected: rejected.clone(),
                },
            );
            // The listener has no stage shell: it cannot be crashed on request.
            StageHandle::new(
                StageName::Source,
                move || slot.current().map(|a| a.get_cell()),
                || false,
            )
        }
        (IqSourceConfig::Ingest, _) => {
            let slot = Slot::new();
            let (sensor, inlets) = (args.config.id.clone(), args.inlets.clone());
            children.add_actor(
                label,
                slot.clone(),
                || IqInlet,
                move || IqInletArgs {
                    sensor: sensor.clone(),
                    inlets: inlets.clone(),
                    out: to_detector.clone(),
                },
            );
            StageHandle::new(
                StageName::Source,
                move || slot.current().map(|a| a.get_cell()),
                || false,
            )
        }
        _ => {
            let cfg = args.config.clone();
            add_stage(
                children,
                StageName::Source,
                label,
                Slot::new(),
                factory(move || SimulatedRadio::new(&cfg)),
                to_detector,
            )
        }
    };
    stages.insert(0, radio);
    Ok(stages)
}

/// STFT → floor → CFAR → grouping → features → store, added consumers first; `first` is
/// the STFT stage's slot. Returns them in pipeline order.
fn spectral_plan(
    args: &SensorArgs,
    children: &mut Children,
    rf: &crate::sensors::RfConfig,
    first: Slot<crate::pipeline::StageMsg<IqWindow>>,
) -> Vec<StageHandle> {
    let id = args.config.id.to_string();
    let (sensor, room) = (args.config.id.clone(), args.config.room.clone());
    let (features_in, group_in, detect_in, floor_in) =
        (Slot::new(), Slot::new(), Slot::new(), Slot::new());
    let cfg = rf.clone();
    let outlet = DetectionOutlet::new(args.store.clone());
    let mut tail = Vec::new();
    let features = match &args.classifier {
        Some(classifier) => {
            let classify_in = Slot::new();
            let (c, fs) = (classifier.clone(), rf.sample_rate_hz);
            tail.push(add_stage(
                children,
                StageName::Classify,
                format!("{id}/classify"),
                classify_in.clone(),
                factory(move || ClassifyStage::new(c.clone(), fs)),
                outlet,
            ));
            add_stage(
                children,
                StageName::Features,
                format!("{id}/features"),
                features_in.clone(),
                factory(move || Featurizer::new(sensor.clone(), room.clone(), &cfg)),
                edge::<Report>(args, "classify", classify_in),
            )
        }
        None => add_stage(
            children,
            StageName::Features,
            format!("{id}/features"),
            features_in.clone(),
            factory(move || Featurizer::new(sensor.clone(), room.clone(), &cfg)),
            outlet,
        ),
    };
    let cfg = rf.clone();
    let group = add_stage(
        children,
        StageName::Group,
        format!("{id}/group"),
        group_in.clone(),
        factory(move || GroupStage::new(&cfg)),
        edge::<Detected>(args, "features", features_in),
    );
    let a = rf.analyzer.clone();
    let detect = add_stage(
        children,
        StageName::Detector,
        format!("{id}/detector"),
        detect_in.clone(),
        factory(move || DetectStage::new(&a)),
        edge::<SpectralBatch>(args, "group", group_in),
    );
    let a = rf.analyzer.clone();
    let floor = add_stage(
        children,
        StageName::Floor,
        format!("{id}/floor"),
        floor_in.clone(),
        factory(move || FloorStage::new(&a)),
        edge::<SpectralBatch>(args, "detector", detect_in),
    );
    let (a, wf) = (rf.analyzer.clone(), rf.waterfall.clone());
    let (fs, fc) = (rf.sample_rate_hz, rf.center_freq_hz);
    let tx = args.display.waterfall_sender(&args.config.id);
    let spectrum = add_stage(
        children,
        StageName::Spectrum,
        format!("{id}/spectrum"),
        first,
        factory(move || SpectrumStage::new(&a).with_waterfall(&wf, fs, fc, tx.clone())),
        edge::<SpectralBatch>(args, "floor", floor_in),
    );
    let mut stages = vec![spectrum, floor, detect, group, features];
    stages.extend(tail);
    stages
}

/// A bounded edge named `<sensor>/<name>` into the stage in `slot`.
fn edge<T: Send + 'static>(
    args: &SensorArgs,
    name: &str,
    slot: Slot<crate::pipeline::StageMsg<T>>,
) -> Link<T> {
    let label = format!("{}/{name}", args.config.id);
    Link::new(
        &label,
        slot,
        args.pipeline.edge_capacity,
        args.pipeline.overflow,
        args.metrics.clone(),
    )
}
