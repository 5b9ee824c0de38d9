//! The seam for non-IP links: a node's endpoint can run over a custom transport instead of
//! UDP sockets — the simulation harness's shaped in-memory network plugs in here.

use std::sync::Arc;

use iroh::EndpointId;
use iroh::address_lookup::AddressLookup;
use iroh::endpoint::transports::CustomTransport;

/// A network of custom links (latency, loss, bandwidth are its business).
pub trait LinkNetwork: std::fmt::Debug + Send + Sync + 'static {
    /// The transport endpoint `me` binds: its only way in and out.
    fn transport(&self, me: EndpointId) -> Arc<dyn CustomTransport>;
    /// Resolves peers' ids to their addresses on this network.
    fn lookup(&self) -> Box<dyn AddressLookup>;
}
