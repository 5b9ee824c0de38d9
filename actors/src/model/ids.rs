//! Identifiers of the model: nodes, events, sensors, rooms.
//! Fixed-size ids are bytes on the wire and lowercase hex for people (JSON, logs, CLI).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ModelError;

/// Implements hex display/parse and a compact serde form (bytes in binary, hex in JSON)
/// for a newtype over `[u8; N]`.
macro_rules! fixed_bytes_id {
    ($name:ident, $len:expr, $what:literal) => {
        impl $name {
            /// Length in bytes.
            pub const LEN: usize = $len;

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }

            /// Wraps raw bytes.
            pub const fn from_bytes(bytes: [u8; $len]) -> Self {
                Self(bytes)
            }

            /// Lowercase hex.
            pub fn to_hex(&self) -> String {
                $crate::model::ids::hex_encode(&self.0)
            }

            /// The first `n` hex characters, for logs and dashboards.
            pub fn short(&self) -> String {
                let mut s = self.to_hex();
                s.truncate(10);
                s
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.short())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::model::ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let bytes = $crate::model::ids::hex_decode(s).ok_or_else(|| {
                    $crate::model::ModelError::InvalidId {
                        what: $what,
                        value: s.chars().take(80).collect(),
                    }
                })?;
                let arr: [u8; $len] =
                    bytes
                        .try_into()
                        .map_err(|_| $crate::model::ModelError::InvalidId {
                            what: $what,
                            value: s.chars().take(80).collect(),
                        })?;
                Ok(Self(arr))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&self.to_hex())
                } else {
                    s.serialize_bytes(&self.0)
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                if d.is_human_readable() {
                    let s = <String as ::serde::Deserialize>::deserialize(d)?;
                    s.parse().map_err(::serde::de::Error::custom)
                } else {
                    let b: ::serde_bytes::ByteBuf =
                        <::serde_bytes::ByteBuf as ::serde::Deserialize>::deserialize(d)?;
                    let arr: [u8; $len] = b.into_vec().try_into().map_err(|v: Vec<u8>| {
                        ::serde::de::Error::invalid_length(v.len(), &concat!($what, " bytes"))
                    })?;
                    Ok(Self(arr))
                }
            }
        }
    };
}

/// A node's identity: its ed25519 public key (the mesh's endpoint id).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId([u8; 32]);
fixed_bytes_id!(NodeId, 32, "node id");

/// An event's id: BLAKE3 of (origin, sequence), truncated to 16 bytes. Stable and unique
/// as long as an origin never reuses a sequence number.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId([u8; 16]);
fixed_bytes_id!(EventId, 16, "event id");

impl EventId {
    /// Derives the id of the event `seq` of `origin`.
    pub fn derive(origin: &NodeId, seq: u64) -> Self {
        let mut h = blake3::Hasher::new_derive_key("fieldmesh event id v1");
        h.update(origin.as_bytes());
        h.update(&seq.to_be_bytes());
        let out = h.finalize();
        let mut id = [0u8; 16];
        id.copy_from_slice(&out.as_bytes()[..16]);
        Self(id)
    }
}

/// Most characters a sensor or room id may have.
pub const MAX_NAME_ID_LEN: usize = 64;

fn check_name_id(what: &'static str, s: &str) -> Result<(), ModelError> {
    let ok = !s.is_empty()
        && s.len() <= MAX_NAME_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(ModelError::InvalidId {
            what,
            value: s.chars().take(80).collect(),
        })
    }
}

macro_rules! name_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A ", $what, ": 1-64 characters of `[A-Za-z0-9-_.:]`.")]
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, ModelError> {
                let s = s.into();
                check_name_id($what, &s)?;
                Ok(Self(s))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ModelError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }
    };
}

name_id!(SensorId, "sensor id");
name_id!(RoomId, "room id");

/// Lowercase hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

/// Parses hex (either case); `None` on odd length or a non-hex character.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let id = NodeId::from_bytes([7u8; 32]);
        assert_eq!(id.to_hex().parse::<NodeId>().unwrap(), id);
        assert!("zz".parse::<NodeId>().is_err());
        assert!("0102".parse::<NodeId>().is_err(), "wrong length must fail");
    }

    #[test]
    fn event_id_is_stable_and_distinct() {
        let a = NodeId::from_bytes([1u8; 32]);
        let b = NodeId::from_bytes([2u8; 32]);
        assert_eq!(EventId::derive(&a, 5), EventId::derive(&a, 5));
        assert_ne!(EventId::derive(&a, 5), EventId::derive(&a, 6));
        assert_ne!(EventId::derive(&a, 5), EventId::derive(&b, 5));
    }

    #[test]
    fn name_ids_validate() {
        assert!(SensorId::new("hr-1").is_ok());
        assert!(SensorId::new("").is_err());
        assert!(SensorId::new("a b").is_err());
        assert!(RoomId::new("x".repeat(65)).is_err());
        let json = serde_json::to_string(&SensorId::new("sdr.0").unwrap()).unwrap();
        assert_eq!(json, "\"sdr.0\"");
        assert!(serde_json::from_str::<SensorId>("\"bad id\"").is_err());
    }
}
