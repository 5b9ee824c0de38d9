//! How a node takes part in the mesh: its settings, which mesh it joins, and the parts
//! of the local node (rooms, display streams, sensors) the mesh serves and feeds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fieldmesh_actors::model::SensorId;
use fieldmesh_actors::sensors::DisplayStreams;

use crate::ticket::MeshTicket;

/// How peers find each other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeshNetwork {
    /// Direct addresses only (tickets, members' lists): no relay, no discovery service.
    /// Tests, the demo, simulations and closed networks.
    #[default]
    Direct,
    /// iroh's defaults for real deployments: n0's relays and DNS/pkarr address lookup, so
    /// nodes behind NATs reach each other.
    N0,
}

/// How a node takes part.
#[derive(Clone, Debug)]
pub struct MeshConfig {
    /// Where the endpoint listens (`127.0.0.1:0` for tests and the demo).
    pub bind: SocketAddr,
    /// Relays and discovery, or direct addresses only.
    pub network: MeshNetwork,
    /// Anti-entropy round with a random member this often.
    pub catchup_every: Duration,
    /// Where the blob index of shared artifacts and the room documents live (in memory
    /// without one).
    pub blobs_dir: Option<std::path::PathBuf>,
    /// How long an artifact fetch waits for a holder to answer.
    pub fetch_wait: Duration,
    /// Pull other nodes' candidate IQ that clears this bar (datacenter nodes).
    pub pull: Option<crate::PullPolicy>,
    /// This node's name and role, for the mesh directory.
    pub name: String,
    /// See `name`.
    pub role: String,
    /// Run a ractor_cluster NodeServer over iroh (sessions with every member).
    pub cluster: bool,
    /// Serve the `heavy-compute` process group (datacenter nodes; needs `cluster`).
    pub heavy_compute: bool,
    /// Links of a custom network instead of UDP sockets (`bind` and `network` unused).
    pub link: Option<Arc<dyn crate::LinkNetwork>>,
}

impl Default for MeshConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:0".parse().expect("a socket address"),
            network: MeshNetwork::Direct,
            catchup_every: Duration::from_secs(2),
            blobs_dir: None,
            fetch_wait: Duration::from_secs(30),
            pull: None,
            name: String::new(),
            role: String::new(),
            cluster: true,
            heavy_compute: false,
            link: None,
        }
    }
}

/// Which mesh to be in.
#[derive(Clone, Debug)]
pub enum MeshJoin {
    /// Start a new mesh (this node is its first member).
    Create,
    /// Join (or rejoin) the mesh of a ticket.
    Ticket(MeshTicket),
}

/// The parts of the local node the mesh serves and feeds.
#[derive(Default)]
pub struct MeshLocal {
    /// Rooms to mirror into their documents (and whose attention hints subscribe to
    /// remote sensors' live data).
    pub rooms: Option<crate::MeshRooms>,
    /// Where live data of sensors (this node's and watched remote ones) goes.
    pub display: Option<Arc<DisplayStreams>>,
    /// This node's sensors (listed in the directory; their live data is served).
    pub sensors: Vec<SensorId>,
}
