//! The SDR sensor's edge pipeline: simulated radio → detector (STFT, noise floor, CFAR,
//! grouping) → features and evidence → store, each stage a supervised actor.

mod bands;
mod detector;
mod iq01_tcp;
mod outlet;
mod replay;
mod report;
mod source;

pub use bands::{BAND_ALERT_FEATURES, BandWatch};
pub use detector::{Candidate, Detected, Detector, TfSummary};
pub use iq01_tcp::{Iq01Framer, Iq01Listener, Iq01ListenerArgs, Iq01StreamError};
pub use outlet::DetectionOutlet;
pub use replay::ReplayRadio;
pub use report::{Featurizer, Report};
pub use source::{IqWindow, SimulatedRadio};

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
    let mut rf_cfg = args.config.rf.clone();
    let recording = match &rf_cfg.source {
        IqSourceConfig::Replay { path, .. } => {
            let rec = Arc::new(read_recording(path).map_err(|e| format!("sensor {id}: {e}"))?);
            rf_cfg.sample_rate_hz = rec.sample_rate_hz;
            rf_cfg.center_freq_hz = rec.center_freq_hz.unwrap_or(rf_cfg.center_freq_hz);
            Some(rec)
        }
        _ => None,
    };
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

    let mut stages = match rf_cfg.mode {
        RfMode::Full => {
            let (sensor, room, rf) = (
                args.config.id.clone(),
                args.config.room.clone(),
                rf_cfg.clone(),
            );
            let features = add_stage(
                children,
                StageName::Features,
                format!("{id}/features"),
                featurizer,
                factory(move || Featurizer::new(sensor.clone(), room.clone(), &rf)),
                DetectionOutlet::new(args.store.clone()),
            );
            let rf = rf_cfg.clone();
            let detect = add_stage(
                children,
                StageName::Detector,
                format!("{id}/detector"),
                detector,
                factory(move || Detector::new(&rf)),
                to_features,
            );
            vec![detect, features]
        }
        RfMode::BandEnergy => {
            drop((to_features, featurizer));
            let (sensor, room, rf) = (
                args.config.id.clone(),
                args.config.room.clone(),
                rf_cfg.clone(),
            );
            vec![add_stage(
                children,
                StageName::Detector,
                format!("{id}/bands"),
                detector,
                factory(move || BandWatch::new(sensor.clone(), room.clone(), &rf)),
                crate::pipeline::StoreOutlet::new(args.store.clone()),
            )]
        }
    };
    let label = format!("{id}/source");
    let radio = match &args.config.rf.source {
        IqSourceConfig::Simulated => {
            let cfg = args.config.clone();
            add_stage(
                children,
                StageName::Source,
                label,
                source,
                factory(move || SimulatedRadio::new(&cfg)),
                to_detector,
            )
        }
        IqSourceConfig::Replay {
            path,
            realtime,
            repeat,
        } => {
            let _ = path; // loaded above
            let rec = recording
                .clone()
                .ok_or_else(|| format!("sensor {id}: recording not loaded"))?;
            let (window, realtime, repeat) = (args.config.rf.window_samples, *realtime, *repeat);
            add_stage(
                children,
                StageName::Source,
                label,
                source,
                factory(move || ReplayRadio::new(rec.clone(), window, realtime, repeat)),
                to_detector,
            )
        }
        IqSourceConfig::Iq01Tcp { bind } => {
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
            drop(source);
            StageHandle::new(
                StageName::Source,
                move || slot.current().map(|a| a.get_cell()),
                || false,
            )
        }
    };
    stages.insert(0, radio);
    Ok(stages)
}
