//! ractor_cluster's external transport on iroh: one bi-directional stream per session,
//! with the QUIC connection kept alive as long as either half of the stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use iroh::endpoint::{Connection, RecvStream, SendStream};
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointId};
use ractor::ActorRef;
use ractor_cluster::{BoxRead, BoxWrite, ClusterBidiStream, NodeServerMessage};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{CLUSTER_ALPN, MeshError};

/// Hands incoming cluster streams (from members: the gate checked) to the NodeServer.
#[derive(Clone, Debug)]
pub struct ClusterProtocol {
    pub(super) server: ActorRef<NodeServerMessage>,
}

impl ProtocolHandler for ClusterProtocol {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        let (send, recv) = conn.accept_bi().await?;
        let stream = IrohStream {
            peer: conn.remote_id(),
            conn,
            send,
            recv,
        };
        self.server
            .cast(NodeServerMessage::ConnectionOpenedExternal {
                stream: Box::new(stream),
                is_server: true,
            })
            .map_err(|e| AcceptError::from_err(std::io::Error::other(e.to_string())))
    }
}

/// Opens a session with `peer`: this side is the ractor client (it speaks first, so the
/// peer sees the stream).
pub(super) async fn dial(
    ep: &Endpoint,
    peer: EndpointId,
    server: &ActorRef<NodeServerMessage>,
) -> Result<(), MeshError> {
    let conn = ep
        .connect(peer, CLUSTER_ALPN)
        .await
        .map_err(|e| MeshError::Unreachable(format!("{}: {e}", peer.fmt_short())))?;
    let (send, recv) = conn
        .open_bi()
        .await
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    let stream = IrohStream {
        peer,
        conn,
        send,
        recv,
    };
    ractor_cluster::client_connect_external(server, Box::new(stream))
        .await
        .map_err(|e| MeshError::Endpoint(format!("cluster node server: {e}")))
}

struct IrohStream {
    peer: EndpointId,
    conn: Connection,
    send: SendStream,
    recv: RecvStream,
}

impl ClusterBidiStream for IrohStream {
    fn split(self: Box<Self>) -> (BoxRead, BoxWrite) {
        let s = *self;
        (
            Box::new(Held {
                inner: s.recv,
                _conn: s.conn.clone(),
            }),
            Box::new(Held {
                inner: s.send,
                _conn: s.conn,
            }),
        )
    }

    fn peer_label(&self) -> Option<String> {
        Some(self.peer.to_string())
    }
}

/// A stream half that keeps its connection open.
struct Held<T> {
    inner: T,
    _conn: Connection,
}

impl<T: AsyncRead + Unpin> AsyncRead for Held<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Held<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
