//! The Events page: events from the store filtered by kind, sensor and node, newest first,
//! paged back in time; and a chart of events per kind over the last minute.

use std::collections::BTreeMap;

use fieldmesh_actors::model::{EventKind, NodeId, SensorId};
use fieldmesh_actors::store::{EventQuery, Order};
use minijinja::context;

use super::{RenderCtx, region};
use crate::EventView;
use crate::live::regions::Region;

/// Events per page.
pub const PAGE: usize = 50;

/// What the Events page shows: the filter and how far back.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventsFilter {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only this sensor.
    pub sensor: Option<String>,
    /// Only from this node (hex id).
    pub node: Option<String>,
    /// Only events before this time (µs): a later page.
    pub before_us: Option<u64>,
}

impl EventsFilter {
    /// The filter from form fields or a query string (empty fields mean "any"); a bad value
    /// is refused with the reason.
    pub fn from_query(q: &BTreeMap<String, String>) -> Result<Self, String> {
        let field = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
        let kind = match field("kind") {
            Some(k) => Some(
                k.parse::<EventKind>()
                    .map_err(|e| format!("kind: {e}"))?
                    .as_str()
                    .to_string(),
            ),
            None => None,
        };
        let sensor = match field("sensor") {
            Some(s) => Some(
                SensorId::new(s)
                    .map_err(|e| format!("sensor: {e}"))?
                    .to_string(),
            ),
            None => None,
        };
        let node = match field("node") {
            Some(n) => Some(
                n.parse::<NodeId>()
                    .map_err(|e| format!("node: {e}"))?
                    .to_hex(),
            ),
            None => None,
        };
        let before_us = match field("before") {
            Some(b) => Some(b.parse().map_err(|_| format!("before: {b:?} is not µs"))?),
            None => None,
        };
        Ok(Self {
            kind,
            sensor,
            node,
            before_us,
        })
    }

    fn query(&self) -> EventQuery {
        EventQuery {
            kind: self.kind.as_deref().and_then(|k| k.parse().ok()),
            sensor: self.sensor.as_deref().and_then(|s| SensorId::new(s).ok()),
            origin: self.node.as_deref().and_then(|n| n.parse().ok()),
            until_us: self.before_us,
            limit: PAGE,
            order: Order::Newest,
            ..EventQuery::default()
        }
    }
}

pub(super) async fn regions(cx: &RenderCtx<'_>, f: &EventsFilter) -> Result<Vec<Region>, String> {
    let events = cx
        .state
        .store
        .query(f.query())
        .await
        .map_err(|e| e.to_string())?;
    let rows: Vec<_> = events
        .iter()
        .map(|e| {
            let v = EventView::from(e);
            let mut summary = v.payload.to_string();
            if summary.len() > 140 {
                summary.truncate(summary.floor_char_boundary(140));
                summary.push('…');
            }
            context! {
                ts_us => v.ts_us, kind => v.kind, sensor => v.sensor, seq => v.seq,
                node => e.origin.short(), summary,
            }
        })
        .collect();
    let oldest = events.last().map(|e| e.ts_us);
    let now_s = cx.now_us / 1_000_000;
    let counts: Vec<(&str, u32)> = EventKind::ALL
        .iter()
        .map(|k| {
            let h = cx
                .observed
                .rates
                .history(&format!("kind:{}", k.as_str()), now_s);
            (k.as_str(), h.iter().sum())
        })
        .collect();
    let max = counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1) as f64;
    let bars: Vec<_> = counts
        .iter()
        .enumerate()
        .map(|(i, (kind, n))| {
            let h = 80.0 * f64::from(*n) / max;
            // Bars are 60 units apart: the kind's first word, or its start.
            let mut label = kind.split('_').next().unwrap_or(kind).to_string();
            if label.len() > 10 {
                label.truncate(9);
                label.push('…');
            }
            context! { kind => *kind, label, n => *n, h, y => 90.0 - h, x => i * 60 }
        })
        .collect();
    let nodes: Vec<(String, String)> = std::iter::once(cx.state.node.id)
        .chain(cx.observed.heartbeats.keys().copied())
        .map(|n| (n.to_hex(), n.short()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut sensors: Vec<String> = cx.state.node.sensors.clone();
    if let Some(s) = &f.sensor
        && !sensors.contains(s)
    {
        sensors.push(s.clone());
    }
    let kinds: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    Ok(vec![
        region(
            "filter",
            "events_filter.html",
            context! { f => context!{ kind => f.kind.clone(), sensor => f.sensor.clone(), node => f.node.clone(), paged => f.before_us.is_some() }, kinds, sensors, nodes },
        ),
        region(
            "chart",
            "events_chart.html",
            context! { bars, total => counts.iter().map(|(_, n)| *n).sum::<u32>() },
        ),
        region(
            "list",
            "events_list.html",
            context! { rows, oldest, full => events.len() == PAGE },
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_validate_their_fields() {
        let q = |kv: &[(&str, &str)]| {
            EventsFilter::from_query(
                &kv.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        assert_eq!(q(&[]), Ok(EventsFilter::default()));
        assert_eq!(
            q(&[("kind", ""), ("sensor", " ")]),
            Ok(EventsFilter::default())
        );
        let f = q(&[("kind", "heartbeat"), ("before", "12")]).unwrap();
        assert_eq!(f.kind.as_deref(), Some("heartbeat"));
        assert_eq!(f.before_us, Some(12));
        assert!(q(&[("kind", "nope")]).unwrap_err().starts_with("kind"));
        assert!(q(&[("node", "zz")]).unwrap_err().starts_with("node"));
        assert!(q(&[("before", "soon")]).unwrap_err().starts_with("before"));
    }
}
