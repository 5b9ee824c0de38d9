//! Node assembly: identity, store, actor runtime and HTTP API wired from a [`Config`];
//! `node.json` advertises the running node; signals stop it in order.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fieldmesh_actors::metrics::NodeMetrics;
use fieldmesh_actors::model::NodeId;
use fieldmesh_actors::node::NodeRuntime;
use fieldmesh_actors::store::{Store, StoreError, now_us};
use fieldmesh_mesh::{MeshConfig, MeshJoin, MeshNode, MeshTicket};
use fieldmesh_ui::{ApiState, NodeInfo};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::config::Config;
use crate::identity;

/// Name of the file a running node writes into its data dir.
pub const NODE_JSON: &str = "node.json";
/// The mesh ticket a node keeps in its data dir (this mesh's secret and its members).
pub const MESH_TICKET: &str = "mesh.ticket";

/// What `node.json` says about a running node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeJson {
    /// Process id.
    pub pid: u32,
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// Node id (hex).
    pub node_id: String,
    /// Role.
    pub role: String,
    /// Start time, µs since the Unix epoch.
    pub started_us: u64,
}

/// A running node.
pub struct Node {
    runtime: NodeRuntime,
    http_addr: SocketAddr,
    http_stop: Option<oneshot::Sender<()>>,
    http_task: tokio::task::JoinHandle<std::io::Result<()>>,
    data_dir: PathBuf,
    id: NodeId,
    mesh: Option<MeshNode>,
    auth: fieldmesh_ui::auth::Auth,
}

/// How the HTTP port is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortChoice {
    /// Exactly the configured port (0 = any).
    Exact,
    /// The configured port, or any free one if it is taken (the demo).
    FallBackToAny,
}

impl Node {
    /// Starts a node from a validated config (its mesh: the one in its data dir, or a new).
    pub async fn start(config: &Config, ports: PortChoice) -> anyhow::Result<Self> {
        Self::start_joining(config, ports, None).await
    }

    /// Starts a node that joins the mesh of `join` (if given).
    pub async fn start_joining(
        config: &Config,
        ports: PortChoice,
        join: Option<MeshTicket>,
    ) -> anyhow::Result<Self> {
        Self::start_with(config, ports, join, None).await
    }

    /// Starts a node whose mesh endpoint runs over `link`'s network (simulations) instead
    /// of UDP sockets when given; otherwise as [`Node::start_joining`].
    pub async fn start_with(
        config: &Config,
        ports: PortChoice,
        join: Option<MeshTicket>,
        link: Option<Arc<dyn fieldmesh_mesh::LinkNetwork>>,
    ) -> anyhow::Result<Self> {
        let data_dir = config.data_dir.clone();
        let (key, id) = identity::load_or_create(&data_dir)?;
        let metrics = Arc::new(NodeMetrics::default());
        let store = Store::open(&data_dir, id, config.store.clone(), metrics.clone()).map_err(
            |e| match e {
                StoreError::Locked(p) => anyhow::anyhow!(
                    "{p} is in use: is another node running on {}?",
                    data_dir.display()
                ),
                other => anyhow::Error::new(other).context("opening the store"),
            },
        )?;
        // The configured rooms, then those created or joined while it ran before.
        let mut spec = config.node_spec(id);
        if config
            .sensors
            .iter()
            .any(|s| s.kind == fieldmesh_actors::sensors::SensorKind::Sdr)
        {
            spec.classifier = config.classifier.load()?;
        }
        for room in crate::kept_rooms::load(&data_dir)? {
            if !spec.rooms.iter().any(|r| r.id == room.id) {
                spec.rooms.push(room);
            }
        }
        let runtime = NodeRuntime::start(spec, store, metrics.clone()).await?;
        let mesh = if config.mesh.enabled {
            let store = runtime.store().clone();
            let local = fieldmesh_mesh::MeshLocal {
                rooms: Some(fieldmesh_mesh::MeshRooms {
                    kept: runtime.room_registry().list(),
                    updates: runtime.room_updates(),
                    debounce: Duration::from_millis(config.mesh.room_debounce_ms),
                    added: Some(runtime.room_registry().added()),
                }),
                display: Some(runtime.display()),
                sensors: config.sensors.iter().map(|s| s.id.clone()).collect(),
            };
            let how = MeshStart { join, link };
            match start_mesh(config, &data_dir, key.to_bytes(), store, how, local).await {
                Ok(m) => Some(m),
                Err(e) => {
                    runtime.shutdown().await;
                    return Err(e);
                }
            }
        } else {
            None
        };

        let listener = bind(config, ports).await?;
        let http_addr = listener.local_addr()?;
        let auth = fieldmesh_ui::auth::Auth::new(
            fieldmesh_ui::auth::token_secret(&key.to_bytes()),
            runtime.store().accounts().clone(),
            Duration::from_secs(config.auth.token_ttl_s),
        );
        let state = ApiState {
            store: runtime.store_client(),
            node: Arc::new(NodeInfo {
                id,
                role: config.role.as_str().into(),
                name: config.node_name.clone(),
                started_us: now_us(),
                sensors: config.sensors.iter().map(|s| s.id.to_string()).collect(),
            }),
            metrics,
            display: runtime.display(),
            artifacts: runtime.store().artifacts().clone(),
            mesh: mesh
                .as_ref()
                .map(|m| crate::mesh_api::mesh_api(m, runtime.store().clone())),
            auth: auth.clone(),
            attention: runtime.attention(),
            ingest: Default::default(),
            ingest_rate: (config.ingest.max_msgs_per_s, config.ingest.burst),
            rooms: runtime.room_registry(),
            keep_room: {
                let (keeper, dir) = (runtime.room_keeper(), data_dir.clone());
                Arc::new(move |room| {
                    let (keeper, dir) = (keeper.clone(), dir.clone());
                    Box::pin(async move {
                        keeper.add(room.clone()).await?;
                        crate::kept_rooms::remember(&dir, &room)
                            .map_err(|e| format!("kept, but not remembered for restarts: {e}"))
                    })
                })
            },
            sensors: Arc::new(config.sensors.clone()),
            captures: Default::default(),
            inlets: runtime.inlets(),
            commits: {
                let store = runtime.store().clone();
                Arc::new(move || store.subscribe())
            },
            live: Default::default(),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let http_task = tokio::spawn(fieldmesh_ui::serve(listener, state, async move {
            let _ = rx.await;
        }));
        let info = NodeJson {
            pid: std::process::id(),
            http_addr,
            node_id: id.to_hex(),
            role: config.role.as_str().into(),
            started_us: now_us(),
        };
        write_node_json(&data_dir, &info)?;
        tracing::info!(node = %id.short(), role = config.role.as_str(), http = %http_addr, data_dir = %data_dir.display(), "node started");
        Ok(Self {
            runtime,
            http_addr,
            http_stop: Some(tx),
            http_task,
            data_dir,
            id,
            mesh,
            auth,
        })
    }

    /// The node's mesh membership, when the mesh is enabled.
    pub fn mesh(&self) -> Option<&MeshNode> {
        self.mesh.as_ref()
    }

    /// Where the HTTP API listens.
    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    /// A one-time login link to this node's pages (valid for a few minutes, once).
    pub fn login_url(&self) -> String {
        format!(
            "http://{}/login?code={}",
            self.http_addr,
            self.auth.one_time_code()
        )
    }

    /// The node id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The actor runtime.
    pub fn runtime(&self) -> &NodeRuntime {
        &self.runtime
    }

    /// Runs until SIGINT/SIGTERM, `until` completes, or the actor tree fails. Returns
    /// whether the stop was orderly.
    pub async fn run_until(
        mut self,
        until: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let failed = tokio::select! {
            _ = shutdown_signal() => false,
            _ = until => false,
            _ = self.runtime.failed() => true,
        };
        if failed {
            self.stop().await;
            anyhow::bail!("the node's supervisor gave up after repeated failures (see log)");
        }
        self.stop().await;
        Ok(())
    }

    /// Orderly stop: sensors, pipelines, store; then the HTTP server; `node.json` removed.
    pub async fn stop(mut self) {
        tracing::info!("stopping: draining sensors and flushing the store");
        if let Some(mesh) = self.mesh.take() {
            // Remember every member met, to rejoin through any of them next time.
            if let Err(e) = write_ticket(&self.data_dir, &mesh.rejoin_ticket()) {
                tracing::warn!(error = %e, "could not save the mesh ticket");
            }
            mesh.shutdown().await;
        }
        self.runtime.shutdown().await;
        if let Some(tx) = self.http_stop.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.http_task).await;
        let _ = std::fs::remove_file(self.data_dir.join(NODE_JSON));
        tracing::info!("stopped");
    }
}

async fn bind(config: &Config, ports: PortChoice) -> anyhow::Result<TcpListener> {
    let addr = SocketAddr::new(config.ui.bind, config.ui.port);
    match TcpListener::bind(addr).await {
        Ok(l) => Ok(l),
        Err(e)
            if ports == PortChoice::FallBackToAny && e.kind() == std::io::ErrorKind::AddrInUse =>
        {
            tracing::info!(port = config.ui.port, "port in use; taking any free port");
            Ok(TcpListener::bind(SocketAddr::new(config.ui.bind, 0)).await?)
        }
        Err(e) => Err(e).with_context(|| format!("listening on {addr}")),
    }
}

/// Which mesh to join, over what.
struct MeshStart {
    join: Option<MeshTicket>,
    link: Option<Arc<dyn fieldmesh_mesh::LinkNetwork>>,
}

/// Joins (or creates) the mesh and records its ticket in the data dir.
async fn start_mesh(
    config: &Config,
    data_dir: &Path,
    key: [u8; 32],
    store: Store,
    MeshStart { join, link }: MeshStart,
    local: fieldmesh_mesh::MeshLocal,
) -> anyhow::Result<MeshNode> {
    let saved = read_ticket(data_dir)?;
    let (how, created) = match (join, saved) {
        (Some(t), _) | (None, Some(t)) => (MeshJoin::Ticket(t), false),
        (None, None) => (MeshJoin::Create, true),
    };
    let cfg = MeshConfig {
        bind: config.mesh.bind,
        network: config.mesh.network,
        catchup_every: Duration::from_millis(config.mesh.catchup_every_ms),
        blobs_dir: Some(data_dir.join("blobs")),
        fetch_wait: Duration::from_millis(config.mesh.fetch_wait_ms),
        pull: config.mesh.pull_iq.clone(),
        name: config.node_name.clone(),
        role: config.role.as_str().into(),
        cluster: config.mesh.cluster,
        heavy_compute: config
            .mesh
            .heavy_compute
            .unwrap_or(config.role == crate::config::Role::Datacenter),
        link,
    };
    let mesh = MeshNode::start(&cfg, key, store, how, local)
        .await
        .context("starting the mesh")?;
    write_ticket(data_dir, &mesh.rejoin_ticket())?;
    // On a simulated network the ticket names no address anyone outside could use.
    if created && cfg.link.is_none() {
        println!("mesh ticket: {}", mesh.ticket());
    }
    tracing::info!(members = mesh.members().len(), addrs = ?mesh.addrs(), created, "in the mesh");
    Ok(mesh)
}

/// The mesh ticket saved in `dir`, if any.
pub fn read_ticket(dir: &Path) -> anyhow::Result<Option<MeshTicket>> {
    let path = dir.join(MESH_TICKET);
    match std::fs::read_to_string(&path) {
        Ok(text) => text
            .parse()
            .map(Some)
            .with_context(|| format!("{} is not a usable mesh ticket", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_ticket(dir: &Path, ticket: &MeshTicket) -> anyhow::Result<()> {
    let path = dir.join(MESH_TICKET);
    let tmp = dir.join("mesh.ticket.tmp");
    std::fs::write(&tmp, format!("{ticket}\n"))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn write_node_json(dir: &Path, info: &NodeJson) -> anyhow::Result<()> {
    let path = dir.join(NODE_JSON);
    let tmp = dir.join("node.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(info)?)?;
    std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Reads `node.json` of a node running on `dir`, if there is one.
pub fn read_node_json(dir: &Path) -> Option<NodeJson> {
    let bytes = std::fs::read(dir.join(NODE_JSON)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
