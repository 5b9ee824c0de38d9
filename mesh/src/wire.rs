//! What travels between nodes: events signed by their origin, gossip batches below the
//! gossip size limit, and length-limited MessagePack messages on our own streams.

use fieldmesh_actors::model::{Event, decode_event, encode_event};
use iroh::{PublicKey, SecretKey, Signature};
use serde::{Deserialize, Serialize};

/// Largest gossip message iroh-gossip carries (the whole frame: stay below).
pub const GOSSIP_MAX_BYTES: usize = 4096;
/// Payload budget of one gossip batch (room for framing).
pub const BATCH_BUDGET: usize = 3800;

/// An event as its origin encoded and signed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEvent {
    /// `encode_event` bytes.
    #[serde(with = "serde_bytes")]
    pub event: Vec<u8>,
    /// Ed25519 signature by the origin over [`signing_digest`] of `event`.
    #[serde(with = "serde_bytes")]
    pub sig: Vec<u8>,
}

/// One gossip message: signed events (and a nonce, as gossip drops identical payloads).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GossipBatch {
    /// Differs between batches.
    pub nonce: u64,
    /// The events.
    pub events: Vec<SignedEvent>,
}

/// Why a received event was dropped.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// The bytes are not a message of ours.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The signature is not the origin's over these bytes.
    #[error("forged or altered event: {0}")]
    Forged(String),
}

fn signing_digest(event_bytes: &[u8]) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("fieldmesh event signature v1");
    h.update(event_bytes);
    *h.finalize().as_bytes()
}

/// Signs `event` as its origin (`key` must be the origin's).
pub fn sign_event(key: &SecretKey, event: &Event) -> Result<SignedEvent, WireError> {
    let bytes = encode_event(event).map_err(|e| WireError::Malformed(e.to_string()))?;
    let sig = key.sign(&signing_digest(&bytes));
    Ok(SignedEvent {
        event: bytes,
        sig: sig.to_bytes().to_vec(),
    })
}

/// Re-wraps a stored event with the origin signature kept for it.
pub fn stored_event(event: &Event, sig: &[u8; 64]) -> Result<SignedEvent, WireError> {
    let bytes = encode_event(event).map_err(|e| WireError::Malformed(e.to_string()))?;
    Ok(SignedEvent {
        event: bytes,
        sig: sig.to_vec(),
    })
}

/// Decodes and verifies: the event must be signed by the node it names as its origin.
pub fn verify_event(s: &SignedEvent) -> Result<(Event, [u8; 64]), WireError> {
    let event = decode_event(&s.event).map_err(|e| WireError::Malformed(e.to_string()))?;
    let sig: [u8; 64] = s
        .sig
        .as_slice()
        .try_into()
        .map_err(|_| WireError::Malformed(format!("signature of {} bytes", s.sig.len())))?;
    let origin = PublicKey::from_bytes(event.origin.as_bytes())
        .map_err(|e| WireError::Forged(format!("origin is not a key: {e}")))?;
    origin
        .verify(&signing_digest(&s.event), &Signature::from_bytes(&sig))
        .map_err(|_| {
            WireError::Forged(format!(
                "event {} not signed by its origin",
                event.id.short()
            ))
        })?;
    Ok((event, sig))
}

/// Packs signed events into gossip batches of at most [`BATCH_BUDGET`] bytes of events.
pub fn batches(events: Vec<SignedEvent>, mut nonce: impl FnMut() -> u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur: Vec<SignedEvent> = Vec::new();
    let mut size = 0;
    for e in events {
        let len = e.event.len() + e.sig.len() + 8;
        if !cur.is_empty() && size + len > BATCH_BUDGET {
            out.push(encode(&GossipBatch {
                nonce: nonce(),
                events: std::mem::take(&mut cur),
            }));
            size = 0;
        }
        size += len;
        cur.push(e);
    }
    if !cur.is_empty() {
        out.push(encode(&GossipBatch {
            nonce: nonce(),
            events: cur,
        }));
    }
    // An event too big for one gossip message waits for catch-up (streams have no limit).
    out.retain(|b| b.len() < GOSSIP_MAX_BYTES - 64);
    out
}

/// MessagePack with named fields.
pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    rmp_serde::to_vec_named(v).unwrap_or_default()
}

/// The inverse of [`encode`].
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, WireError> {
    rmp_serde::from_slice(bytes).map_err(|e| WireError::Malformed(e.to_string()))
}

/// Writes one length-prefixed frame (u32 little-endian length, then the bytes).
pub(crate) async fn write_frame(
    send: &mut iroh::endpoint::SendStream,
    bytes: &[u8],
) -> Result<(), crate::MeshError> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| crate::MeshError::Protocol("frame too big".into()))?;
    send.write_all(&len.to_le_bytes())
        .await
        .map_err(|e| crate::MeshError::Unreachable(e.to_string()))?;
    send.write_all(bytes)
        .await
        .map_err(|e| crate::MeshError::Unreachable(e.to_string()))
}

/// Reads the next length-prefixed frame, refusing any over `max` bytes before reading it;
/// `None` at the end of the stream.
pub(crate) async fn read_frame(
    recv: &mut iroh::endpoint::RecvStream,
    max: usize,
) -> Result<Option<Vec<u8>>, crate::MeshError> {
    use crate::MeshError;
    let mut len = [0u8; 4];
    match recv.read_exact(&mut len).await {
        Ok(()) => {}
        Err(iroh::endpoint::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(MeshError::Unreachable(e.to_string())),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > max {
        return Err(MeshError::Protocol(format!(
            "a {len}-byte frame is over the {max}-byte limit"
        )));
    }
    let mut buf = vec![0; len];
    recv.read_exact(&mut buf)
        .await
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    Ok(Some(buf))
}
