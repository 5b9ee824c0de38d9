//! [`EventView`]: an event as people and scripts read it (JSON): hex ids, the kind as a
//! string, the payload as an object. Used by the API and by `fieldmesh events --json`.

use fieldmesh_actors::model::Event;
use serde::{Deserialize, Serialize};

/// JSON view of an event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    /// Event id (hex).
    pub id: String,
    /// Origin node id (hex).
    pub origin: String,
    /// Sensor id, if any.
    pub sensor: Option<String>,
    /// Room id, if any.
    pub room: Option<String>,
    /// Per-origin sequence number.
    pub seq: u64,
    /// µs since the Unix epoch.
    pub ts_us: u64,
    /// Kind name.
    pub kind: String,
    /// Kind-specific content.
    pub payload: serde_json::Value,
    /// Schema version it was written with.
    pub schema: u16,
}

impl From<&Event> for EventView {
    fn from(e: &Event) -> Self {
        let payload = match serde_json::to_value(&e.body) {
            Ok(serde_json::Value::Object(mut m)) => m.remove("payload").unwrap_or_default(),
            _ => serde_json::Value::Null,
        };
        Self {
            id: e.id.to_hex(),
            origin: e.origin.to_hex(),
            sensor: e.sensor.as_ref().map(ToString::to_string),
            room: e.room.as_ref().map(ToString::to_string),
            seq: e.seq,
            ts_us: e.ts_us,
            kind: e.kind().to_string(),
            payload,
            schema: e.schema,
        }
    }
}
