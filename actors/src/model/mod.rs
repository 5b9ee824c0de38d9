//! The model: ids, events, detections and artifacts, with their wire encoding.
//! Plain data, no I/O: every other module speaks in these types.

#[macro_use]
mod ids;
mod artifact;
mod codec;
mod detection;
mod event;

pub use artifact::{ArtifactHash, ArtifactKind, ArtifactPtr};
pub use codec::{
    MAX_EVENT_BYTES, check_event, decode_batch, decode_event, encode_batch, encode_event,
};
pub use detection::{
    Algo, COMPACT_MAX_SCALARS, ClassScore, CompactDetection, Detection, Evidence, Window,
};
pub use event::{
    AttentionLevel, Battery, Event, EventDraft, EventKind, LOCAL_SEQ_BASE, Payload, SCHEMA_VERSION,
};
pub use ids::{EventId, MAX_NAME_ID_LEN, NodeId, RoomId, SensorId, hex_decode, hex_encode};

/// Errors of the model: bad ids, bad or oversized encodings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// An id did not parse or validate.
    #[error("invalid {what}: {value:?}")]
    InvalidId {
        /// Which kind of id.
        what: &'static str,
        /// The offending text (truncated).
        value: String,
    },
    /// An event kind name is not known.
    #[error("unknown event kind {0:?}")]
    UnknownKind(String),
    /// Input larger than allowed.
    #[error("{len} bytes is over the {max}-byte limit")]
    Oversized {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Written by a newer schema than this reader knows.
    #[error("event schema {found} is not supported (this reader knows up to {max})")]
    UnsupportedSchema {
        /// The version found.
        found: u16,
        /// Newest version known.
        max: u16,
    },
    /// Not valid MessagePack for the type.
    #[error("malformed event: {0}")]
    Decode(String),
    /// Could not encode.
    #[error("cannot encode: {0}")]
    Encode(String),
    /// Well-formed but violates an invariant.
    #[error("invalid: {0}")]
    Invalid(String),
}

#[cfg(test)]
mod tests;
