//! Sensors over the API: what this node has (kind, room, attention now), what each did
//! lately (`activity`), and the node's capabilities (transforms, colormaps, rates, spans).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldmesh_actors::model::{EventKind, SensorId};
use fieldmesh_actors::sensors::SensorKind;
use fieldmesh_actors::store::{EventQuery, now_us};
use serde::Deserialize;
use serde_json::json;

use crate::ApiState;
use crate::api::ApiError;

/// Colormaps the dashboard draws waterfalls with.
pub const COLORMAPS: [&str; 5] = ["viridis", "plasma", "inferno", "magma", "turbo"];
/// Time spans the dashboard offers, s.
pub const TIME_SPANS_S: [u64; 5] = [10, 60, 300, 900, 3600];

/// `GET /api/v1/sensors`.
pub async fn list(State(state): State<ApiState>) -> Response {
    let out: Vec<_> = state
        .sensors
        .iter()
        .map(|s| {
            json!({
                "id": s.id.as_str(),
                "kind": s.kind,
                "room": s.room.as_ref().map(|r| r.as_str()),
                "rate_hz": if s.kind == SensorKind::Sdr { s.rf.sample_rate_hz } else { s.rate_hz },
                "profile": s.profile,
                "attention": state.attention.level(&s.id),
            })
        })
        .collect();
    Json(out).into_response()
}

/// `?window_s=` of `activity`.
#[derive(Debug, Deserialize)]
pub struct Window {
    /// How far back, s (default 60, at most 86400).
    pub window_s: Option<u64>,
}

/// `GET /api/v1/sensors/{id}/activity?window_s=60`: events per kind and per second.
pub async fn activity(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(w): Query<Window>,
) -> Response {
    let Ok(sensor) = SensorId::new(id.clone()) else {
        return ApiError(
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a sensor id"),
        )
        .into_response();
    };
    let window_s = w.window_s.unwrap_or(60);
    if !(1..=86_400).contains(&window_s) {
        return ApiError(
            StatusCode::BAD_REQUEST,
            "window_s must be in 1..=86400".into(),
        )
        .into_response();
    }
    let since_us = now_us().saturating_sub(window_s * 1_000_000);
    let q = EventQuery {
        sensor: Some(sensor.clone()),
        since_us: Some(since_us),
        limit: fieldmesh_actors::store::MAX_QUERY_LIMIT,
        ..Default::default()
    };
    let events = match state.store.query(q).await {
        Ok(e) => e,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut by_kind = std::collections::BTreeMap::<&str, u64>::new();
    for e in &events {
        *by_kind.entry(e.kind().as_str()).or_default() += 1;
    }
    let per_s: serde_json::Map<String, serde_json::Value> = by_kind
        .iter()
        .map(|(k, n)| (k.to_string(), json!(*n as f64 / window_s as f64)))
        .collect();
    Json(json!({
        "sensor": sensor.as_str(),
        "window_s": window_s,
        "events": by_kind,
        "per_s": per_s,
        "last_ts_us": events.iter().map(|e| e.ts_us).max(),
        "detections": by_kind.get(EventKind::CandidateDetected.as_str()).copied().unwrap_or(0),
        "attention": state.attention.level(&sensor),
    }))
    .into_response()
}

/// `GET /api/v1/capabilities`.
pub async fn capabilities(State(state): State<ApiState>) -> Response {
    let radios: Vec<_> = state
        .sensors
        .iter()
        .filter(|s| s.kind == SensorKind::Sdr)
        .map(|s| {
            let a = &s.rf.analyzer;
            json!({
                "sensor": s.id.as_str(),
                "sample_rate_hz": s.rf.sample_rate_hz,
                "center_freq_hz": s.rf.center_freq_hz,
                "mode": s.rf.mode,
                "fft": { "nfft": a.stft.nfft, "hop": a.stft.hop, "window": a.stft.window },
                "waterfall": s.rf.waterfall,
            })
        })
        .collect();
    Json(json!({
        "radios": radios,
        "colormaps": COLORMAPS,
        "time_spans_s": TIME_SPANS_S,
        "attention": state.attention.table(),
        "ingest": { "max_frame_bytes": crate::ingest::MAX_INGEST_FRAME,
                    "max_msgs_per_s": state.ingest_rate.0, "burst": state.ingest_rate.1 },
    }))
    .into_response()
}
