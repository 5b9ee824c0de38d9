//! fieldmesh's HTTP adapter (axum): the JSON/MessagePack API over the node's store, the device
//! ingest socket and the live dashboard (`live/`). The domain never sees axum.

mod api;
mod artifacts;
pub mod auth;
mod bucket;
pub mod captures;
mod display;
pub mod ingest;
mod keys;
pub mod live;
mod metrics;
mod openapi;
mod rooms;
mod sensors;
mod view;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use fieldmesh_actors::metrics::NodeMetrics;
use fieldmesh_actors::model::NodeId;
use fieldmesh_actors::store::StoreClient;
use serde::Serialize;
use tokio::net::TcpListener;

pub use api::MAX_INGEST_BYTES;
pub use artifacts::{ArtifactFetch, ArtifactRefine, MeshApi, MeshView};
pub use bucket::TokenBucket;
pub use display::{WATERFALL_HEADER, decode_waterfall, encode_waterfall};
pub use metrics::{MeshStats, MeshStatsFn};
pub use openapi::{Access, ROUTES, document as openapi_document};
pub use view::EventView;

/// Who this node is, for the API and pages.
#[derive(Clone, Debug, Serialize)]
pub struct NodeInfo {
    /// Node id (hex).
    pub id: NodeId,
    /// Role name.
    pub role: String,
    /// Name for people.
    pub name: String,
    /// Start time, µs since the Unix epoch.
    pub started_us: u64,
    /// Sensor ids.
    pub sensors: Vec<String>,
}

/// Adds a room to the running node (and remembers it), or says why not.
pub type RoomAdd = Arc<
    dyn Fn(
            fieldmesh_actors::rooms::RoomConfig,
        ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

/// A new receiver of the store's commits (each the events of one commit).
pub type CommitFeed = Arc<
    dyn Fn() -> tokio::sync::broadcast::Receiver<Arc<[fieldmesh_actors::model::Event]>>
        + Send
        + Sync,
>;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The node's store actor.
    pub store: StoreClient,
    /// Who we are.
    pub node: Arc<NodeInfo>,
    /// Counters.
    pub metrics: Arc<NodeMetrics>,
    /// Live display data (waterfall rows) of the node's sensors.
    pub display: display::Displays,
    /// The node's artifacts.
    pub artifacts: fieldmesh_actors::store::ArtifactStore,
    /// What the mesh offers the API, when the node is in one.
    pub mesh: Option<MeshApi>,
    /// Tokens, people and device keys.
    pub auth: auth::Auth,
    /// Every sensor's attention (ingest tells devices how to batch).
    pub attention: Arc<fieldmesh_actors::rooms::AttentionBoard>,
    /// What ingest did.
    pub ingest: Arc<ingest::IngestCounters>,
    /// Ingest rate limit per connection: (messages per second, burst).
    pub ingest_rate: (f64, f64),
    /// Clips uploaded for analysis.
    pub captures: captures::Captures,
    /// The sensors this node runs.
    pub sensors: Arc<Vec<fieldmesh_actors::sensors::SensorConfig>>,
    /// The rooms this node keeps (configured, created, joined).
    pub rooms: Arc<fieldmesh_actors::rooms::RoomRegistry>,
    /// How a room is added while the node runs (and remembered for its next start).
    pub keep_room: RoomAdd,
    /// Where ingest hands IQ01 frames to SDR sensors fed by devices.
    pub inlets: Arc<fieldmesh_actors::sensors::IqInlets>,
    /// Every commit's events from now on (the dashboard follows the store with it).
    pub commits: CommitFeed,
    /// The dashboard's renderer and fan-out (started by [`serve`]).
    pub live: live::LiveHub,
}

/// Every route: a few open ones (health, metrics, logging in), the rest behind a login.
pub fn router(state: ApiState) -> Router {
    use axum::routing::{delete, post};
    let open = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::metrics))
        .route("/login", get(auth::login_page).post(auth::login_form))
        .route("/api/openapi.json", get(openapi::openapi))
        .route("/api/v1/login", post(auth::login))
        .route("/ws/ingest", get(ingest::ingest))
        .route("/assets/{name}", get(live::pages::asset))
        // The page socket checks the token itself, to close a refused socket with a reason.
        .route("/live", get(live::live))
        .route("/live/{*page}", get(live::live));
    let protected = Router::new()
        .route("/", get(live::pages::page))
        .route("/rooms", get(live::pages::page))
        .route("/events", get(live::pages::page))
        .route("/artifacts", get(live::pages::page))
        .route("/sensors/{id}", get(live::pages::page))
        .route("/api/v1/node", get(api::node))
        .route("/api/v1/capabilities", get(sensors::capabilities))
        .route("/api/v1/sensors", get(sensors::list))
        .route("/api/v1/sensors/{id}/activity", get(sensors::activity))
        .route("/api/v1/sensors/{id}/waterfall", get(display::waterfall))
        .route("/api/v1/mesh", get(artifacts::mesh))
        .route("/api/v1/artifacts/{hash}", get(artifacts::download))
        .route("/api/v1/artifacts/{hash}/fetch", post(artifacts::fetch))
        .route("/api/v1/artifacts/{hash}/refine", post(artifacts::refine))
        .route(
            "/api/v1/events",
            get(api::list_events).post(api::ingest_events),
        )
        .route("/api/v1/keys", get(keys::list).post(keys::create))
        .route("/api/v1/keys/{id}", delete(keys::revoke))
        .route("/api/v1/users", post(keys::set_user))
        .route("/api/v1/login-codes", post(auth::new_code))
        .route(
            "/api/v1/captures",
            post(captures::upload).layer(axum::extract::DefaultBodyLimit::max(
                captures::MAX_CAPTURE_BYTES,
            )),
        )
        .route("/api/v1/captures/{id}", get(captures::status))
        .route("/api/v1/rooms", get(rooms::list).post(rooms::create))
        .route("/api/v1/rooms/join", post(rooms::join))
        .route("/api/v1/rooms/{id}/attention", post(rooms::attention))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_login,
        ));
    open.merge(protected)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_INGEST_BYTES))
        .layer(axum::middleware::from_fn(api::refuse_oversized))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub = tokio::spawn(state.live.clone().run(state.clone()));
    use axum::serve::ListenerExt;
    // No Nagle: a patch right after another must not wait for the first one's ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    hub.abort();
    served
}
