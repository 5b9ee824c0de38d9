//! The LiveView-style dashboard: server-rendered pages whose regions stay live over one
//! WebSocket per page (`/live/<page path>`), plus binary data for the sensor panels in view.
//!
//! Flow: a page is rendered by the [`LiveHub`] (once for all its viewers) → the browser gets
//! the HTML → `assets/live.js` opens the page socket → the hub's patches (changed regions
//! only) are forwarded → browser events (visibility, panels in view, clicks, forms) come back
//! and steer the view and the viewer's attention hints.

mod attention;
mod hub;
pub(crate) mod pages;
mod protocol;
mod rates;
mod regions;
mod session;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

pub use attention::ViewerAttention;
pub use hub::{LiveHub, MIN_RENDER_INTERVAL};
pub use pages::PageKey;
pub use protocol::{ClientMsg, MAX_CLIENT_MESSAGE};
pub use rates::EventRates;
pub use regions::RegionSet;

use crate::ApiState;
use crate::api::ApiError;
use crate::api::close_socket;
use crate::auth::login_of;

/// Close code for a socket refused before it starts (policy violation).
pub const CLOSE_REFUSED: u16 = 1008;

static NEXT_VIEW: AtomicU64 = AtomicU64::new(1);

/// `GET /live/<page path>` (WebSocket). A missing or bad token, or an unknown page, is
/// answered with the socket closed at once with code 1008 and the reason — a browser
/// cannot read an HTTP status from a failed WebSocket handshake, but it can read that.
pub async fn live(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    State(state): State<ApiState>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let user = login_of(&state.auth, &headers, uri.query())
        .map(|claims| claims.sub)
        .map_err(|e| format!("unauthorized: {e}"));
    let path = uri.path().strip_prefix("/live").unwrap_or("/").to_string();
    let key = PageKey::parse(&path, &query);
    // Plain HTTP (no upgrade): answer as any other route would.
    let ws = match (ws, &user) {
        (Ok(ws), _) => ws,
        (Err(_), Err(why)) => {
            return ApiError(StatusCode::UNAUTHORIZED, why.clone()).into_response();
        }
        (Err(rejection), Ok(_)) => return rejection.into_response(),
    };
    // Small buffers: a view reads little, and ten thousand views must fit in memory.
    ws.max_message_size(2 * MAX_CLIENT_MESSAGE)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .on_upgrade(move |socket| async move {
            let (user, key) = match (user, key) {
                (Ok(u), Ok(k)) => (u, k),
                (Err(why), _) | (_, Err(why)) => return refuse(socket, &why).await,
            };
            let first = match state.live.subscribe(key.clone()).await {
                Ok(s) => s,
                Err(why) => return refuse(socket, &why).await,
            };
            let n = NEXT_VIEW.fetch_add(1, Ordering::Relaxed);
            let viewer = format!("{user} on {} (view {n})", state.node.name);
            session::Session::run(socket, state, user, viewer, key, first).await;
        })
}

async fn refuse(socket: WebSocket, why: &str) {
    close_socket(socket, CLOSE_REFUSED, why).await;
}
