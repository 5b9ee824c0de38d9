//! `GET /api/openapi.json` (open): the API described as OpenAPI 3.1, built from [`ROUTES`],
//! the same table a test holds against the router.

use axum::Json;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Open,
    /// A logged-in person (JWT).
    Login,
    /// A device with an API key.
    DeviceKey,
}

/// One documented route: method, path, access, summary, (status, meaning) answers.
pub type Route = (
    &'static str,
    &'static str,
    Access,
    &'static str,
    &'static [(u16, &'static str)],
);

const OK: (u16, &str) = (200, "OK (JSON)");
const BAD: (u16, &str) = (400, "bad input: {\"error\": ...}");
const AUTH: (u16, &str) = (401, "no or invalid token: {\"error\": ...}");
const MISSING: (u16, &str) = (404, "no such thing: {\"error\": ...}");

/// Every route of the API.
pub const ROUTES: &[Route] = &[
    ("get", "/healthz", Access::Open, "Liveness: \"ok\".", &[OK]),
    (
        "get",
        "/metrics",
        Access::Open,
        "Prometheus text exposition.",
        &[OK],
    ),
    (
        "get",
        "/api/openapi.json",
        Access::Open,
        "This document.",
        &[OK],
    ),
    (
        "get",
        "/login",
        Access::Open,
        "Login form; with ?code= a one-time link that sets the session cookie.",
        &[OK, (303, "logged in: cookie set"), AUTH],
    ),
    (
        "post",
        "/login",
        Access::Open,
        "Login form submit (username, password) → session cookie.",
        &[(303, "logged in"), AUTH],
    ),
    (
        "post",
        "/api/v1/login",
        Access::Open,
        "{username, password} → {token, token_type, expires_in}.",
        &[OK, AUTH],
    ),
    (
        "get",
        "/ws/ingest",
        Access::DeviceKey,
        "WebSocket for devices: discovery, measurement, measurements_batch in; backpressure_config and error out. Close codes 1008 (key), 1009 (frame size), 1013 (rate).",
        &[(101, "upgraded")],
    ),
    (
        "get",
        "/",
        Access::Login,
        "Dashboard: the Mesh page (HTML, live).",
        &[OK, AUTH],
    ),
    (
        "get",
        "/rooms",
        Access::Login,
        "Dashboard: the Rooms page.",
        &[OK, AUTH],
    ),
    (
        "get",
        "/events",
        Access::Login,
        "Dashboard: the Events page (?kind= &sensor= &node= &before=).",
        &[OK, AUTH, MISSING],
    ),
    (
        "get",
        "/artifacts",
        Access::Login,
        "Dashboard: the Artifacts page.",
        &[OK, AUTH],
    ),
    (
        "get",
        "/sensors/{id}",
        Access::Login,
        "Dashboard: a Sensor page (waterfall or chart, detections, attention).",
        &[OK, AUTH, MISSING],
    ),
    (
        "get",
        "/live/{page}",
        Access::Login,
        "WebSocket of a dashboard page: JSON patches of changed regions, notices and binary waterfall/sample frames out; visibility, panels in view and events in. A refused socket is closed with 1008 and the reason.",
        &[(101, "upgraded")],
    ),
    (
        "get",
        "/assets/{name}",
        Access::Open,
        "The dashboard's script and style sheet.",
        &[OK, MISSING],
    ),
    (
        "get",
        "/api/v1/node",
        Access::Login,
        "This node: id, role, name, sensors.",
        &[OK, AUTH],
    ),
    (
        "get",
        "/api/v1/capabilities",
        Access::Login,
        "FFT settings, colormaps, waterfall rates, time spans, attention table.",
        &[OK, AUTH],
    ),
    (
        "get",
        "/api/v1/sensors",
        Access::Login,
        "Sensors with kind, room, rate and attention now.",
        &[OK, AUTH],
    ),
    (
        "get",
        "/api/v1/sensors/{id}/activity",
        Access::Login,
        "Events per kind over ?window_s= (default 60).",
        &[OK, BAD, AUTH],
    ),
    (
        "get",
        "/api/v1/sensors/{id}/waterfall",
        Access::Login,
        "Live waterfall rows (WF01 binary frames, streamed).",
        &[OK, AUTH, MISSING],
    ),
    (
        "get",
        "/api/v1/events",
        Access::Login,
        "Events, filtered by ?kind= &sensor= &origin= &since_us= &limit= &order=.",
        &[OK, BAD, AUTH],
    ),
    (
        "post",
        "/api/v1/events",
        Access::Login,
        "Ingest signed-origin events (MessagePack batch); acknowledged once durable.",
        &[OK, BAD, AUTH, (413, "body too large")],
    ),
    (
        "get",
        "/api/v1/mesh",
        Access::Login,
        "Mesh members, rooms with tickets, cluster sessions, counters.",
        &[OK, AUTH, (503, "not in a mesh")],
    ),
    (
        "get",
        "/api/v1/rooms",
        Access::Login,
        "Rooms this node keeps, with attention hints.",
        &[OK, AUTH],
    ),
    (
        "post",
        "/api/v1/rooms",
        Access::Login,
        "{id, name} → keep a new room here (its document shared with the mesh) → 201 {id}; 400 bad id, 409 kept already.",
        &[(201, "created"), BAD, AUTH, (409, "kept already")],
    ),
    (
        "post",
        "/api/v1/rooms/join",
        Access::Login,
        "{ticket} → keep the room the mesh directory lists under that ticket → 201 {id}; 404 unknown ticket, 503 not in a mesh.",
        &[(201, "joined"), BAD, AUTH, MISSING, (503, "not in a mesh")],
    ),
    (
        "post",
        "/api/v1/rooms/{id}/attention",
        Access::Login,
        "A viewer's hint {sensor, viewer, level, ttl_ms}.",
        &[(204, "set"), BAD, AUTH, MISSING],
    ),
    (
        "get",
        "/api/v1/artifacts/{hash}",
        Access::Login,
        "An artifact's bytes (verified by hash).",
        &[OK, BAD, AUTH, MISSING],
    ),
    (
        "post",
        "/api/v1/artifacts/{hash}/fetch",
        Access::Login,
        "Fetch an artifact from the mesh; answers its pointer.",
        &[OK, BAD, AUTH, (502, "no holder answered")],
    ),
    (
        "post",
        "/api/v1/artifacts/{hash}/refine",
        Access::Login,
        "Have a heavy-compute node refine an IQ window (?nfft=).",
        &[OK, BAD, AUTH, (502, "no heavy-compute node or it failed")],
    ),
    (
        "get",
        "/api/v1/keys",
        Access::Login,
        "Device API keys (never the secrets).",
        &[OK, AUTH],
    ),
    (
        "post",
        "/api/v1/keys",
        Access::Login,
        "{device} → a new key (shown once).",
        &[(201, "created"), BAD, AUTH],
    ),
    (
        "delete",
        "/api/v1/keys/{id}",
        Access::Login,
        "Revoke a key.",
        &[OK, AUTH, MISSING],
    ),
    (
        "post",
        "/api/v1/users",
        Access::Login,
        "{username, password}: add a person or set a password.",
        &[(201, "created"), BAD, AUTH],
    ),
    (
        "post",
        "/api/v1/login-codes",
        Access::Login,
        "A one-time login code (for a link).",
        &[OK, AUTH],
    ),
];

/// The document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, access, summary, answers) in ROUTES {
        let mut responses = Map::new();
        for (code, what) in *answers {
            responses.insert(code.to_string(), json!({ "description": what }));
        }
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        let security = match access {
            Access::Open => json!([]),
            Access::Login => json!([{ "bearer": [] }, { "cookie": [] }]),
            Access::DeviceKey => json!([{ "device_key": [] }]),
        };
        let op = json!({
            "summary": summary,
            "parameters": params,
            "security": security,
            "responses": responses,
        });
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        if let Some(o) = entry.as_object_mut() {
            o.insert(method.to_string(), op);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "fieldmesh node API", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
        "components": { "securitySchemes": {
            "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            "cookie": { "type": "apiKey", "in": "cookie", "name": crate::auth::TOKEN_COOKIE },
            "device_key": { "type": "http", "scheme": "bearer", "description": "a device API key (fmk_…)" },
        }},
    })
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> impl IntoResponse {
    Json(document())
}
