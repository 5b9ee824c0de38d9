//! [`SensorActor`]: one per configured sensor. Supervises its pipeline stages
//! (source → batcher → store), restarts them under the node's policy, drains them in order.

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, Message, RpcReplyPort, SupervisionEvent};

use super::batcher::Batcher;
use super::config::SensorConfig;
use super::measurement::{MeasurementSource, SampleChunk};
use crate::metrics::NodeMetrics;
use crate::model::{EventDraft, Payload};
use crate::pipeline::{Link, PipelineConfig, StageActor, StageArgs, StageMsg, StoreOutlet};
use crate::store::{StoreClient, now_us};
use crate::supervision::{Children, RestartPolicy, Slot};

/// How long one stage may take to drain on shutdown.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// A sensor's pipeline stages by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageName {
    /// Produces samples.
    Source,
    /// Batches samples into events and stores them.
    Batcher,
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
}

/// State of a [`SensorActor`].
pub struct SensorState {
    children: Children,
    source: Slot<StageMsg<()>>,
    batcher: Slot<StageMsg<SampleChunk>>,
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
        let (source, batcher) = (Slot::new(), Slot::new());
        let link = Link::new(
            &format!("{id}/batcher"),
            batcher.clone(),
            args.pipeline.edge_capacity,
            args.pipeline.overflow,
            args.metrics.clone(),
        );
        let mut children = Children::new(
            format!("sensor {id}"),
            args.policy.clone(),
            args.metrics.clone(),
        );
        // Consumers start before producers; drain goes the other way.
        let (cfg, outlet, name) = (
            args.config.clone(),
            StoreOutlet::new(args.store.clone()),
            format!("{id}/batcher"),
        );
        children.add_actor(
            "batcher",
            batcher.clone(),
            StageActor::<Batcher, StoreOutlet>::default,
            move || StageArgs {
                name: name.clone(),
                make: Arc::new({
                    let cfg = cfg.clone();
                    move || Batcher::new(&cfg)
                }),
                outlet: outlet.clone(),
            },
        );
        let (cfg, name) = (args.config.clone(), format!("{id}/source"));
        children.add_actor(
            "source",
            source.clone(),
            StageActor::<MeasurementSource, Link<SampleChunk>>::default,
            move || StageArgs {
                name: name.clone(),
                make: Arc::new({
                    let cfg = cfg.clone();
                    move || MeasurementSource::new(&cfg)
                }),
                outlet: link.clone(),
            },
        );
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
        tracing::info!(sensor = %id, kind = ?args.config.kind, rate_hz = args.config.rate_hz, "sensor started");
        Ok(SensorState {
            children,
            source,
            batcher,
        })
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
                let sent = match stage {
                    StageName::Source => state
                        .source
                        .current()
                        .map(|a| a.cast(StageMsg::Crash("requested".into())).is_ok()),
                    StageName::Batcher => state
                        .batcher
                        .current()
                        .map(|a| a.cast(StageMsg::Crash("requested".into())).is_ok()),
                };
                if sent != Some(true) {
                    tracing::warn!(?stage, "crash request: stage not running");
                }
            }
            SensorMsg::Drain(reply) => {
                state.children.set_stopping();
                if let Some(a) = state.source.current() {
                    let _ = a.drain_and_wait(Some(DRAIN_TIMEOUT)).await;
                }
                if let Some(a) = state.batcher.current() {
                    let _ = a.drain_and_wait(Some(DRAIN_TIMEOUT)).await;
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
