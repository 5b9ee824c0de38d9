//! The page socket's messages. Browser → server: JSON (visibility, panels in view, clicks
//! and form submits). Server → browser: JSON patches of changed regions, notices, errors;
//! and binary frames for high-rate data of the sensors in view.
//!
//! Binary frame: a tag byte (`W` waterfall row, `M` measurement samples), the sensor id's
//! length (u8) and bytes, then the body. `W` body: a WF01 frame (see `display.rs`). `M` body
//! (little-endian): first sample time µs u64, sample rate Hz f32, channels u8, count u32,
//! then `count` f32 values (channels interleaved).

use std::collections::BTreeMap;

use fieldmesh_actors::model::{Event, Payload};
use fieldmesh_actors::sensors::WaterfallFrame;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::regions::Region;

/// Longest message a browser may send (bytes).
pub const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

/// What the browser says.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// The tab is visible or hidden; the window focused or not.
    Visibility {
        /// Tab visible.
        visible: bool,
        /// Window focused.
        focused: bool,
    },
    /// Sensor panels now in view (the rest are scrolled away).
    InView {
        /// Their sensor ids.
        sensors: Vec<String>,
    },
    /// A click or a form submit: a named event with its values.
    Event {
        /// What, e.g. `events.filter`.
        name: String,
        /// Form fields or the clicked element's value.
        #[serde(default)]
        value: BTreeMap<String, String>,
    },
}

impl ClientMsg {
    /// Parses a browser message, saying what is wrong with a bad one.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_CLIENT_MESSAGE {
            return Err(format!(
                "message of {} bytes is over the {MAX_CLIENT_MESSAGE}-byte limit",
                text.len()
            ));
        }
        serde_json::from_str(text).map_err(|e| format!("malformed message: {e}"))
    }
}

/// A patch: the regions that changed, the view version it brings, and when the change that
/// caused it was seen (µs since the Unix epoch; viewers measure update latency from it).
pub fn patch(version: u64, at_us: u64, regions: &[&Region]) -> String {
    let regions: serde_json::Map<String, serde_json::Value> = regions
        .iter()
        .map(|(id, html)| (id.clone(), serde_json::Value::from(&**html)))
        .collect();
    json!({ "t": "patch", "v": version, "at": at_us, "regions": regions }).to_string()
}

/// A notice for every viewer (e.g. `new_capture` with the capture).
pub fn notice(kind: &str, body: &impl Serialize) -> String {
    json!({ "t": "notice", "kind": kind, "body": body }).to_string()
}

/// A short message shown to the viewer (`info` or `error`).
pub fn flash(level: &str, text: &str) -> String {
    json!({ "t": "flash", "level": level, "text": text }).to_string()
}

fn tagged(tag: u8, sensor: &str, body_len: usize) -> Vec<u8> {
    let id = &sensor.as_bytes()[..sensor.len().min(255)];
    let mut out = Vec::with_capacity(2 + id.len() + body_len);
    out.push(tag);
    out.push(id.len() as u8);
    out.extend_from_slice(id);
    out
}

/// A waterfall row for the browser.
pub fn waterfall_frame(sensor: &str, frame: &WaterfallFrame) -> Vec<u8> {
    let body = crate::encode_waterfall(frame);
    let mut out = tagged(b'W', sensor, body.len());
    out.extend_from_slice(&body);
    out
}

/// Measurement samples for the browser; `None` when the event carries none.
pub fn samples_frame(sensor: &str, event: &Event) -> Option<Vec<u8>> {
    let Payload::MeasurementBatch {
        sample_rate_hz,
        t0_us,
        values,
        channels,
        ..
    } = &event.body
    else {
        return None;
    };
    let mut out = tagged(b'M', sensor, 17 + 4 * values.len());
    out.extend_from_slice(&t0_us.to_le_bytes());
    out.extend_from_slice(&sample_rate_hz.to_le_bytes());
    out.push(*channels);
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_messages_parse_and_bad_ones_say_why() {
        assert_eq!(
            ClientMsg::parse(r#"{"t":"visibility","visible":false,"focused":false}"#),
            Ok(ClientMsg::Visibility {
                visible: false,
                focused: false
            })
        );
        assert_eq!(
            ClientMsg::parse(r#"{"t":"event","name":"events.more"}"#),
            Ok(ClientMsg::Event {
                name: "events.more".into(),
                value: BTreeMap::new()
            })
        );
        let e = ClientMsg::parse(r#"{"t":"teleport"}"#).unwrap_err();
        assert!(e.starts_with("malformed message"), "{e}");
        assert!(ClientMsg::parse("{").is_err());
        let big = format!(r#"{{"t":"in_view","sensors":["{}"]}}"#, "x".repeat(20_000));
        assert!(ClientMsg::parse(&big).unwrap_err().contains("limit"));
    }

    #[test]
    fn patches_carry_only_the_regions_given() {
        let a: Region = ("a".into(), "<i>1</i>".into());
        let v: serde_json::Value = serde_json::from_str(&patch(3, 42, &[&a])).unwrap();
        assert_eq!(v["t"], "patch");
        assert_eq!(v["v"], 3);
        assert_eq!(v["at"], 42);
        assert_eq!(v["regions"]["a"], "<i>1</i>");
        assert_eq!(v["regions"].as_object().unwrap().len(), 1);
    }
}
