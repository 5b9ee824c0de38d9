//! A node's place in the mesh: its endpoint and router (gossip, docs, blobs, join,
//! catch-up, cluster, live — behind the member gate), the join by ticket, and the tasks
//! that replicate events both ways.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fieldmesh_actors::store::Store;
use iroh::address_lookup::memory::MemoryLookup;
use iroh::endpoint::presets;
use iroh::protocol::Router;
use iroh::{Endpoint, EndpointId, SecretKey};
use iroh_gossip::api::GossipSender;
use iroh_gossip::net::{GOSSIP_ALPN, Gossip};
use iroh_gossip::proto::TopicId;
use ractor::{Actor, ActorRef};
use tokio::task::JoinHandle;

use crate::artifacts::ArtifactShare;
use crate::catchup::CatchUpProtocol;
use crate::cluster::{ClusterPeers, ComputeMsg, HeavyCompute, HeavyComputeArgs, MeshCluster};
use crate::config::{MeshConfig, MeshJoin, MeshLocal, MeshNetwork};
use crate::gate::{Members, MeshGate};
use crate::join::JoinProtocol;
use crate::tasks::{anti_entropy, broadcast_local, join_all, offer_artifacts, receive};
use crate::ticket::{MeshTicket, TicketPeer};
use crate::wire::GOSSIP_MAX_BYTES;
use crate::{CATCHUP_ALPN, CLUSTER_ALPN, JOIN_ALPN, LIVE_ALPN, MeshCounters, MeshError};

/// A running mesh membership.
pub struct MeshNode {
    router: Router,
    members: Members,
    secret: [u8; 32],
    counters: Arc<MeshCounters>,
    artifacts: ArtifactShare,
    directory: crate::Directory,
    sender: GossipSender,
    fetch_wait: Duration,
    cluster: Option<MeshCluster>,
    compute: Option<ActorRef<ComputeMsg>>,
    tasks: Vec<JoinHandle<()>>,
}

/// Time a refine may take beyond fetching its artifact.
const REFINE_WORK: Duration = Duration::from_secs(30);

fn topic_of(secret: &[u8; 32]) -> TopicId {
    TopicId::from_bytes(blake3::derive_key("fieldmesh events topic v1", secret))
}

impl MeshNode {
    /// Starts the endpoint with `key` (the node's ed25519 secret), joins as `how` and
    /// replicates `store`'s events.
    pub async fn start(
        cfg: &MeshConfig,
        key: [u8; 32],
        store: Store,
        how: MeshJoin,
        local: MeshLocal,
    ) -> Result<Self, MeshError> {
        let MeshLocal {
            rooms,
            display,
            sensors,
        } = local;
        let display = display.unwrap_or_default();
        let key = SecretKey::from_bytes(&key);
        let counters = Arc::new(MeshCounters::default());
        let members = Members::default();
        let gate = MeshGate::new(
            members.clone(),
            counters.refused.clone(),
            counters.traffic.clone(),
        );
        let builder = match cfg.network {
            MeshNetwork::Direct => Endpoint::builder(presets::Minimal),
            MeshNetwork::N0 => Endpoint::builder(presets::N0),
        };
        let builder = builder
            .secret_key(key.clone())
            .hooks(gate)
            .clear_ip_transports();
        let builder = match &cfg.link {
            Some(link) => builder.add_custom_transport(link.transport(key.public())),
            None => builder
                .bind_addr(cfg.bind)
                .map_err(|e| MeshError::Endpoint(e.to_string()))?,
        };
        let ep = builder
            .bind()
            .await
            .map_err(|e| MeshError::Endpoint(e.to_string()))?;
        let me = ep.id();
        let my_addrs = ep.bound_sockets();
        members.admit(me, my_addrs.clone());
        let lookup = MemoryLookup::new();
        ep.address_lookup()
            .map_err(|e| MeshError::Endpoint(e.to_string()))?
            .add(lookup.clone());
        if let Some(link) = &cfg.link {
            ep.address_lookup()
                .map_err(|e| MeshError::Endpoint(e.to_string()))?
                .add_boxed(link.lookup());
        }

        let (secret, peers) = match &how {
            MeshJoin::Create => (rand::random::<[u8; 32]>(), Vec::new()),
            MeshJoin::Ticket(t) => (t.secret, t.peers.clone()),
        };
        let gossip = Gossip::builder()
            .max_message_size(GOSSIP_MAX_BYTES)
            .spawn(ep.clone());
        let (artifacts, blobs) = ArtifactShare::open(
            cfg.blobs_dir.as_deref(),
            &ep,
            store.clone(),
            members.clone(),
            cfg.fetch_wait,
        )
        .await?;
        let (docs, doc_sync) =
            crate::docsync::spawn_docs(cfg.blobs_dir.as_deref(), &ep, artifacts.blobs(), &gossip)
                .await?;
        let cluster = match cfg.cluster {
            true => Some(MeshCluster::start(me, &secret).await?),
            false => None,
        };
        let mut router = Router::builder(ep.clone())
            .accept(GOSSIP_ALPN, gossip.clone())
            .accept(iroh_docs::ALPN, docs.clone())
            .accept(iroh_blobs::ALPN, blobs)
            .accept(
                JOIN_ALPN,
                JoinProtocol {
                    secret,
                    me,
                    members: members.clone(),
                    lookup: lookup.clone(),
                    refused: counters.join_refused.clone(),
                },
            )
            .accept(
                CATCHUP_ALPN,
                CatchUpProtocol {
                    store: store.clone(),
                    key: key.clone(),
                },
            );
        if let Some(c) = &cluster {
            router = router.accept(CLUSTER_ALPN, c.protocol());
        }
        router = router.accept(
            LIVE_ALPN,
            crate::live::LiveProtocol {
                store: store.clone(),
                display: display.clone(),
                sensors: sensors.iter().cloned().collect(),
                counters: counters.clone(),
            },
        );
        let router = router.spawn();

        let joined = join_all(&ep, &members, &lookup, &secret, &peers, my_addrs.clone()).await;
        if !peers.is_empty() && !joined {
            tracing::warn!("no peer of the ticket answered; running alone until one does");
        }
        let bootstrap: Vec<EndpointId> = crate::rooms::bootstrap(&members, me)
            .into_iter()
            .map(|a| a.id)
            .collect();
        let (sender, receiver) = gossip
            .subscribe(topic_of(&secret), bootstrap)
            .await
            .map_err(|e| MeshError::Endpoint(e.to_string()))?
            .split();

        let mut tasks = vec![
            tokio::spawn(broadcast_local(
                store.clone(),
                key.clone(),
                sender.clone(),
                counters.clone(),
            )),
            tokio::spawn(offer_artifacts(store.clone(), artifacts.clone())),
            tokio::spawn(match cfg.pull.clone() {
                Some(p) => futures_util::future::Either::Left(crate::pull::pull_by_policy(
                    store.clone(),
                    artifacts.clone(),
                    p,
                )),
                None => futures_util::future::Either::Right(std::future::ready(())),
            }),
            tokio::spawn(receive(
                receiver,
                store.clone(),
                ep.clone(),
                counters.clone(),
            )),
            tokio::spawn(anti_entropy(
                ep.clone(),
                store.clone(),
                members.clone(),
                lookup.clone(),
                (secret, peers),
                sender.clone(),
                cfg.catchup_every,
                counters.clone(),
            )),
        ];
        if let Some(c) = &cluster {
            tasks.push(c.dial_members(ep.clone(), members.clone()));
        }
        let compute = match cfg.heavy_compute && cluster.is_some() {
            true => {
                let args = HeavyComputeArgs {
                    share: artifacts.clone(),
                    store: store.clone(),
                    node: me.to_string(),
                };
                let (actor, _) = Actor::spawn(None, HeavyCompute, args)
                    .await
                    .map_err(|e| MeshError::Endpoint(format!("heavy-compute actor: {e}")))?;
                Some(actor)
            }
            false => None,
        };
        let (directory, doc_tasks) = crate::documents::start(
            crate::documents::DocumentsStart {
                cfg,
                ep: &ep,
                docs: &docs,
                doc_sync,
                blobs: artifacts.blobs(),
                key: &key,
                secret: &secret,
                members: &members,
                lookup: &lookup,
                counters: &counters,
                addrs: &my_addrs,
            },
            rooms,
            display,
            sensors,
        )
        .await?;
        tasks.extend(doc_tasks);
        Ok(Self {
            router,
            members,
            secret,
            counters,
            artifacts,
            directory,
            sender,
            fetch_wait: cfg.fetch_wait,
            cluster,
            compute,
            tasks,
        })
    }

    /// The mesh directory: who is in the mesh, with what role, where.
    pub fn directory(&self) -> &crate::Directory {
        &self.directory
    }

    /// Artifact sharing: fetch any member's artifact by hash.
    pub fn artifacts(&self) -> &ArtifactShare {
        &self.artifacts
    }

    /// Gossips raw bytes on the mesh topic as they are (tools and tests: peers verify
    /// whatever arrives).
    pub async fn broadcast_raw(&self, bytes: Vec<u8>) -> Result<(), MeshError> {
        self.sender
            .broadcast(bytes.into())
            .await
            .map_err(|e| MeshError::Protocol(e.to_string()))
    }

    /// The node's endpoint (tools and tests: speak a protocol by hand).
    pub fn endpoint(&self) -> &Endpoint {
        self.router.endpoint()
    }

    /// This node's endpoint id.
    pub fn id(&self) -> EndpointId {
        self.router.endpoint().id()
    }

    /// Where this node listens.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.router.endpoint().bound_sockets()
    }

    /// A ticket to join this mesh through this node.
    pub fn ticket(&self) -> MeshTicket {
        MeshTicket {
            secret: self.secret,
            peers: vec![TicketPeer {
                id: *self.id().as_bytes(),
                addrs: self.addrs(),
            }],
        }
    }

    /// A ticket naming every known member (what a restart rejoins through).
    pub fn rejoin_ticket(&self) -> MeshTicket {
        let peers = self
            .members
            .list()
            .into_iter()
            .map(|(id, addrs)| TicketPeer {
                id: *id.as_bytes(),
                addrs,
            })
            .collect();
        MeshTicket {
            secret: self.secret,
            peers,
        }
    }

    /// Members known here (this node included).
    pub fn members(&self) -> &Members {
        &self.members
    }

    /// What the mesh did.
    pub fn counters(&self) -> &Arc<MeshCounters> {
        &self.counters
    }

    /// Asks the mesh's heavy-compute group to refine IQ windows (`None` with the
    /// cluster off).
    pub fn refiner(&self) -> Option<crate::Refiner> {
        self.cluster.as_ref().map(|_| crate::Refiner {
            share: self.artifacts.clone(),
            wait: self.fetch_wait + REFINE_WORK,
        })
    }

    /// Cluster sessions with other members (`None` with the cluster off).
    pub fn cluster_peers(&self) -> Option<&ClusterPeers> {
        self.cluster.as_ref().map(|c| c.peers())
    }

    /// Leaves: stops the tasks, the actors, the protocols and the endpoint.
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        if let Some(c) = &self.compute {
            c.stop(None);
        }
        if let Some(c) = &self.cluster {
            c.stop();
        }
        // The router shuts every protocol down, gossip included.
        let _ = self.router.shutdown().await;
    }
}
