//! The dashboard's pages: which page a view shows ([`PageKey`]), its regions rendered from
//! the store and what the hub observed, and the full HTML a browser gets first.

mod artifacts;
mod events;
mod mesh;
mod rooms;
mod sensor;
pub(crate) mod templates;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use fieldmesh_actors::model::{Event, NodeId, Payload};
use minijinja::context;
use std::collections::BTreeMap;

use super::rates::EventRates;
use super::regions::Region;
use crate::ApiState;

pub(crate) use events::EventsFilter;

/// Which page a view shows, with the state that picks its content.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PageKey {
    /// Every node of the mesh.
    Mesh,
    /// Rooms, members, attention.
    Rooms,
    /// One sensor.
    Sensor(String),
    /// Events, filtered and paged.
    Events(EventsFilter),
    /// Artifacts here and announced elsewhere.
    Artifacts,
}

impl PageKey {
    /// The page at `path` with `query` (as the page socket's URL names it).
    pub fn parse(path: &str, query: &BTreeMap<String, String>) -> Result<Self, String> {
        let path = path.trim_end_matches('/');
        match path {
            "" | "/mesh" => Ok(Self::Mesh),
            "/rooms" => Ok(Self::Rooms),
            "/events" => Ok(Self::Events(EventsFilter::from_query(query)?)),
            "/artifacts" => Ok(Self::Artifacts),
            p => match p.strip_prefix("/sensors/") {
                Some(id) if fieldmesh_actors::model::SensorId::new(id).is_ok() => {
                    Ok(Self::Sensor(id.to_string()))
                }
                _ => Err(format!("no page {path:?}")),
            },
        }
    }

    fn title(&self) -> String {
        match self {
            Self::Mesh => "Mesh".into(),
            Self::Rooms => "Rooms".into(),
            Self::Sensor(id) => format!("Sensor {id}"),
            Self::Events(_) => "Events".into(),
            Self::Artifacts => "Artifacts".into(),
        }
    }

    fn nav(&self) -> &'static str {
        match self {
            Self::Mesh => "mesh",
            Self::Rooms => "rooms",
            Self::Sensor(_) => "sensor",
            Self::Events(_) => "events",
            Self::Artifacts => "artifacts",
        }
    }

    /// Sensors with a live panel on this page (their attention follows the viewer).
    pub fn panels(&self) -> Vec<fieldmesh_actors::model::SensorId> {
        match self {
            Self::Sensor(id) => fieldmesh_actors::model::SensorId::new(id)
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// What the hub saw go by: each node's latest heartbeat (and when it arrived), each
/// sensor's emission profile, and event rates per node, sensor and kind.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// origin → (latest heartbeat, arrival µs).
    pub heartbeats: BTreeMap<NodeId, (Event, u64)>,
    /// (origin, sensor) → profile name.
    pub profiles: BTreeMap<(NodeId, String), String>,
    /// Keys `node:<hex>`, `sensor:<id>`, `kind:<kind>`.
    pub rates: EventRates,
}

impl Observed {
    /// Takes in events committed to the store, seen at `now_us`.
    pub fn observe(&mut self, events: &[Event], now_us: u64) {
        let sec = now_us / 1_000_000;
        for e in events {
            self.rates
                .record(&format!("node:{}", e.origin.to_hex()), sec, 1);
            self.rates
                .record(&format!("kind:{}", e.kind().as_str()), sec, 1);
            if let Some(s) = &e.sensor {
                self.rates.record(&format!("sensor:{s}"), sec, 1);
            }
        }
        self.remember(events, now_us);
    }

    /// Takes in the latest heartbeats and profiles of `events` (without counting them: they
    /// may be old ones read back from the store).
    pub fn remember(&mut self, events: &[Event], now_us: u64) {
        for e in events {
            match &e.body {
                Payload::Heartbeat { .. } => {
                    let newer = self
                        .heartbeats
                        .get(&e.origin)
                        .is_none_or(|(h, _)| h.ts_us <= e.ts_us);
                    if newer {
                        self.heartbeats.insert(e.origin, (e.clone(), now_us));
                    }
                }
                Payload::SensorProfileUpdated { profile, .. } => {
                    let sensor = e.sensor.as_ref().map(|s| s.to_string()).unwrap_or_default();
                    self.profiles.insert((e.origin, sensor), profile.clone());
                }
                _ => {}
            }
        }
    }
}

/// What rendering reads.
pub struct RenderCtx<'a> {
    /// The node's handles.
    pub state: &'a ApiState,
    /// What the hub saw.
    pub observed: &'a Observed,
    /// Now, µs since the Unix epoch.
    pub now_us: u64,
}

/// The regions of `key`'s page now.
pub async fn render(key: &PageKey, cx: &RenderCtx<'_>) -> Result<Vec<Region>, String> {
    match key {
        PageKey::Mesh => mesh::regions(cx).await,
        PageKey::Rooms => rooms::regions(cx).await,
        PageKey::Sensor(id) => sensor::regions(cx, id).await,
        PageKey::Events(f) => events::regions(cx, f).await,
        PageKey::Artifacts => artifacts::regions(cx).await,
    }
}

/// `GET /`, `/rooms`, `/sensors/{id}`, `/events`, `/artifacts`: the page with its regions
/// filled in; its script then opens the page socket and keeps them live.
pub async fn page(
    State(state): State<ApiState>,
    uri: Uri,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let key = match PageKey::parse(uri.path(), &query) {
        Ok(k) => k,
        Err(e) => return (StatusCode::NOT_FOUND, e).into_response(),
    };
    let regions = match state.live.current(&key).await {
        Ok(r) => r,
        Err(e) => return (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    };
    let regions: BTreeMap<String, minijinja::Value> = regions
        .iter()
        .map(|(k, v)| (k.clone(), minijinja::Value::from_safe_string(v.to_string())))
        .collect();
    let path = match uri.path() {
        "/" => "",
        p => p,
    };
    let live_url = match uri.query() {
        Some(q) => format!("/live{path}?{q}"),
        None => format!("/live{path}"),
    };
    let body = templates::render(
        &format!("{}.html", key.nav()),
        context! {
            regions,
            sensor => match &key { PageKey::Sensor(s) => s.as_str(), _ => "" },
            colormaps => crate::sensors::COLORMAPS,
        },
    );
    let html = templates::render(
        "layout.html",
        context! {
            title => key.title(), page => key.nav(), live_url, body,
            node_name => state.node.name.as_str(), node_role => state.node.role.as_str(),
        },
    );
    (
        [(header::CACHE_CONTROL, "no-store")],
        Html(html.to_string()),
    )
        .into_response()
}

/// `GET /assets/{name}`: the page script and style sheet, built into the binary.
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "live.js" => (include_str!("../../../assets/live.js"), "text/javascript"),
        "style.css" => (include_str!("../../../assets/style.css"), "text/css"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// Formats a frequency for people.
pub(crate) fn hz(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.4} GHz", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.3} MHz", v / 1e6)
    } else if a >= 1e3 {
        format!("{:.1} kHz", v / 1e3)
    } else {
        format!("{v:.0} Hz")
    }
}

/// A sparkline's points (`viewBox 0 0 60 20`) for per-second counts.
pub(crate) fn spark(counts: &[u32]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    counts
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{i},{:.1}", 20.0 - 19.0 * f64::from(*c) / max))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A serialisable value for a template.
pub(crate) fn ser<T: serde::Serialize>(v: &T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(v))
}

/// Renders `template` with `ctx` as one region.
pub(crate) fn region(id: &str, template: &str, ctx: minijinja::Value) -> Region {
    (id.to_string(), templates::render(template, ctx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_parse_from_paths_and_bad_ones_say_why() {
        let q = BTreeMap::new();
        assert_eq!(PageKey::parse("/", &q), Ok(PageKey::Mesh));
        assert_eq!(PageKey::parse("/rooms", &q), Ok(PageKey::Rooms));
        assert_eq!(
            PageKey::parse("/sensors/sdr-1", &q),
            Ok(PageKey::Sensor("sdr-1".into()))
        );
        assert!(PageKey::parse("/sensors/", &q).is_err());
        assert!(
            PageKey::parse("/nowhere", &q)
                .unwrap_err()
                .contains("no page")
        );
        let q = BTreeMap::from([("kind".to_string(), "bogus".to_string())]);
        assert!(PageKey::parse("/events", &q).is_err());
        assert_eq!(PageKey::Sensor("x".into()).panels().len(), 1);
        assert!(PageKey::Mesh.panels().is_empty());
    }

    #[test]
    fn frequencies_and_sparklines_format() {
        assert_eq!(hz(915e6), "915.000 MHz");
        assert_eq!(hz(2.4e9), "2.4000 GHz");
        assert_eq!(hz(-12_500.0), "-12.5 kHz");
        assert_eq!(spark(&[0, 2]), "0,20.0 1,1.0");
    }
}
