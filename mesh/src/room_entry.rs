//! How a room change is written in its room's document. An attention hint carries its time
//! to live, not its expiry: the entry's own timestamp dates it, so a refresh writes the same
//! bytes as the one before, and members that hold that content fetch nothing.

use fieldmesh_actors::model::{AttentionLevel, SensorId};
use fieldmesh_actors::rooms::{AttentionHint, RoomChange};
use serde::{Deserialize, Serialize};

use crate::wire::{WireError, decode, encode};

/// A hint's time to live is written in whole steps of this, so that refreshes delayed
/// differently by the write debounce still write the same bytes.
const TTL_STEP_US: u64 = 1_000_000;

/// The value of a room document's entry.
#[derive(Debug, Serialize, Deserialize)]
enum RoomEntryValue {
    /// Someone is in the room.
    Member(String),
    /// A viewer's hint, valid for `ttl_s` from the entry's timestamp.
    Attention {
        sensor: SensorId,
        viewer: String,
        level: AttentionLevel,
        ttl_s: u64,
    },
}

/// The document key of `change`: the latest entry per key is the change that holds.
pub(crate) fn key_of(change: &RoomChange) -> Vec<u8> {
    match change {
        RoomChange::Member(m) => format!("member/{m}").into_bytes(),
        RoomChange::Attention { sensor, viewer, .. } => {
            format!("attention/{sensor}/{viewer}").into_bytes()
        }
    }
}

/// The entry value of `change`, written at `now_us` (µs since the Unix epoch).
pub(crate) fn to_entry(change: &RoomChange, now_us: u64) -> Vec<u8> {
    let value = match change {
        RoomChange::Member(m) => RoomEntryValue::Member(m.clone()),
        RoomChange::Attention {
            sensor,
            viewer,
            hint,
        } => RoomEntryValue::Attention {
            sensor: sensor.clone(),
            viewer: viewer.clone(),
            level: hint.level,
            ttl_s: (hint.expires_us.saturating_sub(now_us) + TTL_STEP_US / 2) / TTL_STEP_US,
        },
    };
    encode(&value)
}

/// The change an entry written at `timestamp_us` holds.
pub(crate) fn from_entry(bytes: &[u8], timestamp_us: u64) -> Result<RoomChange, WireError> {
    Ok(match decode::<RoomEntryValue>(bytes)? {
        RoomEntryValue::Member(m) => RoomChange::Member(m),
        RoomEntryValue::Attention {
            sensor,
            viewer,
            level,
            ttl_s,
        } => RoomChange::Attention {
            sensor,
            viewer,
            hint: AttentionHint {
                level,
                expires_us: timestamp_us.saturating_add(ttl_s.saturating_mul(TTL_STEP_US)),
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(expires_us: u64) -> RoomChange {
        RoomChange::Attention {
            sensor: SensorId::new("sdr-1").unwrap(),
            viewer: "ana".into(),
            hint: AttentionHint {
                level: AttentionLevel::High,
                expires_us,
            },
        }
    }

    #[test]
    fn refreshes_of_a_hint_write_the_same_bytes() {
        let t = 1_700_000_000_000_000;
        // Each refresh asks for 10 s; the debounce delays the writes by different amounts.
        let first = to_entry(&hint(t + 10_000_000), t + 200_000);
        let second = to_entry(&hint(t + 13_000_000), t + 3_380_000);
        let third = to_entry(&hint(t + 16_000_000), t + 6_001_000);
        assert_eq!(first, second);
        assert_eq!(first, third);
        assert_ne!(first, to_entry(&hint(t + 30_000_000), t + 200_000));
    }

    #[test]
    fn an_entry_dates_its_hint_from_its_own_timestamp() {
        let t = 1_700_000_000_000_000;
        let bytes = to_entry(&hint(t + 10_000_000), t + 200_000);
        // Written at t + 200 ms with 9.8 s left: 10 s from the entry's timestamp.
        assert_eq!(
            from_entry(&bytes, t + 200_000).unwrap(),
            hint(t + 10_200_000)
        );
        // A lapsed hint stays lapsed.
        let gone = to_entry(&hint(t), t + 5_000_000);
        assert_eq!(
            from_entry(&gone, t + 5_000_000).unwrap(),
            hint(t + 5_000_000)
        );
        let member = RoomChange::Member("ana".into());
        assert_eq!(from_entry(&to_entry(&member, t), t).unwrap(), member);
    }

    #[test]
    fn a_malformed_entry_is_an_error() {
        assert!(from_entry(b"\xc1 not msgpack", 0).is_err());
        assert!(from_entry(&encode(&"a string"), 0).is_err());
    }
}
