//! `/ws/ingest`: devices that are not nodes (watches, chest straps, remote SDRs) stream in
//! over a WebSocket with a device API key. JSON text frames: `discovery`, `measurement`,
//! `measurements_batch` in; `backpressure_config` out whenever the sensor's attention
//! changes, `error` for what was refused. Binary messages are IQ01 frames for the SDR
//! sensor the connection announced (one configured with `source.type = "ingest"`); they
//! are paced by the sensor's pipeline (a full inlet stops reading), not by the bucket.
//! Bad frames are answered and counted; the connection and the node go on. A
//! per-connection token bucket bounds the rate of JSON frames.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use fieldmesh_actors::model::{AttentionLevel, EventDraft, Payload, SensorId};
use fieldmesh_actors::rooms::{AttentionFollower, BatchRule};
use fieldmesh_actors::sensors::MAX_BATCH_VALUES;
use fieldmesh_actors::store::{DeviceKey, now_us};
use serde::Deserialize;
use serde_json::json;

use crate::ApiState;
use crate::api::close_socket;
use crate::bucket::TokenBucket;

/// Largest frame accepted, bytes.
pub const MAX_INGEST_FRAME: usize = 64 * 1024;
/// Sensors one connection may announce.
const MAX_SENSORS: usize = 64;
/// Close code: the key was missing, wrong or revoked (policy violation).
pub const CLOSE_UNAUTHORIZED: u16 = 1008;
/// Close code: over the message rate (try again later).
pub const CLOSE_RATE_LIMIT: u16 = 1013;
/// Close code: a frame over [`MAX_INGEST_FRAME`].
pub const CLOSE_TOO_BIG: u16 = 1009;
/// Refused frames in a row before the connection is closed.
const MAX_STRIKES: u32 = 100;

/// What ingest did (shown in `/metrics`).
#[derive(Debug, Default)]
pub struct IngestCounters {
    /// Frames taken in.
    pub accepted: AtomicU64,
    /// Frames refused: malformed, unknown sensor, bad values.
    pub refused: AtomicU64,
    /// Connections closed for their rate.
    pub rate_limited: AtomicU64,
    /// Connections refused for their key.
    pub unauthorized: AtomicU64,
    /// Connections open now.
    pub open: AtomicU64,
}

/// One frame from a device.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Inbound {
    Discovery {
        sensor_id: String,
        #[serde(default)]
        attributes: BTreeMap<String, serde_json::Value>,
        #[serde(default)]
        sample_rates: Vec<f64>,
    },
    Measurement {
        sensor_id: String,
        ts_us: u64,
        value: f32,
    },
    MeasurementsBatch {
        sensor_id: String,
        t0_us: u64,
        sample_rate_hz: f32,
        values: Vec<f32>,
        #[serde(default = "one")]
        channels: u8,
    },
}

fn one() -> u8 {
    1
}

/// A sensor a device announced.
struct Announced {
    quantity: String,
    unit: String,
    attention: AttentionFollower,
}

fn key_of(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|s| s.trim().to_string())
        .or_else(|| {
            query?
                .split('&')
                .find_map(|kv| kv.strip_prefix("key="))
                .map(str::to_string)
        })
}

/// `GET /ws/ingest` (upgrade).
pub async fn ingest(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    ws: WebSocketUpgrade,
) -> Response {
    let key = key_of(&headers, query.as_deref());
    let accounts = state.auth.accounts().clone();
    let device = match key {
        Some(k) => tokio::task::spawn_blocking(move || accounts.check_key(&k))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten(),
        None => None,
    };
    ws.max_message_size(MAX_INGEST_FRAME)
        .max_frame_size(MAX_INGEST_FRAME)
        .on_upgrade(move |socket| async move {
            match device {
                Some(d) => serve(socket, state, d).await,
                None => {
                    state.ingest.unauthorized.fetch_add(1, Ordering::Relaxed);
                    close_socket(
                        socket,
                        CLOSE_UNAUTHORIZED,
                        "a valid device API key is required",
                    )
                    .await;
                }
            }
        })
}

fn error(message: impl Into<String>) -> Message {
    Message::Text(
        json!({ "type": "error", "message": message.into() })
            .to_string()
            .into(),
    )
}

fn backpressure(
    sensor: &str,
    level: Option<(AttentionLevel, BatchRule)>,
    default: BatchRule,
) -> Message {
    let (level, rule) = level.unwrap_or((AttentionLevel::None, default));
    Message::Text(
        json!({
            "type": "backpressure_config",
            "sensor_id": sensor,
            "attention_level": level,
            "recommended_batch_window_ms": rule.batch_window_ms,
            "recommended_batch_size": rule.batch_size,
        })
        .to_string()
        .into(),
    )
}

async fn serve(mut socket: WebSocket, state: ApiState, device: DeviceKey) {
    let counters = state.ingest.clone();
    counters.open.fetch_add(1, Ordering::Relaxed);
    tracing::info!(device = %device.device, key = %device.id, "ingest connection");
    let mut bucket = TokenBucket::new(state.ingest_rate.0, state.ingest_rate.1, now_us());
    let mut sensors: BTreeMap<SensorId, Announced> = BTreeMap::new();
    // The announced sensor that takes IQ01 frames, if any (the latest such discovery).
    let mut iq_sensor: Option<SensorId> = None;
    let mut strikes = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        let msg = tokio::select! {
            m = socket.recv() => m,
            _ = tick.tick() => {
                // Attention changes go to the device as they happen.
                for (id, s) in sensors.iter_mut() {
                    if let Some(level) = s.attention.changed()
                        && socket.send(backpressure(id.as_str(), level, state.attention.table().none)).await.is_err()
                    {
                        return finish(&counters);
                    }
                }
                continue;
            }
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(Message::Binary(frame))) => {
                let taken = match &iq_sensor {
                    Some(id) => state.inlets.push(id, frame.to_vec()).await.map_err(|e| e.to_string()),
                    None => Err("binary messages are IQ01 frames: first send a discovery for an SDR sensor of this node whose source type is \"ingest\"".to_string()),
                };
                match taken {
                    Ok(()) => {
                        strikes = 0;
                        counters.accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(why) => {
                        strikes += 1;
                        counters.refused.fetch_add(1, Ordering::Relaxed);
                        if socket.send(error(why)).await.is_err() {
                            break;
                        }
                    }
                }
                continue;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                let too_big = e.to_string().to_lowercase().contains("too long")
                    || e.to_string().to_lowercase().contains("size");
                counters.refused.fetch_add(1, Ordering::Relaxed);
                if too_big {
                    close_socket(
                        socket,
                        CLOSE_TOO_BIG,
                        &format!("frames are at most {MAX_INGEST_FRAME} bytes"),
                    )
                    .await;
                    return finish(&counters);
                }
                break;
            }
        };
        if !bucket.take(now_us()) {
            counters.rate_limited.fetch_add(1, Ordering::Relaxed);
            close_socket(
                socket,
                CLOSE_RATE_LIMIT,
                "rate limit exceeded: slow down and reconnect",
            )
            .await;
            return finish(&counters);
        }
        let reply = match handle(&state, &mut sensors, &mut iq_sensor, &text).await {
            Ok(reply) => {
                strikes = 0;
                counters.accepted.fetch_add(1, Ordering::Relaxed);
                reply
            }
            Err(why) => {
                strikes += 1;
                counters.refused.fetch_add(1, Ordering::Relaxed);
                Some(error(why))
            }
        };
        if let Some(r) = reply
            && socket.send(r).await.is_err()
        {
            break;
        }
        if strikes >= MAX_STRIKES {
            close_socket(
                socket,
                CLOSE_UNAUTHORIZED,
                "too many refused frames in a row",
            )
            .await;
            return finish(&counters);
        }
    }
    finish(&counters)
}

fn finish(counters: &IngestCounters) {
    counters.open.fetch_sub(1, Ordering::Relaxed);
}

/// Takes one text frame in; what to answer (besides nothing).
async fn handle(
    state: &ApiState,
    sensors: &mut BTreeMap<SensorId, Announced>,
    iq_sensor: &mut Option<SensorId>,
    text: &str,
) -> Result<Option<Message>, String> {
    let frame: Inbound = serde_json::from_str(text).map_err(|e| format!("malformed frame: {e}"))?;
    let sensor = |id: &str| SensorId::new(id).map_err(|e| e.to_string());
    let (id, t0_us, rate, values, channels) = match frame {
        Inbound::Discovery {
            sensor_id,
            attributes,
            sample_rates,
        } => {
            let id = sensor(&sensor_id)?;
            if !sensors.contains_key(&id) && sensors.len() >= MAX_SENSORS {
                return Err(format!("at most {MAX_SENSORS} sensors per connection"));
            }
            let text = |k: &str, d: &str| {
                attributes
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or(d)
                    .chars()
                    .take(32)
                    .collect::<String>()
            };
            let mut attention = state.attention.follow(&id);
            let level = attention.changed().flatten();
            sensors.insert(
                id.clone(),
                Announced {
                    quantity: text("quantity", "value"),
                    unit: text("unit", ""),
                    attention,
                },
            );
            tracing::debug!(sensor = %id, rates = ?sample_rates, "device sensor discovered");
            // A sensor that takes IQ here becomes this connection's target for IQ01 frames.
            if state.inlets.takes(&id) {
                *iq_sensor = Some(id.clone());
            }
            return Ok(Some(backpressure(
                id.as_str(),
                level,
                state.attention.table().none,
            )));
        }
        Inbound::Measurement {
            sensor_id,
            ts_us,
            value,
        } => (sensor(&sensor_id)?, ts_us, 0.0, vec![value], 1u8),
        Inbound::MeasurementsBatch {
            sensor_id,
            t0_us,
            sample_rate_hz,
            values,
            channels,
        } => (sensor(&sensor_id)?, t0_us, sample_rate_hz, values, channels),
    };
    let Some(s) = sensors.get(&id) else {
        return Err(format!(
            "unknown sensor {id}: send a discovery for it first"
        ));
    };
    if values.is_empty() || values.len() > MAX_BATCH_VALUES {
        return Err(format!("a batch holds 1 to {MAX_BATCH_VALUES} values"));
    }
    if channels == 0 || values.len() % channels as usize != 0 {
        return Err("values must be a whole number of samples of `channels` values".into());
    }
    if values.iter().any(|v| !v.is_finite()) || !rate.is_finite() || rate < 0.0 {
        return Err("values and rates must be finite".into());
    }
    let draft = EventDraft {
        ts_us: now_us(),
        sensor: Some(id.clone()),
        room: None,
        body: Payload::MeasurementBatch {
            quantity: s.quantity.clone(),
            unit: s.unit.clone(),
            sample_rate_hz: rate,
            t0_us,
            values,
            channels,
        },
    };
    state
        .store
        .append_local(vec![draft])
        .await
        .map_err(|e| format!("not stored: {e}"))?;
    Ok(None)
}
