//! [`NodeSupervisor`]: the root of a node's actor tree — store, sensors, rooms, heartbeat —
//! with the shared restart policy, and the ordered shutdown (sensors, heartbeat, rooms, store).

use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, Message, RpcReplyPort, SupervisionEvent};

use super::NodeSpec;
use super::heartbeat::Heartbeat;
use super::power::PowerGauge;
use crate::metrics::NodeMetrics;
use crate::model::SensorId;
use crate::pipeline::{StageActor, StageArgs, StageMsg, StoreOutlet};
use crate::rooms::{RoomActor, RoomArgs, RoomConfig, RoomMsg, RoomRegistry, RoomState};
use crate::sensors::{
    DRAIN_TIMEOUT, SensorArgs, SensorSupervisor, SensorSupervisorArgs, SensorSupervisorMsg,
    StageName,
};
use crate::store::{Store, StoreActor, StoreArgs, StoreClient, StoreMsg};
use crate::supervision::{Children, Slot};

/// Messages of the [`NodeSupervisor`].
pub enum NodeMsg {
    /// Restart child `index` (sent to itself after a backoff).
    RestartChild(usize),
    /// Stop sensors, drain pipelines, stop the store actor; then reply.
    Shutdown(RpcReplyPort<()>),
    /// Fault injection: make a stage of a sensor panic.
    Crash(SensorId, StageName),
    /// Keep one more room (created here or joined from elsewhere); refused when it is kept
    /// already or its actor does not start.
    AddRoom(RoomConfig, RpcReplyPort<Result<(), String>>),
}

impl Message for NodeMsg {}

/// Slots through which the rest of the node reaches the children.
#[derive(Clone)]
pub struct NodeSlots {
    /// The store actor.
    pub store: Slot<StoreMsg>,
    /// The sensor supervisor.
    pub sensors: Slot<SensorSupervisorMsg>,
    /// The rooms kept here, each with its actor's slot.
    pub rooms: Arc<RoomRegistry>,
    /// The heartbeat stage.
    pub heartbeat: Slot<StageMsg<()>>,
    /// Live display data of every sensor.
    pub display: Arc<crate::sensors::DisplayStreams>,
    /// Every sensor's effective attention.
    pub attention: Arc<crate::rooms::AttentionBoard>,
    /// Where adapters hand IQ to ingest-fed SDR sensors.
    pub inlets: Arc<crate::sensors::IqInlets>,
    /// Changes rooms make here, for the mesh to share.
    pub room_updates: tokio::sync::broadcast::Sender<crate::rooms::RoomUpdate>,
}

/// Arguments of the [`NodeSupervisor`].
pub struct NodeArgs {
    /// What to run.
    pub spec: NodeSpec,
    /// The opened store.
    pub store: Store,
    /// Where children are published.
    pub slots: NodeSlots,
    /// Node counters.
    pub metrics: Arc<NodeMetrics>,
    /// Client for the store actor.
    pub client: StoreClient,
}

/// State of the [`NodeSupervisor`].
pub struct NodeState {
    children: Children,
    slots: NodeSlots,
    client: StoreClient,
}

/// Adds room `room` (with `sensors` in it) as a child; returns its index.
fn add_room(
    children: &mut Children,
    slots: &NodeSlots,
    client: &StoreClient,
    room: &RoomConfig,
    sensors: Vec<SensorId>,
    slot: Slot<RoomMsg>,
) -> usize {
    let state = RoomState::new(room, sensors);
    let c = client.clone();
    let updates = slots.room_updates.clone();
    let board = slots.attention.clone();
    children.add_actor(
        format!("room {}", room.id),
        slot,
        || RoomActor,
        move || RoomArgs {
            state: state.clone(),
            store: c.clone(),
            updates: updates.clone(),
            board: board.clone(),
        },
    )
}

/// A room's name for people (its id when it has none).
fn name_of(room: &RoomConfig) -> String {
    if room.name.is_empty() {
        room.id.to_string()
    } else {
        room.name.clone()
    }
}

/// The root supervisor of one node.
pub struct NodeSupervisor;

impl Actor for NodeSupervisor {
    type Msg = NodeMsg;
    type State = NodeState;
    type Arguments = NodeArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<NodeMsg>,
        args: NodeArgs,
    ) -> Result<NodeState, ActorProcessingErr> {
        let NodeArgs {
            spec,
            store,
            slots,
            metrics,
            client,
        } = args;
        let mut children = Children::new("node", spec.supervision.clone(), metrics.clone());
        children.add_actor(
            "store",
            slots.store.clone(),
            || StoreActor,
            move || StoreArgs {
                store: store.clone(),
            },
        );

        let sensor_args: Vec<SensorArgs> = spec
            .sensors
            .iter()
            .map(|config| SensorArgs {
                config: config.clone(),
                store: client.clone(),
                pipeline: spec.pipeline.clone(),
                policy: spec.supervision.clone(),
                metrics: metrics.clone(),
                display: slots.display.clone(),
                attention: slots.attention.clone(),
                inlets: slots.inlets.clone(),
                classifier: spec.classifier.clone(),
            })
            .collect();
        let (policy, m) = (spec.supervision.clone(), metrics.clone());
        children.add_actor(
            "sensors",
            slots.sensors.clone(),
            || SensorSupervisor,
            move || SensorSupervisorArgs {
                sensors: sensor_args.clone(),
                policy: policy.clone(),
                metrics: m.clone(),
            },
        );

        for room in &spec.rooms {
            let sensors = spec
                .sensors
                .iter()
                .filter(|s| s.room.as_ref() == Some(&room.id))
                .map(|s| s.id.clone())
                .collect();
            let slot = Slot::new();
            add_room(&mut children, &slots, &client, room, sensors, slot.clone());
            slots.rooms.insert(room.id.clone(), name_of(room), slot);
        }

        let (role, n, every, m, power) = (
            spec.role.clone(),
            spec.sensors.len() as u32,
            spec.heartbeat_interval,
            metrics.clone(),
            spec.power.clone(),
        );
        let started_us = crate::store::now_us();
        let outlet = StoreOutlet::new(client.clone());
        children.add_actor(
            "heartbeat",
            slots.heartbeat.clone(),
            StageActor::<Heartbeat, StoreOutlet>::default,
            move || {
                let (role, m, power) = (role.clone(), m.clone(), power.clone());
                StageArgs {
                    name: "heartbeat".into(),
                    make: Arc::new(move || {
                        let gauge = PowerGauge::new(power.clone(), started_us);
                        Heartbeat::new(role.clone(), n, every, started_us, m.clone(), gauge)
                    }),
                    outlet: outlet.clone(),
                }
            },
        );
        children.start_all(&myself.get_cell()).await?;
        Ok(NodeState {
            children,
            slots,
            client,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<NodeMsg>,
        msg: NodeMsg,
        state: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            NodeMsg::RestartChild(i) => state.children.restart(i, &myself.get_cell()).await?,
            NodeMsg::Crash(sensor, stage) => {
                if let Some(s) = state.slots.sensors.current() {
                    let _ = s.cast(SensorSupervisorMsg::Crash(sensor, stage));
                }
            }
            NodeMsg::AddRoom(room, reply) => {
                let out = if state.slots.rooms.get(&room.id).is_some() {
                    Err(format!("room {} is kept here already", room.id))
                } else {
                    let slot = Slot::new();
                    let i = add_room(
                        &mut state.children,
                        &state.slots,
                        &state.client,
                        &room,
                        Vec::new(),
                        slot.clone(),
                    );
                    match state.children.start(i, &myself.get_cell()).await {
                        Ok(()) => {
                            state
                                .slots
                                .rooms
                                .insert(room.id.clone(), name_of(&room), slot);
                            Ok(())
                        }
                        Err(e) => Err(format!("room {}: {e}", room.id)),
                    }
                };
                let _ = reply.send(out);
            }
            NodeMsg::Shutdown(reply) => {
                state.children.set_stopping();
                let slots = &state.slots;
                if let Some(s) = slots.sensors.current() {
                    let _ = s
                        .call(
                            SensorSupervisorMsg::Drain,
                            Some(DRAIN_TIMEOUT * 3 + Duration::from_millis(400)),
                        )
                        .await;
                    let _ = s.stop_and_wait(None, Some(DRAIN_TIMEOUT)).await;
                }
                if let Some(h) = slots.heartbeat.current() {
                    let _ = h.stop_and_wait(None, Some(DRAIN_TIMEOUT)).await;
                }
                for (_, _, room) in slots.rooms.list() {
                    if let Some(r) = room.current() {
                        let _ = r.stop_and_wait(None, Some(Duration::from_secs(1))).await;
                    }
                }
                if let Some(st) = slots.store.current() {
                    let _ = st.drain_and_wait(Some(DRAIN_TIMEOUT)).await;
                }
                let _ = reply.send(());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<NodeMsg>,
        event: SupervisionEvent,
        state: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        state
            .children
            .handle_event(&event, &myself, NodeMsg::RestartChild)
    }
}
