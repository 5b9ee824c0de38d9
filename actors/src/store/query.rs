//! [`EventQuery`]: what a reader asks the store for, and the filter every tier applies.

use serde::{Deserialize, Serialize};

use crate::model::{Event, EventKind, ModelError, NodeId, SensorId};

/// Which end of the time range to read from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Oldest first.
    #[default]
    Oldest,
    /// Newest first.
    Newest,
}

/// A read of stored events. Unset fields do not filter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventQuery {
    /// Only events at or after this time (µs).
    pub since_us: Option<u64>,
    /// Only events before this time (µs).
    pub until_us: Option<u64>,
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only this sensor.
    pub sensor: Option<SensorId>,
    /// Only from this origin.
    pub origin: Option<NodeId>,
    /// At most this many.
    pub limit: usize,
    /// Which end to read from (results come in that order).
    pub order: Order,
}

/// Most events one query returns.
pub const MAX_QUERY_LIMIT: usize = 100_000;

impl Default for EventQuery {
    fn default() -> Self {
        Self {
            since_us: None,
            until_us: None,
            kind: None,
            sensor: None,
            origin: None,
            limit: 1000,
            order: Order::Oldest,
        }
    }
}

impl EventQuery {
    /// Whether `e` passes the filters (not the limit).
    pub fn matches(&self, e: &Event) -> bool {
        self.since_us.is_none_or(|s| e.ts_us >= s)
            && self.until_us.is_none_or(|u| e.ts_us < u)
            && self.kind.is_none_or(|k| e.kind() == k)
            && self.origin.is_none_or(|o| e.origin == o)
            && self
                .sensor
                .as_ref()
                .is_none_or(|s| e.sensor.as_ref() == Some(s))
    }

    /// Sets the kind, sensor and origin filters from their text forms (CLI flags, URL
    /// parameters); an unknown kind or a malformed id is an error naming it.
    pub fn with_text_filters(
        mut self,
        kind: Option<&str>,
        sensor: Option<&str>,
        origin: Option<&str>,
    ) -> Result<Self, ModelError> {
        self.kind = kind.map(str::parse).transpose()?;
        self.sensor = sensor.map(SensorId::new).transpose()?;
        self.origin = origin.map(str::parse).transpose()?;
        Ok(self)
    }

    /// The limit, capped at [`MAX_QUERY_LIMIT`].
    pub fn capped_limit(&self) -> usize {
        self.limit.min(MAX_QUERY_LIMIT)
    }
}
