//! A node's actor runtime: what it runs ([`NodeSpec`]), its root [`NodeSupervisor`], and
//! [`NodeRuntime`] to start it on an opened store and shut it down in order.

mod heartbeat;
mod power;
mod supervisor;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorRef};
use tokio::task::JoinHandle;

pub use heartbeat::Heartbeat;
pub use power::{PowerConfig, PowerGauge};
pub use supervisor::{NodeArgs, NodeMsg, NodeSlots, NodeSupervisor};

use crate::metrics::NodeMetrics;
use crate::model::{NodeId, RoomId, SensorId};
use crate::pipeline::PipelineConfig;
use crate::rooms::{RoomConfig, RoomMsg};
use crate::sensors::{SensorConfig, SensorSupervisorMsg, StageName};
use crate::store::{Store, StoreClient};
use crate::supervision::{RestartPolicy, Slot};

/// Everything a node runs, resolved from configuration.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// Node identity.
    pub id: NodeId,
    /// Role name (`dev`, `edge`, `constrained`, `datacenter`).
    pub role: String,
    /// Sensors.
    pub sensors: Vec<SensorConfig>,
    /// Rooms.
    pub rooms: Vec<RoomConfig>,
    /// Edges between stages.
    pub pipeline: PipelineConfig,
    /// Restart policy everywhere.
    pub supervision: RestartPolicy,
    /// Heartbeat period.
    pub heartbeat_interval: Duration,
    /// Where its power comes from (the heartbeat reports the battery).
    pub power: PowerConfig,
    /// How sensors batch at each attention level.
    pub attention: crate::rooms::AttentionTable,
    /// The waveform classifier for SDR sensors (None: detections go out unlabelled).
    pub classifier: Option<crate::classify::Classifier>,
}

/// Errors starting a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// An actor failed to start.
    #[error("could not start the node's actors: {0}")]
    Spawn(String),
}

/// Adds rooms to a running node (cheap to clone).
#[derive(Clone)]
pub struct RoomKeeper(ActorRef<NodeMsg>);

impl RoomKeeper {
    /// Keeps one more room from now on, its actor supervised like the configured ones.
    pub async fn add(&self, room: RoomConfig) -> Result<(), String> {
        let call = self
            .0
            .call(
                |reply| NodeMsg::AddRoom(room, reply),
                Some(Duration::from_secs(5)),
            )
            .await
            .map_err(|e| format!("the node did not answer: {e}"))?;
        match call {
            ractor::rpc::CallResult::Success(r) => r,
            ractor::rpc::CallResult::Timeout => Err("the node did not answer in 5 s".into()),
            ractor::rpc::CallResult::SenderError => Err("the node is stopping".into()),
        }
    }
}

/// A running node's actors.
pub struct NodeRuntime {
    spec: NodeSpec,
    supervisor: ActorRef<NodeMsg>,
    join: JoinHandle<()>,
    store: Store,
    client: StoreClient,
    slots: NodeSlots,
    metrics: Arc<NodeMetrics>,
}

/// Room changes a subscriber may fall behind (then it re-reads the rooms).
pub const ROOM_UPDATE_BACKLOG: usize = 1024;

/// How long callers wait on the store before giving up.
pub const STORE_CALL_TIMEOUT: Duration = Duration::from_secs(10);

impl NodeRuntime {
    /// Starts the actor tree on `store`.
    pub async fn start(
        spec: NodeSpec,
        store: Store,
        metrics: Arc<NodeMetrics>,
    ) -> Result<Self, NodeError> {
        let slots = NodeSlots {
            store: Slot::new(),
            sensors: Slot::new(),
            rooms: Default::default(),
            heartbeat: Slot::new(),
            display: Default::default(),
            inlets: Default::default(),
            attention: Arc::new(crate::rooms::AttentionBoard::new(spec.attention)),
            room_updates: tokio::sync::broadcast::channel(ROOM_UPDATE_BACKLOG).0,
        };
        let client = StoreClient::new(slots.store.clone(), STORE_CALL_TIMEOUT);
        let args = NodeArgs {
            spec: spec.clone(),
            store: store.clone(),
            slots: slots.clone(),
            metrics: metrics.clone(),
            client: client.clone(),
        };
        let (supervisor, join) = Actor::spawn(None, NodeSupervisor, args)
            .await
            .map_err(|e| NodeError::Spawn(e.to_string()))?;
        Ok(Self {
            spec,
            supervisor,
            join,
            store,
            client,
            slots,
            metrics,
        })
    }

    /// Changes this node's rooms make, from now on (for the mesh to share).
    pub fn room_updates(&self) -> tokio::sync::broadcast::Receiver<crate::rooms::RoomUpdate> {
        self.slots.room_updates.subscribe()
    }

    /// Every sensor's effective attention (rooms publish it, sensors follow it).
    pub fn attention(&self) -> Arc<crate::rooms::AttentionBoard> {
        self.slots.attention.clone()
    }

    /// Live display data (waterfall rows) of every sensor.
    pub fn display(&self) -> Arc<crate::sensors::DisplayStreams> {
        self.slots.display.clone()
    }

    /// The rooms kept here now (configured, created, joined), and rooms as they are added.
    pub fn room_registry(&self) -> Arc<crate::rooms::RoomRegistry> {
        self.slots.rooms.clone()
    }

    /// A handle that adds rooms to this node while it runs.
    pub fn room_keeper(&self) -> RoomKeeper {
        RoomKeeper(self.supervisor.clone())
    }

    /// Where adapters hand IQ to ingest-fed SDR sensors.
    pub fn inlets(&self) -> Arc<crate::sensors::IqInlets> {
        self.slots.inlets.clone()
    }

    /// What it runs.
    pub fn spec(&self) -> &NodeSpec {
        &self.spec
    }

    /// The store (direct, blocking reads).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The store actor's client.
    pub fn store_client(&self) -> StoreClient {
        self.client.clone()
    }

    /// Node counters.
    pub fn metrics(&self) -> &Arc<NodeMetrics> {
        &self.metrics
    }

    /// Room actors, by room.
    pub fn rooms(&self) -> BTreeMap<RoomId, Slot<RoomMsg>> {
        let rooms = self.slots.rooms.list().into_iter();
        rooms.map(|(id, _, slot)| (id, slot)).collect()
    }

    /// The sensor supervisor.
    pub fn sensors(&self) -> Slot<SensorSupervisorMsg> {
        self.slots.sensors.clone()
    }

    /// Fault injection: makes a stage of a sensor panic inside `handle`.
    pub fn crash_stage(&self, sensor: SensorId, stage: StageName) {
        let _ = self.supervisor.cast(NodeMsg::Crash(sensor, stage));
    }

    /// Whether the root supervisor has stopped (it escalated: the node cannot go on).
    pub fn has_failed(&self) -> bool {
        self.join.is_finished()
    }

    /// Waits until the root supervisor stops by itself (a failure that escalated to the top).
    pub async fn failed(&mut self) {
        let _ = (&mut self.join).await;
    }

    /// Orderly stop: sensors stop, pipelines drain into the store, the store flushes.
    pub async fn shutdown(self) {
        let _ = self
            .supervisor
            .call(NodeMsg::Shutdown, Some(Duration::from_millis(4500)))
            .await;
        self.supervisor.stop(None);
        let _ = tokio::time::timeout(Duration::from_secs(1), self.join).await;
        self.store.close().await;
    }
}

#[cfg(test)]
mod classify_tests;
#[cfg(test)]
mod sdr_tests;
#[cfg(test)]
mod tests;
