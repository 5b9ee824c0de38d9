//! Rooms over the API: each room as this node holds it, and attention hints set by viewers
//! (what the dashboard sends when a sensor panel is focused, visible, scrolled away, hidden).

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldmesh_actors::model::{AttentionLevel, RoomId, SensorId};
use fieldmesh_actors::rooms::RoomMsg;
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
        .iter()
        .find(|(r, _)| *r == id)
        .and_then(|(_, slot)| slot.current())
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no room {id} on this node")))
}

/// `GET /api/v1/rooms`: every room this node keeps, with attention per sensor.
pub async fn list(State(state): State<ApiState>) -> Response {
    let mut out = Vec::new();
    for (id, slot) in state.rooms.iter() {
        let Some(actor) = slot.current() else {
            continue;
        };
        if let Ok(room) = ractor::call!(actor, RoomMsg::Snapshot) {
            out.push(json!({ "id": id.as_str(), "room": room }));
        }
    }
    Json(out).into_response()
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
