//! fieldmesh's mesh adapter: iroh endpoint, tickets, docs, gossip, blobs and the
//! ractor_cluster transport. It speaks to the domain only through its types and actors.
//!
//! The mesh arrives with its own issue; until then a node runs alone and this crate only
//! fixes the names the adapter will use.

/// Versioned ALPN of the catch-up (anti-entropy) protocol.
pub const CATCHUP_ALPN: &[u8] = b"/fieldmesh/catchup/1";
/// Versioned ALPN of the ractor_cluster transport.
pub const CLUSTER_ALPN: &[u8] = b"/fieldmesh/cluster/1";
