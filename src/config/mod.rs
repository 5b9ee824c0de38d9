//! The node's typed configuration: one TOML file, overridden by `FIELDMESH_<SECTION>__<KEY>`
//! environment variables, validated before anything starts.

mod load;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use fieldmesh_actors::model::NodeId;
use fieldmesh_actors::node::NodeSpec;
use fieldmesh_actors::pipeline::PipelineConfig;
use fieldmesh_actors::rooms::RoomConfig;
use fieldmesh_actors::sensors::SensorConfig;
use fieldmesh_actors::store::StoreConfig;
use fieldmesh_actors::supervision::RestartPolicy;
use serde::{Deserialize, Serialize};

pub use load::{ConfigError, ENV_PREFIX, Problem, extract, load, load_str, named_toml};

/// What a node is for. One binary plays every role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything on, one machine (the demo).
    Dev,
    /// A sensor node on a decent link.
    Edge,
    /// A sensor node on a kbps link or a battery.
    Constrained,
    /// A heavy-compute peer.
    Datacenter,
}

impl Role {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dev => "dev",
            Role::Edge => "edge",
            Role::Constrained => "constrained",
            Role::Datacenter => "datacenter",
        }
    }
}

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Pretty,
    /// One JSON object per line.
    Json,
}

/// `[log]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `pretty` or `json`.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info` or `fieldmesh=debug,info`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            level: "info".into(),
        }
    }
}

/// `[ui]`: the HTTP API (and dashboard).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UiConfig {
    /// Address to listen on.
    pub bind: IpAddr,
    /// Port; 0 means any free port (see `node.json`).
    pub port: u16,
}

impl Default for UiConfig {
    fn default() -> Self {
        Self {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
        }
    }
}

/// `[auth]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthSettings {
    /// How long a login token lasts, s.
    pub token_ttl_s: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self { token_ttl_s: 3600 }
    }
}

/// `[ingest]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestSettings {
    /// Frames per second one connection may send, sustained.
    pub max_msgs_per_s: f64,
    /// Frames it may send at once above that.
    pub burst: f64,
}

impl Default for IngestSettings {
    fn default() -> Self {
        Self {
            max_msgs_per_s: 200.0,
            burst: 400.0,
        }
    }
}

/// `[mesh]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeshSettings {
    /// Take part in a mesh at all (off: the node runs alone).
    pub enabled: bool,
    /// Where the mesh endpoint listens. The default is loopback (one machine, tests, the
    /// demo); give a LAN address (or `0.0.0.0`) and a fixed port to reach other machines.
    pub bind: std::net::SocketAddr,
    /// `direct` (addresses from tickets only: tests, demo, closed networks) or `n0` (iroh's
    /// relays and address lookup for real deployments).
    pub network: fieldmesh_mesh::MeshNetwork,
    /// Anti-entropy round with a random member every this many ms.
    pub catchup_every_ms: u64,
    /// An artifact fetch waits this long (ms) for a holder to answer.
    pub fetch_wait_ms: u64,
    /// Room changes made here are written to the room's document after this quiet time.
    pub room_debounce_ms: u64,
    /// Pull other nodes' candidate IQ that clears this bar (`[mesh.pull_iq]`, datacenter).
    pub pull_iq: Option<fieldmesh_mesh::PullPolicy>,
    /// Run ractor_cluster over the mesh (actors across nodes).
    pub cluster: bool,
    /// Serve the `heavy-compute` process group (refines IQ windows for other nodes).
    /// Unset: datacenter nodes do, others do not.
    pub heavy_compute: Option<bool>,
}

impl Default for MeshSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            network: fieldmesh_mesh::MeshNetwork::Direct,
            catchup_every_ms: 2000,
            fetch_wait_ms: 30_000,
            room_debounce_ms: 200,
            pull_iq: None,
            cluster: true,
            heavy_compute: None,
        }
    }
}

/// `[heartbeat]`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HeartbeatConfig {
    /// Period, ms.
    pub interval_ms: u64,
}

impl Default for HeartbeatConfig {
    fn default() -> Self {
        Self { interval_ms: 5_000 }
    }
}

/// The whole configuration of one node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// What the node is for.
    pub role: Role,
    /// A name for people.
    #[serde(default)]
    pub node_name: String,
    /// Where the node keeps its key, store and artifacts.
    pub data_dir: PathBuf,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// HTTP API.
    #[serde(default)]
    pub ui: UiConfig,
    /// Storage tiers and retention.
    #[serde(default)]
    pub store: StoreConfig,
    /// Edges between pipeline stages.
    #[serde(default)]
    pub pipeline: PipelineConfig,
    /// The restart policy of every supervisor.
    #[serde(default)]
    pub supervision: RestartPolicy,
    /// Heartbeat events.
    #[serde(default)]
    pub heartbeat: HeartbeatConfig,
    /// Where the node's power comes from (its heartbeat reports the battery).
    #[serde(default)]
    pub power: fieldmesh_actors::node::PowerConfig,
    /// The mesh.
    #[serde(default)]
    pub mesh: MeshSettings,
    /// How sensors in rooms batch at each attention level.
    #[serde(default)]
    pub attention: fieldmesh_actors::rooms::AttentionTable,
    /// Logins and tokens.
    #[serde(default)]
    pub auth: AuthSettings,
    /// Devices streaming in over `/ws/ingest`.
    #[serde(default)]
    pub ingest: IngestSettings,
    /// The waveform classifier SDR sensors run.
    #[serde(default)]
    pub classifier: crate::classifier::ClassifierSettings,
    /// Sensors on this node.
    #[serde(default)]
    pub sensors: Vec<SensorConfig>,
    /// Rooms this node keeps.
    #[serde(default)]
    pub rooms: Vec<RoomConfig>,
}

impl Config {
    /// What the actor runtime needs.
    pub fn node_spec(&self, id: NodeId) -> NodeSpec {
        NodeSpec {
            id,
            role: self.role.as_str().into(),
            sensors: self.sensors.clone(),
            rooms: self.rooms.clone(),
            pipeline: self.pipeline.clone(),
            supervision: self.supervision.clone(),
            heartbeat_interval: Duration::from_millis(self.heartbeat.interval_ms),
            power: self.power.clone(),
            attention: self.attention,
            classifier: None,
        }
    }

    /// Every problem, as `(dotted key, message)`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut section = |name: &str, problems: Vec<(&'static str, String)>| {
            out.extend(
                problems
                    .into_iter()
                    .map(|(k, m)| (format!("{name}.{k}"), m)),
            );
        };
        section("store", self.store.problems());
        section("pipeline", self.pipeline.problems());
        section("supervision", self.supervision.problems());
        section("power", self.power.problems());
        section("classifier", self.classifier.problems());
        for (i, s) in self.sensors.iter().enumerate() {
            section(&format!("sensors.{i}"), s.problems());
        }
        out.extend(
            self.attention
                .problems()
                .into_iter()
                .map(|(k, m)| (format!("attention.{k}"), m)),
        );
        if !(100..=3_600_000).contains(&self.heartbeat.interval_ms) {
            out.push((
                "heartbeat.interval_ms".into(),
                "must be in 100..=3600000".into(),
            ));
        }
        if !(100..=3_600_000).contains(&self.mesh.catchup_every_ms) {
            out.push((
                "mesh.catchup_every_ms".into(),
                "must be in 100..=3600000".into(),
            ));
        }
        if !(self.ingest.max_msgs_per_s.is_finite() && self.ingest.max_msgs_per_s > 0.0) {
            out.push(("ingest.max_msgs_per_s".into(), "must be above 0".into()));
        }
        if !(self.ingest.burst.is_finite() && self.ingest.burst >= 1.0) {
            out.push(("ingest.burst".into(), "must be at least 1".into()));
        }
        if !(60..=7 * 86_400).contains(&self.auth.token_ttl_s) {
            out.push(("auth.token_ttl_s".into(), "must be in 60..=604800".into()));
        }
        if self.mesh.heavy_compute == Some(true) && !self.mesh.cluster {
            out.push((
                "mesh.heavy_compute".into(),
                "needs mesh.cluster = true (requests arrive over the cluster)".into(),
            ));
        }
        if self.data_dir.as_os_str().is_empty() {
            out.push(("data_dir".into(), "must not be empty".into()));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            out.push(("log.level".into(), "is not a valid tracing filter".into()));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, s) in self.sensors.iter().enumerate() {
            if !seen.insert(&s.id) {
                out.push((
                    format!("sensors.{i}.id"),
                    format!("duplicate sensor id {}", s.id),
                ));
            }
            if let Some(room) = &s.room
                && !self.rooms.iter().any(|r| &r.id == room)
            {
                out.push((
                    format!("sensors.{i}.room"),
                    format!("no room {room} is configured"),
                ));
            }
        }
        let mut rooms = std::collections::BTreeSet::new();
        for (i, r) in self.rooms.iter().enumerate() {
            if !rooms.insert(&r.id) {
                out.push((
                    format!("rooms.{i}.id"),
                    format!("duplicate room id {}", r.id),
                ));
            }
        }
        out
    }
}
