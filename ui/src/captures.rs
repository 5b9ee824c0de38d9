//! Clip uploads: `POST /api/v1/captures` (multipart, field `file`: a `.sigmf` archive)
//! answers `202 Accepted` with a capture id at once; the clip is kept as an artifact and
//! run through the detection path (the same cores the RF stages run) in the background,
//! its boxes stored as `candidate_detected` events pointing at the clip.
//! `GET /api/v1/captures/{id}` shows where it is; `new_capture` updates go to subscribers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldmesh_actors::dsp::analyzer::{AnalyzerConfig, analyze_recording};
use fieldmesh_actors::dsp::sigmf::read_archive_bytes;
use fieldmesh_actors::model::{
    Algo, ArtifactKind, Detection, EventDraft, Evidence, Payload, SensorId, Window,
};
use fieldmesh_actors::store::now_us;
use serde::Serialize;
use serde_json::json;
use tokio::sync::broadcast;

use crate::ApiState;
use crate::api::ApiError;

/// Largest clip accepted, bytes.
pub const MAX_CAPTURE_BYTES: usize = 64 * 1024 * 1024;
/// Captures remembered for `GET` (the oldest finished ones are forgotten first).
const KEPT_CAPTURES: usize = 1000;

/// Where a capture is.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum CaptureStatus {
    /// Taken in, waiting for its turn.
    Queued,
    /// Being analysed.
    Processing,
    /// Done.
    Done {
        /// The clip's artifact hash.
        clip: String,
        /// Seconds of IQ.
        duration_s: f64,
        /// Boxes found (each a `candidate_detected` event).
        detections: usize,
    },
    /// Not usable.
    Failed {
        /// Why.
        reason: String,
    },
}

/// A capture as `GET` shows it and `new_capture` updates carry it.
#[derive(Clone, Debug, Serialize)]
pub struct Capture {
    /// Its id.
    pub id: String,
    /// File name given.
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// When it arrived, µs since the Unix epoch.
    pub received_us: u64,
    /// Where it is.
    #[serde(flatten)]
    pub status: CaptureStatus,
}

/// Every capture this node took in since it started, and their updates.
#[derive(Clone)]
pub struct Captures {
    all: Arc<Mutex<BTreeMap<String, Capture>>>,
    updates: broadcast::Sender<Capture>,
}

impl Default for Captures {
    fn default() -> Self {
        Self {
            all: Arc::default(),
            updates: broadcast::channel(64).0,
        }
    }
}

impl Captures {
    fn set(&self, id: &str, status: CaptureStatus) {
        let mut all = self.all.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = all.get_mut(id) {
            c.status = status;
            let _ = self.updates.send(c.clone());
        }
    }

    /// Live `new_capture` updates (each state a capture passes through).
    pub fn subscribe(&self) -> broadcast::Receiver<Capture> {
        self.updates.subscribe()
    }
}

/// `POST /api/v1/captures`.
pub async fn upload(State(state): State<ApiState>, mut form: Multipart) -> Response {
    let mut clip: Option<(String, Vec<u8>)> = None;
    let mut sensor = "upload".to_string();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                let file = field.file_name().unwrap_or("clip.sigmf").to_string();
                let bytes = match field.bytes().await {
                    Ok(b) => b,
                    Err(e) => {
                        return ApiError(StatusCode::BAD_REQUEST, e.body_text()).into_response();
                    }
                };
                match name.as_str() {
                    "file" => clip = Some((file, bytes.to_vec())),
                    "sensor" => sensor = String::from_utf8_lossy(&bytes).trim().to_string(),
                    _ => {}
                }
            }
            Ok(None) => break,
            Err(e) => return ApiError(StatusCode::BAD_REQUEST, e.body_text()).into_response(),
        }
    }
    let Some((name, bytes)) = clip else {
        return ApiError(
            StatusCode::BAD_REQUEST,
            "no `file` field in the form".into(),
        )
        .into_response();
    };
    let sensor = match SensorId::new(sensor) {
        Ok(s) => s,
        Err(e) => return ApiError(StatusCode::BAD_REQUEST, format!("sensor: {e}")).into_response(),
    };
    let id: String = rand::random::<[u8; 8]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let capture = Capture {
        id: id.clone(),
        name,
        size: bytes.len() as u64,
        received_us: now_us(),
        status: CaptureStatus::Queued,
    };
    {
        let mut all = state.captures.all.lock().unwrap_or_else(|p| p.into_inner());
        if all.len() >= KEPT_CAPTURES {
            let oldest = all
                .values()
                .filter(|c| {
                    matches!(
                        c.status,
                        CaptureStatus::Done { .. } | CaptureStatus::Failed { .. }
                    )
                })
                .min_by_key(|c| c.received_us)
                .map(|c| c.id.clone());
            if let Some(o) = oldest {
                all.remove(&o);
            }
        }
        all.insert(id.clone(), capture.clone());
    }
    let _ = state.captures.updates.send(capture);
    let task_state = state.clone();
    let task_id = id.clone();
    tokio::spawn(async move {
        let status = process(&task_state, &task_id, sensor, bytes).await;
        task_state.captures.set(&task_id, status);
    });
    (
        StatusCode::ACCEPTED,
        Json(json!({ "id": id, "status": "queued", "url": format!("/api/v1/captures/{id}") })),
    )
        .into_response()
}

async fn process(state: &ApiState, id: &str, sensor: SensorId, bytes: Vec<u8>) -> CaptureStatus {
    state.captures.set(id, CaptureStatus::Processing);
    let artifacts = state.artifacts.clone();
    let origin = state.node.id;
    let analysed = tokio::task::spawn_blocking(move || {
        let rec =
            read_archive_bytes(&bytes).map_err(|e| format!("not a usable SigMF archive: {e}"))?;
        if !(rec.sample_rate_hz.is_finite() && rec.sample_rate_hz > 0.0) {
            return Err(format!("sample rate {} is not usable", rec.sample_rate_hz));
        }
        let ptr = artifacts
            .put(
                ArtifactKind::Clip,
                Some("application/x-sigmf"),
                &bytes,
                origin,
                now_us(),
            )
            .map_err(|e| format!("not stored: {e}"))?;
        let boxes = analyze_recording(&AnalyzerConfig::default(), &rec);
        Ok((rec, ptr, boxes))
    })
    .await;
    let (rec, ptr, boxes) = match analysed {
        Ok(Ok(v)) => v,
        Ok(Err(reason)) => return CaptureStatus::Failed { reason },
        Err(e) => {
            return CaptureStatus::Failed {
                reason: e.to_string(),
            };
        }
    };
    let center = rec.center_freq_hz.unwrap_or(0.0);
    let start_us = rec.start_us.unwrap_or_else(now_us);
    let mut drafts = vec![EventDraft {
        ts_us: now_us(),
        sensor: Some(sensor.clone()),
        room: None,
        body: Payload::ArtifactAvailable(ptr.clone()),
    }];
    drafts.extend(boxes.iter().map(|b| {
        let params: BTreeMap<String, f64> = [
            ("snr_db", f64::from(b.snr_db)),
            ("peak_db", f64::from(b.peak_db)),
            ("freq_lo_hz", center + b.freq_lo_hz),
            ("freq_hi_hz", center + b.freq_hi_hz),
            ("bandwidth_hz", b.freq_hi_hz - b.freq_lo_hz),
            ("start_s", b.start_s),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        EventDraft {
            ts_us: start_us + (b.start_s.max(0.0) * 1e6) as u64,
            sensor: Some(sensor.clone()),
            room: None,
            body: Payload::CandidateDetected(Detection {
                algo: Algo {
                    name: "fm-cfar-multiscale".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    params_hash: "default".into(),
                },
                feature_set_id: "capture-box-v1".into(),
                window: Window {
                    duration_s: b.stop_s - b.start_s,
                    center_freq_hz: center,
                    sample_rate_hz: rec.sample_rate_hz,
                },
                evidence: Evidence {
                    iq_hash: Some(ptr.hash),
                },
                classes: Vec::new(),
                estimated_params: params,
                artifact_ptrs: vec![ptr.clone()],
            }),
        }
    }));
    if let Err(e) = state.store.append_local(drafts).await {
        return CaptureStatus::Failed {
            reason: format!("events not stored: {e}"),
        };
    }
    CaptureStatus::Done {
        clip: ptr.hash.to_hex(),
        duration_s: rec.samples.len() as f64 / rec.sample_rate_hz,
        detections: boxes.len(),
    }
}

/// `GET /api/v1/captures/{id}`.
pub async fn status(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let all = state.captures.all.lock().unwrap_or_else(|p| p.into_inner());
    match all.get(&id) {
        Some(c) => Json(c.clone()).into_response(),
        None => ApiError(StatusCode::NOT_FOUND, format!("no capture {id}")).into_response(),
    }
}
