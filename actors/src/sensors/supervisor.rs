//! [`SensorSupervisor`]: starts one [`SensorActor`] per configured sensor, restarts them
//! under the node's policy and drains them all on shutdown.

use std::collections::BTreeMap;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, Message, RpcReplyPort, SupervisionEvent};

use super::actor::{DRAIN_TIMEOUT, SensorActor, SensorArgs, SensorMsg, StageName};
use crate::model::SensorId;
use crate::supervision::{Children, Slot};

/// Messages of the [`SensorSupervisor`].
pub enum SensorSupervisorMsg {
    /// Restart child `index` (sent to itself after a backoff).
    RestartChild(usize),
    /// Drain every sensor, then reply.
    Drain(RpcReplyPort<()>),
    /// Fault injection: make a stage of a sensor panic.
    Crash(SensorId, StageName),
    /// The sensors it runs.
    List(RpcReplyPort<Vec<SensorId>>),
}

impl Message for SensorSupervisorMsg {}

/// Arguments: one [`SensorArgs`] per sensor.
pub struct SensorSupervisorArgs {
    /// The sensors.
    pub sensors: Vec<SensorArgs>,
    /// Restart policy for the sensors themselves.
    pub policy: crate::supervision::RestartPolicy,
    /// Node counters.
    pub metrics: std::sync::Arc<crate::metrics::NodeMetrics>,
}

/// State of the [`SensorSupervisor`].
pub struct SensorSupervisorState {
    children: Children,
    sensors: BTreeMap<SensorId, Slot<SensorMsg>>,
}

/// Supervises the node's sensors.
pub struct SensorSupervisor;

impl Actor for SensorSupervisor {
    type Msg = SensorSupervisorMsg;
    type State = SensorSupervisorState;
    type Arguments = SensorSupervisorArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut children = Children::new("sensors", args.policy, args.metrics);
        let mut sensors = BTreeMap::new();
        for sensor in args.sensors {
            let slot = Slot::new();
            sensors.insert(sensor.config.id.clone(), slot.clone());
            children.add_actor(
                sensor.config.id.to_string(),
                slot,
                || SensorActor,
                move || sensor.clone(),
            );
        }
        children.start_all(&myself.get_cell()).await?;
        Ok(SensorSupervisorState { children, sensors })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        msg: Self::Msg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match msg {
            SensorSupervisorMsg::RestartChild(i) => {
                state.children.restart(i, &myself.get_cell()).await?
            }
            SensorSupervisorMsg::Drain(reply) => {
                state.children.set_stopping();
                let drains = state
                    .sensors
                    .values()
                    .filter_map(Slot::current)
                    .map(|s| async move {
                        let _ = s
                            .call(
                                SensorMsg::Drain,
                                Some(DRAIN_TIMEOUT * 3 + Duration::from_millis(200)),
                            )
                            .await;
                        let _ = s
                            .stop_and_wait(None, Some(Duration::from_millis(300)))
                            .await;
                    });
                futures_join_all(drains).await;
                let _ = reply.send(());
            }
            SensorSupervisorMsg::Crash(id, stage) => {
                match state.sensors.get(&id).and_then(Slot::current) {
                    Some(s) => {
                        let _ = s.cast(SensorMsg::Crash(stage));
                    }
                    None => tracing::warn!(sensor = %id, "crash request: no such sensor running"),
                }
            }
            SensorSupervisorMsg::List(reply) => {
                let _ = reply.send(state.sensors.keys().cloned().collect());
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state
            .children
            .handle_event(&event, &myself, SensorSupervisorMsg::RestartChild)
    }
}

/// Runs futures concurrently and waits for all (sensors drain in parallel).
async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(
    futs: impl Iterator<Item = F>,
) {
    let mut set = tokio::task::JoinSet::new();
    for f in futs {
        set.spawn(f);
    }
    while set.join_next().await.is_some() {}
}
