//! Wire encoding of events: MessagePack with named fields (rmp-serde), so fields can be
//! added with defaults and a newer reader reads older events. Never panics on any input.

use super::ModelError;
use super::event::{Event, SCHEMA_VERSION};
use super::ids::EventId;

/// Largest encoded event accepted or produced. Heavy data belongs in artifacts.
pub const MAX_EVENT_BYTES: usize = 64 * 1024;

/// Encodes one event.
pub fn encode_event(event: &Event) -> Result<Vec<u8>, ModelError> {
    let bytes = rmp_serde::to_vec_named(event).map_err(|e| ModelError::Encode(e.to_string()))?;
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(ModelError::Oversized {
            len: bytes.len(),
            max: MAX_EVENT_BYTES,
        });
    }
    Ok(bytes)
}

/// Decodes and checks one event: size, schema version, and that its id matches its
/// origin and sequence number.
pub fn decode_event(bytes: &[u8]) -> Result<Event, ModelError> {
    if bytes.len() > MAX_EVENT_BYTES {
        return Err(ModelError::Oversized {
            len: bytes.len(),
            max: MAX_EVENT_BYTES,
        });
    }
    let event: Event =
        rmp_serde::from_slice(bytes).map_err(|e| ModelError::Decode(e.to_string()))?;
    check_event(&event)?;
    Ok(event)
}

/// Checks what serde cannot: schema version, id derivation and sequence start.
pub fn check_event(event: &Event) -> Result<(), ModelError> {
    if event.schema == 0 || event.schema > SCHEMA_VERSION {
        return Err(ModelError::UnsupportedSchema {
            found: event.schema,
            max: SCHEMA_VERSION,
        });
    }
    if event.seq == 0 {
        return Err(ModelError::Invalid("sequence numbers start at 1".into()));
    }
    if event.id != EventId::derive(&event.origin, event.seq) {
        return Err(ModelError::Invalid(format!(
            "event id {} does not match origin {} seq {}",
            event.id.short(),
            event.origin.short(),
            event.seq
        )));
    }
    Ok(())
}

/// Encodes a batch of events (each bounded by [`MAX_EVENT_BYTES`]).
pub fn encode_batch(events: &[Event]) -> Result<Vec<u8>, ModelError> {
    for e in events {
        encode_event(e)?;
    }
    rmp_serde::to_vec_named(events).map_err(|e| ModelError::Encode(e.to_string()))
}

/// Decodes a batch of at most `max_bytes`, checking every event.
pub fn decode_batch(bytes: &[u8], max_bytes: usize) -> Result<Vec<Event>, ModelError> {
    if bytes.len() > max_bytes {
        return Err(ModelError::Oversized {
            len: bytes.len(),
            max: max_bytes,
        });
    }
    let events: Vec<Event> =
        rmp_serde::from_slice(bytes).map_err(|e| ModelError::Decode(e.to_string()))?;
    for e in &events {
        check_event(e)?;
    }
    Ok(events)
}
