//! [`SensorActor`]: one per configured sensor. Supervises its pipeline stages
//! (measurements: source → batcher; SDR: source → detector → features), restarts them
//! under the node's policy, drains them in pipeline order.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, Message, RpcReplyPort, SupervisionEvent};

use super::batcher::Batcher;
use super::config::{SensorConfig, SensorKind};
use super::measurement::MeasurementSource;
use super::plan::{StageHandle, add_stage, factory};
use super::rf;
use crate::metrics::NodeMetrics;
use crate::model::{EventDraft, Payload};
use crate::pipeline::{Link, PipelineConfig, StoreOutlet};
use crate::store::{StoreClient, now_us};
use crate::supervision::{Children, RestartPolicy, Slot};

/// How long one stage may take to drain on shutdown.
pub const DRAIN_TIMEOUT: Duration = Duration::from_millis(800);

/// A sensor's pipeline stages by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    /// Produces samples (measurements or IQ windows).
    Source,
    /// Batches measurement samples into events.
    Batcher,
    /// STFT over IQ: power rows.
    Spectrum,
    /// Per-bin noise floor: ratio rows.
    Floor,
    /// Multi-scale CFAR: hits (or, in band-energy mode, the band watch).
    Detector,
    /// Grouping hits into boxes: candidates with their IQ.
    Group,
    /// Features, evidence and event building per candidate.
    Features,
    /// Waveform classification per candidate.
    Classify,
}

/// Messages of a [`SensorActor`].
pub enum SensorMsg {
    /// Restart child `index` (sent to itself after a backoff).
    RestartChild(usize),
    /// Stop producing, let in-flight data reach the store, then reply.
    Drain(RpcReplyPort<()>),
    /// Fault injection: make one stage panic inside `handle`.
    Crash(StageName),
}

impl Message for SensorMsg {}

/// Arguments of a [`SensorActor`].
#[derive(Clone)]
pub struct SensorArgs {
    /// The sensor.
    pub config: SensorConfig,
    /// Where events go.
    pub store: StoreClient,
    /// Edge settings.
    pub pipeline: PipelineConfig,
    /// Restart policy for its stages.
    pub policy: RestartPolicy,
    /// Node counters.
    pub metrics: Arc<NodeMetrics>,
    /// Where live display data (waterfall rows) goes.
    pub display: Arc<super::DisplayStreams>,
    /// Where the sensor's attention is published (measurement sensors batch by it).
    pub attention: Arc<crate::rooms::AttentionBoard>,
    /// Where adapters hand IQ to ingest-fed SDR sensors.
    pub inlets: Arc<super::rf::IqInlets>,
    /// The waveform classifier SDR sensors run on their candidates, if any.
    pub classifier: Option<crate::classify::Classifier>,
}

/// State of a [`SensorActor`].
pub struct SensorState {
    children: Children,
    /// Stages in pipeline order (source first).
    stages: Vec<StageHandle>,
}

/// The actor of one sensor.
pub struct SensorActor;

impl Actor for SensorActor {
    type Msg = SensorMsg;
    type State = SensorState;
    type Arguments = SensorArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<SensorMsg>,
        args: SensorArgs,
    ) -> Result<SensorState, ActorProcessingErr> {
        let id = args.config.id.to_string();
        let mut children = Children::new(
            format!("sensor {id}"),
            args.policy.clone(),
            args.metrics.clone(),
        );
        let stages = match args.config.kind {
            SensorKind::HeartRate | SensorKind::Imu => measurement_plan(&args, &mut children),
            SensorKind::Sdr => rf::plan(&args, &mut children)?,
        };
        children.start_all(&myself.get_cell()).await?;

        let profile = EventDraft {
            ts_us: now_us(),
            sensor: Some(args.config.id.clone()),
            room: args.config.room.clone(),
            body: Payload::SensorProfileUpdated {
                profile: args.config.profile.clone(),
                reason: "sensor started".into(),
            },
        };
        let store = args.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.append_local(vec![profile]).await {
                tracing::warn!(error = %e, "could not record sensor profile");
            }
        });
        tracing::info!(sensor = %id, kind = ?args.config.kind, "sensor started");
        Ok(SensorState { children, stages })
    }

    async fn handle(
        &self,
        myself: ActorRef<SensorMsg>,
        msg: SensorMsg,
        state: &mut SensorState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SensorMsg::RestartChild(i) => state.children.restart(i, &myself.get_cell()).await?,
            SensorMsg::Crash(stage) => {
                if !state.stages.iter().any(|h| h.name == stage && h.crash()) {
                    tracing::warn!(?stage, "crash request: stage not running");
                }
            }
            SensorMsg::Drain(reply) => {
                state.children.set_stopping();
                for stage in &state.stages {
                    if let Some(cell) = stage.cell() {
                        let _ = cell.drain_and_wait(Some(DRAIN_TIMEOUT)).await;
                    }
                }
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<SensorMsg>,
        event: SupervisionEvent,
        state: &mut SensorState,
    ) -> Result<(), ActorProcessingErr> {
        state
            .children
            .handle_event(&event, &myself, SensorMsg::RestartChild)
    }
}

/// Measurement sensors: source → batcher → store.
fn measurement_plan(args: &SensorArgs, children: &mut Children) -> Vec<StageHandle> {
    let id = args.config.id.to_string();
    let (source, batcher) = (Slot::new(), Slot::new());
    let link = Link::new(
        &format!("{id}/batcher"),
        batcher.clone(),
        args.pipeline.edge_capacity,
        args.pipeline.overflow,
        args.metrics.clone(),
    );
    let cfg = args.config.clone();
    let board = args.attention.clone();
    let batcher = add_stage(
        children,
        StageName::Batcher,
        format!("{id}/batcher"),
        batcher,
        // Only a sensor in a room follows attention (and ticks often enough to); the rest keep
        // their configured batching.
        factory(move || {
            let follower = cfg.room.as_ref().map(|_| board.follow(&cfg.id));
            Batcher::new(&cfg, follower)
        }),
        StoreOutlet::new(args.store.clone()),
    );
    let cfg = args.config.clone();
    let source = add_stage(
        children,
        StageName::Source,
        format!("{id}/source"),
        source,
        factory(move || MeasurementSource::new(&cfg)),
        link,
    );
    vec![source, batcher]
}
