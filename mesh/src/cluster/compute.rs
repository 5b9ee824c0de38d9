//! The `heavy-compute` process group: datacenter nodes run a [`HeavyCompute`] actor that
//! refines a candidate's IQ window on request — fetch it over iroh-blobs, run the detection
//! path with a finer transform — and any node can ask the group through ractor_cluster.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldmesh_actors::dsp::analyzer::{AnalyzerConfig, TfBox, analyze_recording};
use fieldmesh_actors::dsp::sigmf::read_archive_bytes;
use fieldmesh_actors::model::{ArtifactHash, ArtifactPtr, NodeId};
use fieldmesh_actors::store::Store;
use ractor::concurrency::oneshot;
use ractor::message::{BoxedDowncastErr, SerializedMessage};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, Message, RpcReplyPort};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{ArtifactShare, MeshError};

/// The process group heavy-compute actors join.
pub const HEAVY_COMPUTE_GROUP: &str = "heavy-compute";
/// Refines running at once on one node (each uses a core).
const CONCURRENT_REFINES: usize = 2;

/// What to refine.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefineRequest {
    /// The IQ window (an `iq_window` artifact, a SigMF archive).
    pub artifact: ArtifactPtr,
    /// The node that announced it (fetched from there first).
    pub origin: NodeId,
    /// FFT size of the refined transform (a power of two in 256..=65536).
    pub nfft: u32,
}

/// What a heavy-compute node found.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RefineReply {
    /// Which node did the work.
    pub node: String,
    /// Samples analysed.
    pub samples: u64,
    /// Their rate, Hz.
    pub sample_rate_hz: f64,
    /// FFT size used.
    pub nfft: u32,
    /// Boxes found (baseband Hz, seconds from the window's first sample).
    pub boxes: Vec<TfBox>,
    /// Time spent fetching, ms.
    pub fetch_ms: f64,
    /// Time spent analysing, ms.
    pub analyse_ms: f64,
}

/// Messages of a heavy-compute actor; serializable, so they cross nodes.
#[derive(Debug)]
pub enum ComputeMsg {
    /// Refine one IQ window.
    Refine(RefineRequest, RpcReplyPort<Result<RefineReply, String>>),
}

const REFINE: &str = "refine";

impl Message for ComputeMsg {
    fn serializable() -> bool {
        true
    }

    fn serialize(self) -> Result<SerializedMessage, BoxedDowncastErr> {
        let ComputeMsg::Refine(req, reply) = self;
        let args = rmp_serde::to_vec_named(&req).map_err(|_| BoxedDowncastErr)?;
        Ok(SerializedMessage::Call {
            variant: REFINE.into(),
            args,
            reply: bytes_port(reply),
            metadata: None,
        })
    }

    fn deserialize(m: SerializedMessage) -> Result<Self, BoxedDowncastErr> {
        match m {
            SerializedMessage::Call {
                variant,
                args,
                reply,
                ..
            } if variant == REFINE => {
                let req = rmp_serde::from_slice(&args).map_err(|e| {
                    tracing::warn!(error = %e, "dropped a malformed refine request");
                    BoxedDowncastErr
                })?;
                Ok(ComputeMsg::Refine(req, typed_port(reply)))
            }
            _ => Err(BoxedDowncastErr),
        }
    }
}

/// A reply port for bytes that decodes them into `reply` (the caller's side).
fn bytes_port<T: DeserializeOwned + Send + 'static>(
    reply: RpcReplyPort<T>,
) -> RpcReplyPort<Vec<u8>> {
    let (tx, rx) = oneshot::<Vec<u8>>();
    let timeout = reply.get_timeout();
    tokio::spawn(async move {
        if let Ok(bytes) = rx.await {
            match rmp_serde::from_slice(&bytes) {
                Ok(v) => {
                    let _ = reply.send(v);
                }
                Err(e) => tracing::warn!(error = %e, "dropped a malformed cluster reply"),
            }
        }
    });
    match timeout {
        Some(t) => (tx, t).into(),
        None => tx.into(),
    }
}

/// A typed reply port whose answer goes back as bytes (the callee's side).
fn typed_port<T: Serialize + Send + 'static>(reply: RpcReplyPort<Vec<u8>>) -> RpcReplyPort<T> {
    let (tx, rx) = oneshot::<T>();
    let timeout = reply.get_timeout();
    tokio::spawn(async move {
        if let Ok(v) = rx.await
            && let Ok(bytes) = rmp_serde::to_vec_named(&v)
        {
            let _ = reply.send(bytes);
        }
    });
    match timeout {
        Some(t) => (tx, t).into(),
        None => tx.into(),
    }
}

/// What a heavy-compute actor starts with.
pub struct HeavyComputeArgs {
    /// Where artifacts come from.
    pub share: ArtifactShare,
    /// Where they are kept.
    pub store: Store,
    /// This node, as replies name it.
    pub node: String,
}

/// The actor's state: what it was given, and a bound on refines running at once.
pub struct HeavyComputeState {
    args: Arc<HeavyComputeArgs>,
    running: Arc<tokio::sync::Semaphore>,
}

/// Refines IQ windows for any node of the mesh (a member of [`HEAVY_COMPUTE_GROUP`]).
pub struct HeavyCompute;

impl Actor for HeavyCompute {
    type Msg = ComputeMsg;
    type State = HeavyComputeState;
    type Arguments = HeavyComputeArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<ComputeMsg>,
        args: HeavyComputeArgs,
    ) -> Result<HeavyComputeState, ActorProcessingErr> {
        ractor::pg::join(HEAVY_COMPUTE_GROUP.into(), vec![myself.get_cell()]);
        Ok(HeavyComputeState {
            args: Arc::new(args),
            running: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_REFINES)),
        })
    }

    async fn handle(
        &self,
        _: ActorRef<ComputeMsg>,
        msg: ComputeMsg,
        state: &mut HeavyComputeState,
    ) -> Result<(), ActorProcessingErr> {
        let ComputeMsg::Refine(req, reply) = msg;
        let (args, running) = (state.args.clone(), state.running.clone());
        // Fetching waits on the network: the mailbox keeps moving meanwhile.
        tokio::spawn(async move {
            let Ok(_permit) = running.acquire_owned().await else {
                return;
            };
            let _ = reply.send(refine(&args, req).await);
        });
        Ok(())
    }
}

async fn refine(args: &HeavyComputeArgs, req: RefineRequest) -> Result<RefineReply, String> {
    let nfft = req.nfft as usize;
    if !nfft.is_power_of_two() || !(256..=65_536).contains(&nfft) {
        return Err(format!("nfft {nfft} is not a power of two in 256..=65536"));
    }
    let started = Instant::now();
    args.share
        .fetch_announced(&req.artifact, req.origin)
        .await
        .map_err(|e| e.to_string())?;
    let fetch_ms = started.elapsed().as_secs_f64() * 1e3;
    let store = args.store.clone();
    let hash = req.artifact.hash;
    let started = Instant::now();
    let (samples, rate, boxes) = tokio::task::spawn_blocking(move || {
        let (_, bytes) = store.artifacts().get(&hash).map_err(|e| e.to_string())?;
        let rec = read_archive_bytes(&bytes).map_err(|e| format!("not a SigMF archive: {e}"))?;
        let mut cfg = AnalyzerConfig::default();
        cfg.stft.nfft = nfft;
        cfg.stft.hop = nfft / 2;
        let boxes = analyze_recording(&cfg, &rec);
        Ok::<_, String>((rec.samples.len() as u64, rec.sample_rate_hz, boxes))
    })
    .await
    .map_err(|e| e.to_string())??;
    Ok(RefineReply {
        node: args.node.clone(),
        samples,
        sample_rate_hz: rate,
        nfft: req.nfft,
        boxes,
        fetch_ms,
        analyse_ms: started.elapsed().as_secs_f64() * 1e3,
    })
}

/// Asks a member of the heavy-compute group (another node's first) to refine `req`.
pub async fn refine_remotely(req: RefineRequest, wait: Duration) -> Result<RefineReply, MeshError> {
    let members = ractor::pg::get_members(&HEAVY_COMPUTE_GROUP.to_string());
    let pick = members
        .iter()
        .find(|c| !c.get_id().is_local())
        .or_else(|| members.first())
        .cloned()
        .ok_or_else(|| MeshError::Unreachable("no heavy-compute node in the mesh".into()))?;
    let actor: ActorRef<ComputeMsg> = pick.into();
    match actor
        .call(|port| ComputeMsg::Refine(req, port), Some(wait))
        .await
        .map_err(|e| MeshError::Unreachable(format!("heavy-compute node: {e}")))?
    {
        CallResult::Success(Ok(r)) => Ok(r),
        CallResult::Success(Err(e)) => Err(MeshError::Protocol(format!("refine failed: {e}"))),
        CallResult::Timeout => Err(MeshError::Unreachable(format!(
            "no refine answer within {wait:?}"
        ))),
        CallResult::SenderError => Err(MeshError::Unreachable(
            "the heavy-compute node went away before answering".into(),
        )),
    }
}

/// Asks the heavy-compute group to refine this mesh's IQ windows by hash.
#[derive(Clone, Debug)]
pub struct Refiner {
    pub(crate) share: ArtifactShare,
    pub(crate) wait: Duration,
}

impl Refiner {
    /// Refines the IQ window `hash` with an `nfft`-point transform on a heavy-compute
    /// node; waits for its fetch and analysis.
    pub async fn refine(&self, hash: ArtifactHash, nfft: u32) -> Result<RefineReply, MeshError> {
        let (artifact, origin) = self.share.describe(hash).await?;
        let req = RefineRequest {
            artifact,
            origin,
            nfft,
        };
        refine_remotely(req, self.wait).await
    }
}
