//! [`StoreActor`]: the supervised shell around [`Store`]. Appends go to the writer thread
//! in order (acknowledged after commit); reads run on blocking threads; retention on a timer.

use std::collections::BTreeMap;
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, Message, RpcReplyPort};

use super::writer::WriteOp;
use super::{AppendReport, EventQuery, OriginSeqs, Store, StoreError};
use crate::model::{ArtifactKind, ArtifactPtr, Event, EventDraft, NodeId};
use crate::supervision::Slot;

/// Messages of the [`StoreActor`].
pub enum StoreMsg {
    /// Seal and store local drafts; replies after commit.
    AppendLocal {
        drafts: Vec<EventDraft>,
        reply: RpcReplyPort<Result<Vec<Event>, StoreError>>,
    },
    /// Store events made elsewhere (idempotent); replies after commit.
    Append {
        events: Vec<Event>,
        reply: RpcReplyPort<Result<AppendReport, StoreError>>,
    },
    /// Read events.
    Query {
        query: EventQuery,
        reply: RpcReplyPort<Result<Vec<Event>, StoreError>>,
    },
    /// Per-origin sequence bookkeeping.
    Origins {
        reply: RpcReplyPort<Result<BTreeMap<NodeId, OriginSeqs>, StoreError>>,
    },
    /// Store an artifact made here; replies with its pointer once the file is durable.
    PutArtifact {
        kind: ArtifactKind,
        media_type: Option<String>,
        bytes: Vec<u8>,
        reply: RpcReplyPort<Result<ArtifactPtr, StoreError>>,
    },
    /// Apply retention now.
    RunRetention,
}

impl Message for StoreMsg {}

/// The store actor (stateless shell; the [`Store`] lives in its arguments).
pub struct StoreActor;

/// Arguments of the [`StoreActor`].
pub struct StoreArgs {
    /// The store.
    pub store: Store,
}

/// State of the [`StoreActor`].
pub struct StoreState {
    store: Store,
}

impl Actor for StoreActor {
    type Msg = StoreMsg;
    type State = StoreState;
    type Arguments = StoreArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<StoreMsg>,
        args: StoreArgs,
    ) -> Result<StoreState, ActorProcessingErr> {
        let every = Duration::from_secs(args.store.config().retention_interval_s);
        myself.send_interval(every, || StoreMsg::RunRetention);
        Ok(StoreState { store: args.store })
    }

    async fn handle(
        &self,
        _myself: ActorRef<StoreMsg>,
        msg: StoreMsg,
        state: &mut StoreState,
    ) -> Result<(), ActorProcessingErr> {
        let store = state.store.clone();
        match msg {
            StoreMsg::AppendLocal { drafts, reply } => {
                let reply = Box::new(move |r| {
                    let _ = reply.send(r);
                });
                forward(&store, WriteOp::Local { drafts, reply }).await;
            }
            StoreMsg::Append { events, reply } => {
                let reply = Box::new(move |r| {
                    let _ = reply.send(r);
                });
                let sigs = vec![None; events.len()];
                forward(
                    &store,
                    WriteOp::Replicated {
                        events,
                        sigs,
                        durable: true,
                        reply,
                    },
                )
                .await;
            }
            StoreMsg::Query { query, reply } => {
                tokio::task::spawn_blocking(move || {
                    let _ = reply.send(store.query(&query));
                });
            }
            StoreMsg::Origins { reply } => {
                tokio::task::spawn_blocking(move || {
                    let _ = reply.send(store.origins());
                });
            }
            StoreMsg::PutArtifact {
                kind,
                media_type,
                bytes,
                reply,
            } => {
                tokio::task::spawn_blocking(move || {
                    let put = store.artifacts().put(
                        kind,
                        media_type.as_deref(),
                        &bytes,
                        store.local(),
                        super::now_us(),
                    );
                    let _ = reply.send(put);
                });
            }
            StoreMsg::RunRetention => {
                tokio::spawn(async move {
                    match store.run_retention().await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(removed = n, "store retention"),
                        Err(e) => tracing::warn!(error = %e, "store retention failed"),
                    }
                });
            }
        }
        Ok(())
    }
}

async fn forward(store: &Store, op: WriteOp) {
    // On failure the op (and its reply callback) is dropped; the caller sees the reply
    // channel close, which `StoreClient` reports as unavailable.
    if let Err(e) = store.enqueue(op).await {
        tracing::warn!(error = %e, "store write rejected");
    }
}

/// How components talk to the store: through whichever [`StoreActor`] runs now.
#[derive(Clone)]
pub struct StoreClient {
    slot: Slot<StoreMsg>,
    timeout: Duration,
}

impl StoreClient {
    /// A client of the actor in `slot`; calls give up after `timeout`.
    pub fn new(slot: Slot<StoreMsg>, timeout: Duration) -> Self {
        Self { slot, timeout }
    }

    async fn call<T: Send + 'static>(
        &self,
        make: impl FnOnce(RpcReplyPort<Result<T, StoreError>>) -> StoreMsg,
    ) -> Result<T, StoreError> {
        let actor = self
            .slot
            .wait(self.timeout)
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        match actor.call(make, Some(self.timeout)).await {
            Ok(ractor::rpc::CallResult::Success(r)) => r,
            Ok(ractor::rpc::CallResult::Timeout) => Err(StoreError::Unavailable(format!(
                "no reply within {:?}",
                self.timeout
            ))),
            Ok(ractor::rpc::CallResult::SenderError) => {
                Err(StoreError::Unavailable("store dropped the request".into()))
            }
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        }
    }

    /// Seals and stores local drafts; returns the sealed events once durable.
    pub async fn append_local(&self, drafts: Vec<EventDraft>) -> Result<Vec<Event>, StoreError> {
        self.call(|reply| StoreMsg::AppendLocal { drafts, reply })
            .await
    }

    /// Stores events made elsewhere; returns once durable.
    pub async fn append(&self, events: Vec<Event>) -> Result<AppendReport, StoreError> {
        self.call(|reply| StoreMsg::Append { events, reply }).await
    }

    /// Reads events.
    pub async fn query(&self, query: EventQuery) -> Result<Vec<Event>, StoreError> {
        self.call(|reply| StoreMsg::Query { query, reply }).await
    }

    /// Stores an artifact made on this node; returns its pointer once durable.
    pub async fn put_artifact(
        &self,
        kind: ArtifactKind,
        media_type: Option<String>,
        bytes: Vec<u8>,
    ) -> Result<ArtifactPtr, StoreError> {
        self.call(|reply| StoreMsg::PutArtifact {
            kind,
            media_type,
            bytes,
            reply,
        })
        .await
    }

    /// Per-origin sequence bookkeeping.
    pub async fn origins(&self) -> Result<BTreeMap<NodeId, OriginSeqs>, StoreError> {
        self.call(|reply| StoreMsg::Origins { reply }).await
    }
}
