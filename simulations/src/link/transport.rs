//! The shaped network as iroh sees it: a custom transport per node (bind, send, receive)
//! and an address lookup that finds every node attached to the network.

use std::io;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::StreamExt;
use iroh::address_lookup::{AddressLookup, EndpointData, EndpointInfo, Item};
use iroh::endpoint::transports::{
    CustomEndpoint, CustomSender, CustomTransport, RecvInfo, Transmit,
};
use iroh::{EndpointId, TransportAddr};
use iroh_base::CustomAddr;
use tokio::sync::mpsc;

use super::{Key, Packet, SHAPED_TRANSPORT_ID, ShapedNetwork, addr_of, id_of, lock, read};

/// One node's transport on the network.
#[derive(Debug)]
struct NodeTransport {
    net: ShapedNetwork,
    me: Key,
}

impl CustomTransport for NodeTransport {
    fn bind(&self) -> io::Result<Box<dyn CustomEndpoint>> {
        let port = read(&self.net.inner.ports).get(&self.me).cloned();
        let rx = port
            .and_then(|p| lock(&p.receiver).take())
            .ok_or_else(|| io::Error::other("node not attached to the network, or bound twice"))?;
        Ok(Box::new(NodeEndpoint {
            net: self.net.clone(),
            me: self.me,
            addrs: n0_watcher::Watchable::new(vec![addr_of(&self.me)]),
            rx,
        }))
    }
}

struct NodeEndpoint {
    net: ShapedNetwork,
    me: Key,
    addrs: n0_watcher::Watchable<Vec<CustomAddr>>,
    rx: mpsc::UnboundedReceiver<Packet>,
}

impl std::fmt::Debug for NodeEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeEndpoint")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

impl CustomEndpoint for NodeEndpoint {
    fn watch_local_addrs(&self) -> n0_watcher::Direct<Vec<CustomAddr>> {
        self.addrs.watch()
    }

    fn create_sender(&self) -> Arc<dyn CustomSender> {
        Arc::new(NodeSender {
            net: self.net.clone(),
            me: self.me,
        })
    }

    fn poll_recv(
        &mut self,
        cx: &mut Context,
        bufs: &mut [io::IoSliceMut<'_>],
        metas: &mut [noq_udp::RecvMeta],
        recv_infos: &mut [RecvInfo],
    ) -> Poll<io::Result<usize>> {
        let n = bufs.len().min(metas.len()).min(recv_infos.len());
        if n == 0 {
            return Poll::Ready(Ok(0));
        }
        let mut filled = 0;
        while filled < n {
            let packet = match self.rx.poll_recv(cx) {
                Poll::Ready(Some(p)) => p,
                Poll::Ready(None) if filled == 0 => {
                    return Poll::Ready(Err(io::Error::other("network gone")));
                }
                Poll::Ready(None) | Poll::Pending => break,
            };
            let len = packet.data.len();
            if bufs[filled].len() < len {
                continue; // larger than the receive buffer: lost, as UDP would
            }
            bufs[filled][..len].copy_from_slice(&packet.data);
            metas[filled].len = len;
            metas[filled].stride = len;
            recv_infos[filled] = RecvInfo::new(addr_of(&packet.from), Some(addr_of(&self.me)));
            filled += 1;
        }
        if filled == 0 {
            Poll::Pending
        } else {
            Poll::Ready(Ok(filled))
        }
    }
}

#[derive(Debug)]
struct NodeSender {
    net: ShapedNetwork,
    me: Key,
}

impl CustomSender for NodeSender {
    fn is_valid_send_addr(&self, addr: &CustomAddr) -> bool {
        addr.id() == SHAPED_TRANSPORT_ID
    }

    fn poll_send(
        &self,
        _cx: &mut Context,
        dst: &CustomAddr,
        _src: Option<&CustomAddr>,
        transmit: &Transmit<'_>,
    ) -> Poll<io::Result<()>> {
        let Some(to) = id_of(dst) else {
            return Poll::Ready(Err(io::Error::other("not a shaped-network address")));
        };
        let size = transmit
            .segment_size
            .unwrap_or(transmit.contents.len())
            .max(1);
        for seg in transmit.contents.chunks(size) {
            self.net.send(self.me, to, Bytes::copy_from_slice(seg));
        }
        Poll::Ready(Ok(()))
    }
}

/// Finds nodes attached to the network.
#[derive(Debug)]
struct Lookup(ShapedNetwork);

impl AddressLookup for Lookup {
    fn resolve(
        &self,
        endpoint_id: EndpointId,
    ) -> Option<n0_future::boxed::BoxStream<Result<Item, iroh::address_lookup::Error>>> {
        if !read(&self.0.inner.ports).contains_key(endpoint_id.as_bytes()) {
            return None;
        }
        let info = EndpointInfo {
            endpoint_id,
            data: EndpointData::from_iter([TransportAddr::Custom(addr_of(endpoint_id.as_bytes()))]),
        };
        let item = Item::new(info, "fieldmesh-sim network", None);
        Some(futures_util::stream::once(async move { Ok(item) }).boxed())
    }
}

impl fieldmesh_mesh::LinkNetwork for ShapedNetwork {
    fn transport(&self, me: EndpointId) -> Arc<dyn CustomTransport> {
        Arc::new(NodeTransport {
            net: self.clone(),
            me: *me.as_bytes(),
        })
    }

    fn lookup(&self) -> Box<dyn AddressLookup> {
        Box::new(Lookup(self.clone()))
    }
}
