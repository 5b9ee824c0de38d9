//! The virtual nodes: each a whole `fieldmesh` node (config → actors, store, mesh, HTTP)
//! started by `fieldmesh::node::Node`, with its own data folder and its endpoint on the
//! shaped network. ractor_cluster is off in process (its registries are process-wide).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use fieldmesh::config::{Config, load_str};
use fieldmesh::node::{Node, PortChoice};
use fieldmesh_actors::model::NodeId;
use fieldmesh_mesh::{LinkNetwork, MeshTicket};
use iroh::EndpointId;

use crate::link::{LinkCounters, ShapedNetwork};
use crate::scenario::{Kind, NodePlan};

/// One virtual node.
pub struct VirtualNode {
    /// What the plan made it.
    pub plan: NodePlan,
    /// Its data folder (kept while it is away).
    pub dir: PathBuf,
    /// Its id (the key in its data folder).
    pub id: NodeId,
    /// Its endpoint id on the network (the same key).
    pub endpoint: EndpointId,
    /// Its link's counters, across restarts.
    pub counters: Arc<LinkCounters>,
    /// The running node, while it runs.
    pub node: Option<Node>,
    config: Config,
}

/// Settings every node shares.
#[derive(Clone, Copy, Debug)]
pub struct FleetSettings {
    /// Rooms every node keeps.
    pub rooms: usize,
    /// Heartbeat interval (the steady replicated event), ms.
    pub heartbeat_ms: u64,
    /// Anti-entropy round period, ms.
    pub catchup_every_ms: u64,
}

/// All virtual nodes and their network.
pub struct Fleet {
    /// The network.
    pub net: ShapedNetwork,
    /// Nodes by index.
    pub nodes: Vec<VirtualNode>,
}

impl Fleet {
    /// Lays out every node of `plans` under `root` (identities made now, nothing started).
    pub fn new(
        plans: &[NodePlan],
        root: &Path,
        settings: FleetSettings,
        seed: u64,
    ) -> anyhow::Result<Self> {
        let net = ShapedNetwork::new(seed);
        let mut nodes = Vec::with_capacity(plans.len());
        for plan in plans {
            let dir = root.join(format!("node-{:03}", plan.index));
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            let (key, id) = fieldmesh::identity::load_or_create(&dir)?;
            let endpoint = EndpointId::from_bytes(key.verifying_key().as_bytes())
                .context("node key is not an endpoint id")?;
            let text = config_text(plan, &dir, settings);
            let config = load_str(&text, &format!("virtual node {}", plan.index))
                .map_err(|e| anyhow::anyhow!("node {} config: {e}", plan.index))?;
            nodes.push(VirtualNode {
                plan: plan.clone(),
                dir,
                id,
                endpoint,
                counters: Arc::default(),
                node: None,
                config,
            });
        }
        Ok(Self { net, nodes })
    }

    /// Starts node `i` (again), joining through `ticket` the first time.
    pub async fn start(&mut self, i: usize, ticket: Option<MeshTicket>) -> anyhow::Result<()> {
        if self.nodes[i].node.is_some() {
            return Ok(());
        }
        let node = self.start_job(i, ticket).await?;
        self.nodes[i].node = Some(node);
        Ok(())
    }

    /// Puts node `i` on the network and returns the start of its node, which does not hold
    /// the fleet (several start at once); the caller keeps the node it gives.
    pub fn start_job(
        &self,
        i: usize,
        ticket: Option<MeshTicket>,
    ) -> impl Future<Output = anyhow::Result<Node>> + use<> {
        let v = &self.nodes[i];
        self.net
            .attach(v.endpoint, v.plan.link.clone(), v.counters.clone());
        let link: Arc<dyn LinkNetwork> = Arc::new(self.net.clone());
        let config = v.config.clone();
        async move {
            Node::start_with(&config, PortChoice::Exact, ticket, Some(link))
                .await
                .with_context(|| format!("starting virtual node {i}"))
        }
    }

    /// Stops node `i` (its data stays for its return).
    pub async fn stop(&mut self, i: usize) {
        if let Some(node) = self.nodes[i].node.take() {
            node.stop().await;
        }
    }

    /// A ticket naming running node `i`.
    pub fn ticket(&self, i: usize) -> Option<MeshTicket> {
        self.nodes[i]
            .node
            .as_ref()
            .and_then(|n| n.mesh())
            .map(|m| m.ticket())
    }

    /// Indexes of running nodes.
    pub fn running(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].node.is_some())
            .collect()
    }

    /// Stops every node, all at once.
    pub async fn stop_all(&mut self) {
        let stopping = self
            .nodes
            .iter_mut()
            .filter_map(|v| v.node.take())
            .map(|n| n.stop());
        futures_util::future::join_all(stopping).await;
    }
}

/// The room ids every node keeps.
pub fn room_id(r: usize) -> String {
    format!("room-{r}")
}

/// The id of node `plan`'s one sensor (datacenter nodes have none).
pub fn sensor_id(plan: &NodePlan) -> String {
    match plan.kind {
        Kind::Edge => format!("hr-{:03}", plan.index),
        _ => format!("sdr-{:03}", plan.index),
    }
}

/// A virtual node's config: the same TOML an operator would write.
fn config_text(plan: &NodePlan, dir: &Path, s: FleetSettings) -> String {
    let i = plan.index;
    let role = match plan.kind {
        Kind::Edge | Kind::Radio => "edge",
        Kind::Island => "constrained",
        Kind::Datacenter => "datacenter",
    };
    let mut t = format!(
        r#"role = "{role}"
node_name = "sim-{i:03}"
data_dir = "{dir}"

[ui]
bind = "127.0.0.1"
port = 0

[store]
warm_max_events = 2000
commit_max_batch = 256

[heartbeat]
interval_ms = {hb}

[mesh]
enabled = true
cluster = false
catchup_every_ms = {catchup}

[classifier]
enabled = false
"#,
        dir = dir.display().to_string().replace('\\', "/"),
        hb = s.heartbeat_ms,
        catchup = s.catchup_every_ms,
    );
    for r in 0..s.rooms {
        t += &format!(
            "\n[[rooms]]\nid = \"{}\"\nname = \"Room {r}\"\n",
            room_id(r)
        );
    }
    let room = format!("\"{}\"", room_id(i % s.rooms.max(1)));
    let sensor = sensor_id(plan);
    let radio =
        format!("\n[[sensors]]\nid = \"{sensor}\"\nkind = \"sdr\"\nroom = {room}\nseed = {i}\n");
    match plan.kind {
        Kind::Edge => {
            t += &format!(
                r#"
[[sensors]]
id = "{sensor}"
kind = "heart_rate"
room = {room}
rate_hz = 1
batch_max_samples = 10
batch_window_ms = 10000
"#
            );
        }
        Kind::Radio => {
            t += &radio;
            t += r#"
[sensors.rf]
sample_rate_hz = 250000
window_samples = 25000
tf_every_ms = 10000
iq_max_ms = 50
"#;
        }
        Kind::Island => {
            t += "\n[power]\nsource = \"simulated\"\nstart_pct = 70\ndrain_pct_per_hour = 3\n";
            t += &radio;
            t += r#"profile = "kbps"

[sensors.rf]
sample_rate_hz = 250000
window_samples = 25000
tf_every_ms = 60000
mode = "band_energy"

[sensors.rf.band_energy]
bands = [
    { id = 1, lo_hz = -100000, hi_hz = -25000 },
    { id = 2, lo_hz = 25000, hi_hz = 100000 },
]
"#;
        }
        Kind::Datacenter => {
            t += "\n[mesh.pull_iq]\nmin_confidence = 0.0\nmin_snr_db = 0.0\n";
        }
    }
    t
}
