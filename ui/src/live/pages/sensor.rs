//! The Sensor page: what the sensor is and where it runs, its attention level and why, and
//! its latest detections (drawn as boxes over the waterfall) with features and classes.
//! The waterfall and the measurement chart themselves are canvases fed by binary frames.

use fieldmesh_actors::dsp::features::BOX_FEATURES;
use fieldmesh_actors::model::{Detection, Event, EventKind, Payload, SensorId};
use fieldmesh_actors::sensors::SensorKind;
use fieldmesh_actors::store::{EventQuery, Order};
use minijinja::context;
use serde::Serialize;

use super::rooms::{Viewer, snapshots, viewers_of};
use super::{RenderCtx, hz, region, spark};
use crate::live::regions::Region;

/// Detections listed (and boxed on the waterfall).
const DETECTIONS: usize = 20;

#[derive(Debug, Serialize)]
struct Det {
    start_us: u64,
    /// The box for the waterfall overlay: `{t0 (µs), dur (s), f0, f1 (Hz), label}`.
    box_json: String,
    band: String,
    label: String,
    conf: String,
    snr: String,
    kind: &'static str,
}

#[derive(Debug, Serialize)]
struct Feature {
    name: String,
    value: String,
}

pub(super) async fn regions(cx: &RenderCtx<'_>, id: &str) -> Result<Vec<Region>, String> {
    let sid = SensorId::new(id).map_err(|e| e.to_string())?;
    let local = cx.state.sensors.iter().find(|s| s.id == sid);
    let now_s = cx.now_us / 1_000_000;
    let (kind, detail) = match local {
        Some(s) if s.kind == SensorKind::Sdr => (
            "sdr",
            format!(
                "{} centre · {} span",
                hz(s.rf.center_freq_hz),
                hz(s.rf.sample_rate_hz)
            ),
        ),
        Some(s) => ("measurement", format!("{} Hz samples", s.rate_hz)),
        None => ("remote", "runs on another node".to_string()),
    };
    let profile = cx
        .observed
        .profiles
        .iter()
        .find(|((_, s), _)| s == id)
        .map(|(_, p)| p.clone())
        .or_else(|| local.map(|s| s.profile.clone()))
        .unwrap_or_else(|| "default".into());
    let key = format!("sensor:{id}");
    let head = context! {
        id, kind, detail, profile,
        room => local.and_then(|s| s.room.as_ref()).map(|r| r.to_string()),
        node => if local.is_some() { cx.state.node.name.clone() } else { String::new() },
        rate => format!("{:.1}", cx.observed.rates.rate(&key, now_s)),
        spark => spark(&cx.observed.rates.history(&key, now_s)),
    };

    // Attention: the level batching follows, and the viewers behind it in every room.
    let mut viewers: Vec<(String, Viewer)> = Vec::new();
    let mut level = cx.state.attention.level(&sid);
    for room in snapshots(cx).await {
        let name = room.name.clone();
        let eff = room.effective(&sid, cx.now_us);
        level = Some(level.map_or(eff, |l| l.max(eff)));
        viewers.extend(
            viewers_of(&room, id, cx.now_us)
                .into_iter()
                .map(|v| (name.clone(), v)),
        );
    }
    let level = level.unwrap_or_default();
    let rule = cx.state.attention.table().rule(level);
    let in_room = local.is_none_or(|s| s.room.is_some());
    let attention = context! {
        level => level.as_str(),
        batch => rule.batch_size,
        window_ms => rule.batch_window_ms,
        in_room,
        viewers => viewers.into_iter().map(|(room, v)| context!{ room, who => v.who, level => v.level, expires_us => v.expires_us }).collect::<Vec<_>>(),
    };

    let q = EventQuery {
        sensor: Some(sid.clone()),
        limit: 200,
        order: Order::Newest,
        ..EventQuery::default()
    };
    let events = cx.state.store.query(q).await.map_err(|e| e.to_string())?;
    let mut dets = Vec::new();
    let mut features = Vec::new();
    let mut classes = Vec::new();
    for (e, d) in one_per_box(&events) {
        if dets.len() >= DETECTIONS {
            break;
        }
        let p = &d.estimated_params;
        let (Some(lo), Some(hi)) = (p.get("freq_lo_hz"), p.get("freq_hi_hz")) else {
            continue;
        };
        if features.is_empty() {
            features = p
                .iter()
                .filter(|(k, _)| {
                    BOX_FEATURES.contains(&k.as_str())
                        || ["bandwidth_hz", "peak_db"].contains(&k.as_str())
                })
                .map(|(k, v)| Feature {
                    name: k.clone(),
                    value: if k.ends_with("_hz") {
                        hz(*v)
                    } else {
                        format!("{v:.3}")
                    },
                })
                .collect();
            classes = d
                .classes
                .iter()
                .map(|c| context! { label => c.label.clone(), pct => (c.confidence * 100.0).round() })
                .collect();
        }
        let top = d.classes.first();
        let label = top.map(|c| c.label.clone()).unwrap_or_default();
        let start_us = p.get("start_us").map_or(e.ts_us, |v| *v as u64);
        dets.push(Det {
            start_us,
            box_json: serde_json::json!({
                "t0": start_us, "dur": d.window.duration_s, "f0": lo, "f1": hi, "label": label,
            })
            .to_string(),
            band: format!("{} – {}", hz(*lo), hz(*hi)),
            label,
            conf: top.map_or(String::new(), |c| format!("{:.0}", c.confidence * 100.0)),
            snr: p.get("snr_db").map_or(String::new(), |v| format!("{v:.1}")),
            kind: if e.kind() == EventKind::WaveformClassified {
                "classified"
            } else {
                "candidate"
            },
        });
    }
    Ok(vec![
        region("head", "sensor_head.html", head),
        region("attention", "sensor_attention.html", attention),
        region(
            "detections",
            "sensor_detections.html",
            context! { dets => super::ser(&dets), features => super::ser(&features), classes },
        ),
    ])
}

/// The detections among `events` (newest first), each box once: a box's
/// `waveform_classified` follows its `candidate_detected` and repeats it, so the newer of
/// the two (the classified one, once it exists) stands for both.
fn one_per_box(events: &[Event]) -> impl Iterator<Item = (&Event, &Detection)> {
    let mut shown = std::collections::HashSet::new();
    events.iter().filter_map(move |e| {
        let (Payload::CandidateDetected(d) | Payload::WaveformClassified(d)) = &e.body else {
            return None;
        };
        let p = &d.estimated_params;
        let bits = |k: &str| p.get(k).map(|v| v.to_bits());
        let key = (
            e.origin,
            bits("start_us").unwrap_or(e.ts_us),
            bits("freq_lo_hz"),
            bits("freq_hi_hz"),
        );
        shown.insert(key).then_some((e, d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldmesh_actors::model::{Algo, EventDraft, NodeId, Window};

    fn det(start_us: f64, lo: f64) -> Detection {
        Detection {
            algo: Algo {
                name: "cfar-ms".into(),
                version: "1".into(),
                params_hash: String::new(),
            },
            feature_set_id: "fs".into(),
            window: Window {
                duration_s: 0.05,
                center_freq_hz: 433.92e6,
                sample_rate_hz: 2.4e6,
            },
            evidence: Default::default(),
            classes: Vec::new(),
            estimated_params: [
                ("start_us".to_string(), start_us),
                ("freq_lo_hz".to_string(), lo),
                ("freq_hi_hz".to_string(), lo + 1e3),
            ]
            .into(),
            artifact_ptrs: Vec::new(),
        }
    }

    #[test]
    fn a_classified_box_is_listed_once() {
        let origin = NodeId::from_bytes([7; 32]);
        let seal = |seq, body| {
            Event::seal(
                origin,
                seq,
                EventDraft {
                    ts_us: 1_000 + seq,
                    sensor: None,
                    room: None,
                    body,
                },
            )
        };
        // Newest first, as the page reads them.
        let events = vec![
            seal(4, Payload::WaveformClassified(det(500.0, 1e5))),
            seal(3, Payload::CandidateDetected(det(500.0, 1e5))),
            seal(2, Payload::CandidateDetected(det(400.0, 1e5))),
            seal(1, Payload::CandidateDetected(det(500.0, 2e5))),
        ];
        let seqs: Vec<u64> = one_per_box(&events).map(|(e, _)| e.seq).collect();
        assert_eq!(seqs, [4, 2, 1]);
    }
}
