//! Artifacts over HTTP: download one this node holds (`GET /api/v1/artifacts/{hash}`) and
//! have the node fetch one from the mesh (`POST /api/v1/artifacts/{hash}/fetch`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldmesh_actors::model::{ArtifactHash, ArtifactPtr};
use serde_json::json;

use crate::ApiState;
use crate::api::ApiError;

/// What the node says about its mesh (`GET /api/v1/mesh`), as JSON.
pub type MeshView = Arc<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<serde_json::Value, String>> + Send>>
        + Send
        + Sync,
>;

/// `GET /api/v1/mesh`: members (from the directory) and what the mesh did.
pub async fn mesh(State(state): State<ApiState>) -> Response {
    match &state.mesh {
        None => ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "this node is not in a mesh".into(),
        )
        .into_response(),
        Some(view) => match view().await {
            Ok(v) => Json(v).into_response(),
            Err(e) => ApiError(StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
        },
    }
}

/// How the node fetches an artifact from the mesh (given by whoever wires the mesh in).
pub type ArtifactFetch = Arc<
    dyn Fn(ArtifactHash) -> Pin<Box<dyn Future<Output = Result<ArtifactPtr, String>> + Send>>
        + Send
        + Sync,
>;

fn parse(hash: &str) -> Result<ArtifactHash, ApiError> {
    hash.parse()
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("artifact hash: {e}")))
}

/// `GET /api/v1/artifacts/{hash}`: the bytes, verified against their hash.
pub async fn download(State(state): State<ApiState>, Path(hash): Path<String>) -> Response {
    let hash = match parse(&hash) {
        Ok(h) => h,
        Err(e) => return e.into_response(),
    };
    let store = state.artifacts.clone();
    let got = tokio::task::spawn_blocking(move || store.get(&hash)).await;
    match got {
        Ok(Ok((record, bytes))) => (
            [
                (header::CONTENT_TYPE, record.ptr.media_type.clone()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", hash.to_hex()),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(Err(e)) => ApiError::from(e).into_response(),
        Err(e) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// `POST /api/v1/artifacts/{hash}/fetch`: fetch from the mesh (waits for it), then answer
/// its pointer.
pub async fn fetch(State(state): State<ApiState>, Path(hash): Path<String>) -> Response {
    let hash = match parse(&hash) {
        Ok(h) => h,
        Err(e) => return e.into_response(),
    };
    let Some(fetch) = state.fetch.clone() else {
        return ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "this node is not in a mesh".into(),
        )
        .into_response();
    };
    match fetch(hash).await {
        Ok(ptr) => Json(json!({
            "hash": ptr.hash.to_hex(),
            "kind": ptr.kind,
            "size": ptr.size,
            "media_type": ptr.media_type,
        }))
        .into_response(),
        Err(e) => ApiError(StatusCode::BAD_GATEWAY, e).into_response(),
    }
}
