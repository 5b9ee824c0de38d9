//! JSON API handlers: node info, event queries, and event ingest (MessagePack batches,
//! acknowledged only once durable). Bad input gets a 4xx with a message; the node goes on.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldmesh_actors::model::decode_batch;
use fieldmesh_actors::store::{EventQuery, MAX_QUERY_LIMIT, Order, StoreError};
use serde::Deserialize;
use serde_json::json;

use super::{ApiState, EventView};

/// Largest ingest body.
pub const MAX_INGEST_BYTES: usize = 4 * 1024 * 1024;

/// An error answered as `{"error": ...}` with a status.
pub(crate) struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match e {
            StoreError::Model(_) => StatusCode::BAD_REQUEST,
            StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError(status, e.to_string())
    }
}

/// Refuses a body whose announced length is over the limit before reading any of it, so a
/// client streaming a huge body gets its 413 at once.
pub(crate) async fn refuse_oversized(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = match req.uri().path() {
        "/api/v1/captures" => crate::captures::MAX_CAPTURE_BYTES,
        _ => MAX_INGEST_BYTES,
    };
    if announced.is_some_and(|n| n > limit as u64) {
        let mut resp = ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "body of {} bytes is over the {limit}-byte limit",
                announced.unwrap_or(0)
            ),
        )
        .into_response();
        resp.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return resp;
    }
    next.run(req).await
}

/// `GET /api/v1/node`
pub(crate) async fn node(State(s): State<ApiState>) -> Json<serde_json::Value> {
    Json(json!({ "node": *s.node, "metrics": s.metrics.snapshot() }))
}

/// Query parameters of `GET /api/v1/events`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventParams {
    kind: Option<String>,
    sensor: Option<String>,
    origin: Option<String>,
    since_us: Option<u64>,
    until_us: Option<u64>,
    limit: Option<usize>,
    order: Option<String>,
}

impl EventParams {
    pub(crate) fn to_query(&self) -> Result<EventQuery, ApiError> {
        let order = match self.order.as_deref() {
            None | Some("oldest") => Order::Oldest,
            Some("newest") => Order::Newest,
            Some(o) => return Err(bad(format!("order must be oldest or newest, not {o:?}"))),
        };
        let limit = self.limit.unwrap_or(1000);
        if limit > MAX_QUERY_LIMIT {
            return Err(bad(format!("limit must be at most {MAX_QUERY_LIMIT}")));
        }
        EventQuery {
            since_us: self.since_us,
            until_us: self.until_us,
            limit,
            order,
            ..EventQuery::default()
        }
        .with_text_filters(
            self.kind.as_deref(),
            self.sensor.as_deref(),
            self.origin.as_deref(),
        )
        .map_err(|e| bad(e.to_string()))
    }
}

/// `GET /api/v1/events?kind=&sensor=&origin=&since_us=&until_us=&limit=&order=`
pub(crate) async fn list_events(
    State(s): State<ApiState>,
    params: Result<Query<EventParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let Query(params) = params.map_err(|e| bad(e.body_text()))?;
    let events = s.store.query(params.to_query()?).await?;
    Ok(Json(events.iter().map(EventView::from).collect()))
}

/// `POST /api/v1/events` with a MessagePack array of events (`application/msgpack`):
/// stores them idempotently and answers once they are durable.
pub(crate) async fn ingest_events(
    State(s): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/msgpack") {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("expected content-type application/msgpack, got {ct:?}"),
        ));
    }
    let events = decode_batch(&body, MAX_INGEST_BYTES).map_err(|e| bad(e.to_string()))?;
    let report = s.store.append(events).await?;
    Ok(Json(
        json!({ "inserted": report.inserted, "duplicates": report.duplicates }),
    ))
}

/// Closes a WebSocket with `code` and `reason` (cut to the 123 bytes a close frame holds),
/// then reads until the peer's close (at most [`CLOSE_DRAIN`]): a socket dropped with
/// frames still unread is reset by the kernel, and a reset can destroy the close frame
/// before the peer reads it — a flooding client would never learn why it was cut off.
pub(crate) async fn close_socket(
    mut socket: axum::extract::ws::WebSocket,
    code: u16,
    reason: &str,
) {
    use axum::extract::ws::{CloseFrame, Message};
    let mut reason = reason.to_string();
    reason.truncate(reason.floor_char_boundary(123));
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    if socket.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let drain = async {
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_DRAIN, drain).await;
}

/// How long a closing socket waits for the peer's close frame.
const CLOSE_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);
