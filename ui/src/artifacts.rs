//! Artifacts over HTTP: download one this node holds (`GET /api/v1/artifacts/{hash}`),
//! have the node fetch one from the mesh (`POST …/fetch`) or have the mesh's heavy-compute
//! group refine an IQ window (`POST …/refine?nfft=N`); and the mesh view.

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

/// How the node has the mesh's heavy-compute group refine an IQ window (hash, nfft) and
/// what came back, as JSON.
pub type ArtifactRefine = Arc<
    dyn Fn(
            ArtifactHash,
            u32,
        ) -> Pin<Box<dyn Future<Output = Result<serde_json::Value, String>> + Send>>
        + Send
        + Sync,
>;

/// What the mesh offers the API (given by whoever wires the mesh in).
#[derive(Clone)]
pub struct MeshApi {
    /// The mesh as this node sees it.
    pub view: MeshView,
    /// Fetch an artifact from the mesh.
    pub fetch: ArtifactFetch,
    /// Refine an IQ window on a heavy-compute node.
    pub refine: ArtifactRefine,
    /// Numbers for `/metrics`.
    pub stats: crate::MeshStatsFn,
}

fn in_mesh(state: &ApiState) -> Result<&MeshApi, ApiError> {
    state.mesh.as_ref().ok_or_else(|| {
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "this node is not in a mesh".into(),
        )
    })
}

/// `GET /api/v1/mesh`: members (from the directory), cluster sessions and what the mesh did.
pub async fn mesh(State(state): State<ApiState>) -> Response {
    match in_mesh(&state) {
        Err(e) => e.into_response(),
        Ok(m) => match (m.view)().await {
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
    let fetch = match in_mesh(&state) {
        Ok(m) => m.fetch.clone(),
        Err(e) => return e.into_response(),
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

/// `?nfft=N` of a refine request.
#[derive(Debug, serde::Deserialize)]
pub struct RefineParams {
    /// FFT size of the refined transform.
    #[serde(default = "default_nfft")]
    pub nfft: u32,
}

fn default_nfft() -> u32 {
    8192
}

/// `POST /api/v1/artifacts/{hash}/refine?nfft=N`: a heavy-compute node of the mesh fetches
/// the IQ window and analyses it; its answer comes back (waits for it).
pub async fn refine(
    State(state): State<ApiState>,
    Path(hash): Path<String>,
    axum::extract::Query(params): axum::extract::Query<RefineParams>,
) -> Response {
    let hash = match parse(&hash) {
        Ok(h) => h,
        Err(e) => return e.into_response(),
    };
    if !params.nfft.is_power_of_two() || !(256..=65_536).contains(&params.nfft) {
        return ApiError(
            StatusCode::BAD_REQUEST,
            format!("nfft {} is not a power of two in 256..=65536", params.nfft),
        )
        .into_response();
    }
    let refine = match in_mesh(&state) {
        Ok(m) => m.refine.clone(),
        Err(e) => return e.into_response(),
    };
    match refine(hash, params.nfft).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => ApiError(StatusCode::BAD_GATEWAY, e).into_response(),
    }
}
