//! [`RoomActor`]: one per room. Holds the [`RoomState`], records attention changes as
//! `attention_changed` events, and expires lapsed hints on a timer.

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, Message, RpcReplyPort};

use super::state::{AttentionHint, RoomState};
use crate::model::{AttentionLevel, EventDraft, Payload, SensorId};
use crate::store::{StoreClient, now_us};

/// Messages of a [`RoomActor`].
pub enum RoomMsg {
    /// The room as it is now.
    Snapshot(RpcReplyPort<RoomState>),
    /// A viewer's attention on a sensor, valid for `ttl`.
    SetAttention {
        sensor: SensorId,
        viewer: String,
        level: AttentionLevel,
        ttl: Duration,
    },
    /// A sensor's effective attention now.
    Effective(SensorId, RpcReplyPort<AttentionLevel>),
    /// Someone joined.
    Join(String),
    /// Drop lapsed hints (timer).
    Expire,
    /// Changes made on other nodes (applied, not shared again).
    Remote(Vec<super::RoomChange>),
}

impl Message for RoomMsg {}

/// Arguments of a [`RoomActor`].
pub struct RoomArgs {
    /// Initial state.
    pub state: RoomState,
    /// Where attention events go.
    pub store: StoreClient,
    /// Where this room's own changes are announced (for the mesh).
    pub updates: tokio::sync::broadcast::Sender<super::RoomUpdate>,
    /// Where the room publishes its sensors' effective attention.
    pub board: std::sync::Arc<super::AttentionBoard>,
}

/// Actor state of a [`RoomActor`].
pub struct RoomActorState {
    room: RoomState,
    store: StoreClient,
    updates: tokio::sync::broadcast::Sender<super::RoomUpdate>,
    board: std::sync::Arc<super::AttentionBoard>,
    published: std::collections::BTreeSet<crate::model::SensorId>,
}

impl RoomActorState {
    /// Publishes the effective level of every sensor in the room, watched in it, or
    /// published before (a lapsed hint leaves no key behind, but its level must drop).
    fn publish(&mut self, now_us: u64) {
        let Some(room) = &self.room.id else { return };
        self.published.extend(self.room.sensors.iter().cloned());
        self.published.extend(self.room.attention.keys().cloned());
        for sensor in &self.published {
            self.board
                .publish(room, sensor, self.room.effective(sensor, now_us));
        }
    }

    fn share(&self, change: super::RoomChange) {
        if let Some(room) = self.room.id.clone() {
            // Nobody listening (no mesh) is fine.
            let _ = self.updates.send(super::RoomUpdate { room, change });
        }
    }
}

/// The actor of one room.
pub struct RoomActor;

impl Actor for RoomActor {
    type Msg = RoomMsg;
    type State = RoomActorState;
    type Arguments = RoomArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<RoomMsg>,
        args: RoomArgs,
    ) -> Result<RoomActorState, ActorProcessingErr> {
        myself.send_interval(Duration::from_secs(1), || RoomMsg::Expire);
        let mut state = RoomActorState {
            room: args.state,
            store: args.store,
            updates: args.updates,
            board: args.board,
            published: Default::default(),
        };
        state.publish(now_us());
        Ok(state)
    }

    async fn handle(
        &self,
        _myself: ActorRef<RoomMsg>,
        msg: RoomMsg,
        state: &mut RoomActorState,
    ) -> Result<(), ActorProcessingErr> {
        let now = now_us();
        let touches_attention = matches!(
            msg,
            RoomMsg::SetAttention { .. } | RoomMsg::Remote(_) | RoomMsg::Expire
        );
        match msg {
            RoomMsg::Snapshot(reply) => {
                let _ = reply.send(state.room.clone());
            }
            RoomMsg::SetAttention {
                sensor,
                viewer,
                level,
                ttl,
            } => {
                let expires_us = now + ttl.as_micros() as u64;
                let before = state.room.viewer_level(&sensor, &viewer, now);
                let hint = AttentionHint { level, expires_us };
                state
                    .room
                    .set_attention(sensor.clone(), viewer.clone(), hint);
                state.share(super::RoomChange::Attention {
                    sensor: sensor.clone(),
                    viewer: viewer.clone(),
                    hint,
                });
                // Refreshing a hint is not a change; a new level is.
                if before != level {
                    let draft = EventDraft {
                        ts_us: now,
                        sensor: Some(sensor),
                        room: state.room.id.clone(),
                        body: Payload::AttentionChanged {
                            viewer,
                            level,
                            expires_us,
                        },
                    };
                    let store = state.store.clone();
                    tokio::spawn(async move {
                        if let Err(e) = store.append_local(vec![draft]).await {
                            tracing::warn!(error = %e, "could not record attention change");
                        }
                    });
                }
            }
            RoomMsg::Effective(sensor, reply) => {
                let _ = reply.send(state.room.effective(&sensor, now));
            }
            RoomMsg::Join(member) => {
                if state.room.members.insert(member.clone()) {
                    state.share(super::RoomChange::Member(member));
                }
            }
            RoomMsg::Remote(changes) => {
                for c in &changes {
                    state.room.apply(c);
                }
            }
            RoomMsg::Expire => {
                state.room.expire(now);
            }
        }
        // Attention can change only through hints (here or remote) and their lapsing.
        if touches_attention {
            state.publish(now);
        }
        Ok(())
    }
}
