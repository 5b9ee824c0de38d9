//! redb tables. The layout version is in each table name; bump it when a layout changes.

use redb::TableDefinition;

/// (origin, seq) → MessagePack event. The primary copy; catch-up reads ranges of it.
pub(crate) const EVENTS: TableDefinition<([u8; 32], u64), &[u8]> = TableDefinition::new("events-1");
/// (ts_us, origin, seq) → (). Time index.
pub(crate) const BY_TIME: TableDefinition<(u64, [u8; 32], u64), ()> =
    TableDefinition::new("events-by-time-1");
/// (sensor, ts_us, origin, seq) → (). Sensor index (node-level events use "").
pub(crate) const BY_SENSOR: TableDefinition<(&str, u64, [u8; 32], u64), ()> =
    TableDefinition::new("events-by-sensor-1");
/// origin → (highest contiguous seq, highest seq seen, highest seq pruned by retention).
pub(crate) const ORIGINS: TableDefinition<[u8; 32], (u64, u64, u64)> =
    TableDefinition::new("origins-1");
/// (origin, seq) → the origin's 64-byte signature of a replicated event (relayed with it).
pub(crate) const SIGNATURES: TableDefinition<([u8; 32], u64), &[u8]> =
    TableDefinition::new("signatures-1");
/// Counters, e.g. `event_count`.
pub(crate) const COUNTERS: TableDefinition<&str, u64> = TableDefinition::new("counters-1");
/// artifact hash → MessagePack `ArtifactRecord`.
pub(crate) const ARTIFACTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("artifacts-1");

/// Key of the stored-event counter in [`COUNTERS`].
pub(crate) const EVENT_COUNT: &str = "event_count";
/// Key of the highest local-only sequence number given out (see `LOCAL_SEQ_BASE`).
pub(crate) const LOCAL_ONLY_SEQ: &str = "local_only_seq";
