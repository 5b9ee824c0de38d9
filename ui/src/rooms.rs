//! Rooms over the API: each room as this node holds it, creating one or joining one by its
//! ticket while the node runs, and attention hints set by viewers (what the dashboard sends
//! when a sensor panel is focused, visible, scrolled away, hidden).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldmesh_actors::model::{AttentionLevel, RoomId, SensorId};
use fieldmesh_actors::rooms::{RoomConfig, RoomMsg};
use serde::Deserialize;
use serde_json::json;

use crate::ApiState;
use crate::api::ApiError;

/// Longest hint a viewer may set (it must be refreshed to last longer).
const MAX_TTL: Duration = Duration::from_secs(600);

fn room_of(state: &ApiState, id: &str) -> Result<ractor::ActorRef<RoomMsg>, ApiError> {
    let id = RoomId::new(id).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    state
        .rooms
        .get(&id)
        .and_then(|slot| slot.current())
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no room {id} on this node")))
}

/// `GET /api/v1/rooms`: every room this node keeps, with attention per sensor.
pub async fn list(State(state): State<ApiState>) -> Response {
    let mut out = Vec::new();
    for (id, _, slot) in state.rooms.list() {
        let Some(actor) = slot.current() else {
            continue;
        };
        if let Ok(room) = ractor::call!(actor, RoomMsg::Snapshot) {
            out.push(json!({ "id": id.as_str(), "room": room }));
        }
    }
    Json(out).into_response()
}

/// Creates room `id` here (its document is shared with the mesh under that id).
pub(crate) async fn create_room(
    state: &ApiState,
    id: &str,
    name: &str,
) -> Result<RoomId, ApiError> {
    let id =
        RoomId::new(id.trim()).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.to_string()))?;
    if name.len() > 80 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "name: at most 80 bytes".into(),
        ));
    }
    if state.rooms.get(&id).is_some() {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!("room {id} is kept here already"),
        ));
    }
    let config = RoomConfig {
        id: id.clone(),
        name: name.trim().to_string(),
    };
    (state.keep_room)(config)
        .await
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e))?;
    Ok(id)
}

/// Joins the room whose ticket is `ticket` (as the Rooms page of any member shows it): the
/// mesh directory says which room it is; this node then keeps it too.
pub(crate) async fn join_room(state: &ApiState, ticket: &str) -> Result<RoomId, ApiError> {
    let ticket = ticket.trim();
    if ticket.is_empty() || ticket.len() > 4096 {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            "ticket: 1 to 4096 characters".into(),
        ));
    }
    let mesh = state.mesh.as_ref().ok_or_else(|| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "this node is not in a mesh".into(),
        )
    })?;
    let view = (mesh.view)()
        .await
        .map_err(|e| ApiError(StatusCode::SERVICE_UNAVAILABLE, e))?;
    let rooms = view["rooms"].as_array().cloned().unwrap_or_default();
    let found = rooms
        .iter()
        .find(|r| r["ticket"].as_str() == Some(ticket))
        .ok_or_else(|| {
            ApiError(
                StatusCode::NOT_FOUND,
                "unknown ticket: no room of this mesh has it".into(),
            )
        })?;
    let id = found["id"].as_str().unwrap_or_default();
    let name = found["name"].as_str().unwrap_or_default();
    create_room(state, id, name).await
}

/// `POST /api/v1/rooms` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRoom {
    /// Room id (letters, digits, `-`, `_`, `.`).
    pub id: String,
    /// Name for people.
    #[serde(default)]
    pub name: String,
}

/// `POST /api/v1/rooms`: keep a new room here → 201 `{id}`.
pub async fn create(State(state): State<ApiState>, Json(body): Json<NewRoom>) -> Response {
    match create_room(&state, &body.id, &body.name).await {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id.as_str() }))).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/rooms/join` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRoom {
    /// A room's ticket, as the directory lists it.
    pub ticket: String,
}

/// `POST /api/v1/rooms/join`: keep the room a ticket names → 201 `{id}`.
pub async fn join(State(state): State<ApiState>, Json(body): Json<JoinRoom>) -> Response {
    match join_room(&state, &body.ticket).await {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id.as_str() }))).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/rooms/{id}/attention` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAttention {
    /// Watched sensor.
    pub sensor: String,
    /// Who watches (a browser tab, a person).
    pub viewer: String,
    /// `high`, `medium`, `low` or `none`.
    pub level: AttentionLevel,
    /// How long the hint holds unless refreshed, ms.
    pub ttl_ms: u64,
}

/// `POST /api/v1/rooms/{id}/attention`: a viewer's hint on a sensor.
pub async fn attention(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Json(body): Json<SetAttention>,
) -> Response {
    let room = match room_of(&state, &id) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let sensor = match SensorId::new(body.sensor) {
        Ok(s) => s,
        Err(e) => return ApiError(StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    if body.viewer.is_empty() || body.viewer.len() > 128 {
        return ApiError(
            StatusCode::BAD_REQUEST,
            "viewer: 1 to 128 characters".into(),
        )
        .into_response();
    }
    let ttl = Duration::from_millis(body.ttl_ms);
    if ttl.is_zero() || ttl > MAX_TTL {
        return ApiError(
            StatusCode::BAD_REQUEST,
            format!("ttl_ms must be in 1..={}", MAX_TTL.as_millis()),
        )
        .into_response();
    }
    let msg = RoomMsg::SetAttention {
        sensor,
        viewer: body.viewer,
        level: body.level,
        ttl,
    };
    match room.cast(msg) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}
