//! Traffic by protocol: every connection this node opens or accepts is counted under its
//! ALPN, with the bytes it moved (QUIC's own statistics, set-up and retransmissions included).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use iroh::endpoint::{Connection, WeakConnectionHandle};

/// What one protocol moved on this node.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProtocolTraffic {
    /// The ALPN, as text.
    pub alpn: String,
    /// Connections opened or accepted.
    pub connections: u64,
    /// UDP payload bytes sent on them.
    pub sent: u64,
    /// UDP payload bytes received on them.
    pub received: u64,
}

#[derive(Default)]
struct Inner {
    /// Totals of closed connections, by ALPN.
    closed: BTreeMap<Vec<u8>, ProtocolTraffic>,
    /// Connections still open (weak: counting never keeps one alive).
    open: Vec<(Vec<u8>, WeakConnectionHandle)>,
}

/// Per-protocol traffic of one node.
#[derive(Clone, Default)]
pub struct Traffic {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Traffic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traffic").finish_non_exhaustive()
    }
}

fn entry<'a>(
    m: &'a mut BTreeMap<Vec<u8>, ProtocolTraffic>,
    alpn: &[u8],
) -> &'a mut ProtocolTraffic {
    m.entry(alpn.to_vec()).or_insert_with(|| ProtocolTraffic {
        alpn: String::from_utf8_lossy(alpn).into_owned(),
        ..Default::default()
    })
}

impl Traffic {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts counting `conn` (called once its handshake completed).
    pub(crate) fn track(&self, conn: &Connection) {
        let alpn = conn.alpn().to_vec();
        let weak = conn.weak_handle();
        {
            let mut inner = self.lock();
            entry(&mut inner.closed, &alpn).connections += 1;
            inner.open.push((alpn.clone(), weak.clone()));
        }
        let closed = weak.closed();
        let this = self.clone();
        tokio::spawn(async move {
            let Some(c) = closed.await else { return };
            let mut inner = this.lock();
            let e = entry(&mut inner.closed, &alpn);
            e.sent += c.stats.udp_tx.bytes;
            e.received += c.stats.udp_rx.bytes;
            inner.open.retain(|(_, w)| w.upgrade().is_some());
        });
    }

    /// Totals so far, by protocol: closed connections plus what open ones moved until now.
    pub fn snapshot(&self) -> Vec<ProtocolTraffic> {
        let mut inner = self.lock();
        let mut out = inner.closed.clone();
        inner.open.retain(|(alpn, w)| match w.upgrade() {
            Some(c) => {
                let s = c.stats();
                let e = entry(&mut out, alpn);
                e.sent += s.udp_tx.bytes;
                e.received += s.udp_rx.bytes;
                true
            }
            None => false,
        });
        out.into_values().collect()
    }
}
