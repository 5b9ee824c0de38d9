//! Display streams over HTTP: a sensor's live waterfall as a stream of binary frames
//! (`GET /api/v1/sensors/{id}/waterfall`), for the dashboard and for tools like curl.
//!
//! Frame (little-endian): magic `WF01`, row index u64, rows u32, width u32, time s f64,
//! centre Hz f64, span Hz f64, dB at code 0 f32, dB at code 255 f32, then `width` u8 codes
//! (lowest frequency first). A viewer that falls behind skips rows; it never slows the sensor.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use fieldmesh_actors::model::SensorId;
use fieldmesh_actors::sensors::WaterfallFrame;
use tokio::sync::broadcast::error::RecvError;

use crate::ApiState;

/// Bytes before the codes in a frame.
pub const WATERFALL_HEADER: usize = 52;

/// A frame on the wire.
pub fn encode_waterfall(f: &WaterfallFrame) -> Vec<u8> {
    let mut out = Vec::with_capacity(WATERFALL_HEADER + f.values.len());
    out.extend_from_slice(b"WF01");
    out.extend_from_slice(&f.row_index.to_le_bytes());
    out.extend_from_slice(&f.rows.to_le_bytes());
    out.extend_from_slice(&(f.values.len() as u32).to_le_bytes());
    out.extend_from_slice(&f.time_s.to_le_bytes());
    out.extend_from_slice(&f.center_freq_hz.to_le_bytes());
    out.extend_from_slice(&f.span_hz.to_le_bytes());
    out.extend_from_slice(&f.db_min.to_le_bytes());
    out.extend_from_slice(&f.db_max.to_le_bytes());
    out.extend_from_slice(&f.values);
    out
}

/// The first frame in `bytes` and its length on the wire; `None` when `bytes` holds no
/// whole frame yet or does not start with one.
pub fn decode_waterfall(bytes: &[u8]) -> Option<(WaterfallFrame, usize)> {
    if bytes.len() < WATERFALL_HEADER || &bytes[..4] != b"WF01" {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap_or_default());
    let f64_at = |i: usize| f64::from_le_bytes(bytes[i..i + 8].try_into().unwrap_or_default());
    let f32_at = |i: usize| f32::from_le_bytes(bytes[i..i + 4].try_into().unwrap_or_default());
    let width = u32_at(16) as usize;
    let len = WATERFALL_HEADER + width;
    if bytes.len() < len {
        return None;
    }
    let frame = WaterfallFrame {
        row_index: u64::from_le_bytes(bytes[4..12].try_into().unwrap_or_default()),
        rows: u32_at(12),
        time_s: f64_at(20),
        center_freq_hz: f64_at(28),
        span_hz: f64_at(36),
        db_min: f32_at(44),
        db_max: f32_at(48),
        values: bytes[WATERFALL_HEADER..len].to_vec(),
    };
    Some((frame, len))
}

/// `GET /api/v1/sensors/{id}/waterfall`: the live stream, until the viewer goes away.
pub async fn waterfall(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let rx = SensorId::new(&id)
        .ok()
        .and_then(|s| state.display.subscribe_waterfall(&s));
    let Some(rx) = rx else {
        return (
            StatusCode::NOT_FOUND,
            format!("no waterfall for sensor {id:?}: not an SDR sensor of this node\n"),
        )
            .into_response();
    };
    let frames = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(f) => {
                    let bytes = Bytes::from(encode_waterfall(&f));
                    return Some((Ok::<_, std::io::Error>(bytes), rx));
                }
                // Behind: skip what was missed, keep watching.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

/// The node's display streams, as the handlers hold them.
pub(crate) type Displays = Arc<fieldmesh_actors::sensors::DisplayStreams>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_partial_input_waits() {
        let f = WaterfallFrame {
            row_index: 7,
            rows: 3,
            time_s: 1.25,
            center_freq_hz: 915e6,
            span_hz: 2.4e6,
            db_min: -90.0,
            db_max: 30.0,
            values: (0..=255).collect(),
        };
        let mut wire = encode_waterfall(&f);
        wire.extend(encode_waterfall(&f));
        let (back, len) = decode_waterfall(&wire).unwrap();
        assert_eq!((back, len), (f, WATERFALL_HEADER + 256));
        assert!(decode_waterfall(&wire[..len - 1]).is_none());
        assert!(
            decode_waterfall(b"NOPE and more bytes than a header holds, forty-eight+").is_none()
        );
    }
}
