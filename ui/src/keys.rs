//! Managing who may use the node, over the API (what `fieldmesh keys|users` use while the
//! node runs): device API keys created, listed and revoked; people added.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::ApiState;
use crate::api::ApiError;

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, fieldmesh_actors::store::StoreError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(ApiError::from)
}

/// `POST /api/v1/keys` body.
#[derive(Debug, Deserialize)]
pub struct NewKey {
    /// Which device the key is for.
    pub device: String,
}

/// `POST /api/v1/keys {device}` → the key (shown this once) and its id.
pub async fn create(State(state): State<ApiState>, Json(body): Json<NewKey>) -> Response {
    let accounts = state.auth.accounts().clone();
    match blocking(move || accounts.create_key(&body.device)).await {
        Ok((key, rec)) => (
            StatusCode::CREATED,
            Json(json!({ "key": key, "id": rec.id, "device": rec.device })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v1/keys`: every key (never the secrets).
pub async fn list(State(state): State<ApiState>) -> Response {
    let accounts = state.auth.accounts().clone();
    match blocking(move || accounts.keys()).await {
        Ok(keys) => Json(
            keys.iter()
                .map(|k| {
                    json!({
                        "id": k.id,
                        "device": k.device,
                        "created_us": k.created_us,
                        "revoked_us": k.revoked_us,
                    })
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `DELETE /api/v1/keys/{id}`: revokes it (404 when there is no such key).
pub async fn revoke(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let accounts = state.auth.accounts().clone();
    let key = id.clone();
    match blocking(move || accounts.revoke_key(&key)).await {
        Ok(true) => Json(json!({ "revoked": id })).into_response(),
        Ok(false) => ApiError(StatusCode::NOT_FOUND, format!("no key {id}")).into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/users {username, password}`: adds a person (or sets a new password).
pub async fn set_user(
    State(state): State<ApiState>,
    Json(body): Json<crate::auth::Login>,
) -> Response {
    let accounts = state.auth.accounts().clone();
    let name = body.username.clone();
    match blocking(move || accounts.set_user(&body.username, &body.password)).await {
        Ok(()) => (StatusCode::CREATED, Json(json!({ "user": name }))).into_response(),
        Err(e) => e.into_response(),
    }
}
