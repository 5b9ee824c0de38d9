//! The simulation's network: every virtual node's iroh endpoint speaks over this in-memory
//! custom transport, and each node's access link (latency, jitter, loss, kbps) is applied here.
//!
//! Model: a packet from A to B crosses A's uplink then B's downlink. Each link serialises
//! packets at its bandwidth behind a FIFO of at most `queue_ms` (tail drop beyond), adds its
//! latency plus uniform jitter, and loses packets independently with its loss rate. Nodes
//! in the cut set reach only each other (a partition). Both links are booked when the packet
//! is sent, so a downlink's queue is modelled in send order rather than arrival order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use iroh::EndpointId;
use iroh_base::CustomAddr;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;

/// Transport id of the shaped network's addresses.
pub const SHAPED_TRANSPORT_ID: u64 = 0xf1e1_d0e5;

/// One node's access link.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LinkProfile {
    /// Name in reports.
    pub name: String,
    /// One-way latency, ms.
    pub latency_ms: f64,
    /// Extra one-way delay, uniform in 0..jitter, ms.
    pub jitter_ms: f64,
    /// Share of packets lost, 0..1.
    pub loss: f64,
    /// Bandwidth each way, kbit/s (`None`: unlimited).
    pub kbps: Option<f64>,
    /// Longest a packet may wait for the link before it is dropped, ms.
    pub queue_ms: f64,
}

impl LinkProfile {
    /// A datacenter or LAN uplink: fast and clean.
    pub fn lan() -> Self {
        Self {
            name: "lan".into(),
            latency_ms: 1.0,
            jitter_ms: 0.5,
            loss: 0.0,
            kbps: None,
            queue_ms: 200.0,
        }
    }

    /// A field site over the WAN: 40 ms, a little jitter, 10 Mbit/s.
    pub fn wan() -> Self {
        Self {
            name: "wan".into(),
            latency_ms: 20.0,
            jitter_ms: 5.0,
            loss: 0.0,
            kbps: Some(10_000.0),
            queue_ms: 200.0,
        }
    }

    /// A WAN link losing 10 % of packets.
    pub fn lossy() -> Self {
        Self {
            name: "wan-lossy".into(),
            loss: 0.10,
            ..Self::wan()
        }
    }

    /// An island on a ~10 kbit/s radio link.
    pub fn island() -> Self {
        Self {
            name: "kbps-island".into(),
            latency_ms: 150.0,
            jitter_ms: 20.0,
            loss: 0.01,
            kbps: Some(10.0),
            queue_ms: 4_000.0,
        }
    }
}

/// Bytes and packets one node's link moved (kept across the node's restarts).
#[derive(Debug, Default)]
pub struct LinkCounters {
    /// Bytes the node sent (before any loss).
    pub sent: AtomicU64,
    /// Bytes delivered to the node.
    pub received: AtomicU64,
    /// Packets of the node's that never arrived (loss, partition, full queue, no such node).
    pub dropped: AtomicU64,
    /// Of `sent`, bytes in QUIC long-header packets (connection set-up).
    pub handshake: AtomicU64,
}

pub(super) struct Packet {
    pub(super) data: Bytes,
    pub(super) from: Key,
    pub(super) to: Key,
}

struct Pending {
    at: Instant,
    seq: u64,
    packet: Packet,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

/// A node's place on the network.
pub(super) struct Port {
    profile: LinkProfile,
    counters: Arc<LinkCounters>,
    inbox: mpsc::UnboundedSender<Packet>,
    pub(super) receiver: Mutex<Option<mpsc::UnboundedReceiver<Packet>>>,
    /// When the uplink / downlink is free again.
    up_free: Mutex<Instant>,
    down_free: Mutex<Instant>,
}

#[derive(Default)]
pub(super) struct Inner {
    pub(super) ports: RwLock<HashMap<Key, Arc<Port>>>,
    cut: RwLock<HashSet<Key>>,
    queue: Mutex<BinaryHeap<Reverse<Pending>>>,
    wake: Notify,
    seq: AtomicU64,
    rng: Mutex<Option<StdRng>>,
}

/// The in-memory network all virtual nodes share.
#[derive(Clone)]
pub struct ShapedNetwork {
    pub(super) inner: Arc<Inner>,
}

impl std::fmt::Debug for ShapedNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapedNetwork").finish_non_exhaustive()
    }
}

/// A node on the network: its endpoint id's bytes. Packets carry these, not `EndpointId`s,
/// whose construction checks the curve point (a quarter of the transport's CPU when it ran
/// per packet).
pub(super) type Key = [u8; 32];

pub(super) fn addr_of(id: &Key) -> CustomAddr {
    CustomAddr::from_parts(SHAPED_TRANSPORT_ID, id)
}

pub(super) fn id_of(addr: &CustomAddr) -> Option<Key> {
    if addr.id() != SHAPED_TRANSPORT_ID {
        return None;
    }
    addr.data().try_into().ok()
}

impl ShapedNetwork {
    /// A network whose losses and jitter follow `seed`; its delivery task runs on the
    /// current tokio runtime.
    pub fn new(seed: u64) -> Self {
        let inner = Arc::new(Inner {
            rng: Mutex::new(Some(StdRng::seed_from_u64(seed))),
            ..Default::default()
        });
        tokio::spawn(deliver(Arc::downgrade(&inner)));
        Self { inner }
    }

    /// Puts node `id` on the network behind `profile` (again, after a restart: same
    /// counters, fresh queues). Its endpoint binds the transport this returns.
    pub fn attach(&self, id: EndpointId, profile: LinkProfile, counters: Arc<LinkCounters>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let now = Instant::now();
        let port = Port {
            profile,
            counters,
            inbox: tx,
            receiver: Mutex::new(Some(rx)),
            up_free: Mutex::new(now),
            down_free: Mutex::new(now),
        };
        write(&self.inner.ports).insert(*id.as_bytes(), Arc::new(port));
    }

    /// Cuts `ids` off from every other node (they still reach each other).
    pub fn partition(&self, ids: impl IntoIterator<Item = EndpointId>) {
        *write(&self.inner.cut) = ids.into_iter().map(|id| *id.as_bytes()).collect();
    }

    /// Ends the partition.
    pub fn heal(&self) {
        write(&self.inner.cut).clear();
    }

    fn random(&self) -> f64 {
        lock(&self.inner.rng)
            .as_mut()
            .map_or(0.5, |r| r.random::<f64>())
    }

    /// Shapes and schedules one datagram.
    pub(super) fn send(&self, from: Key, to: Key, data: Bytes) {
        let ports = read(&self.inner.ports);
        let Some(src) = ports.get(&from).cloned() else {
            return;
        };
        let len = data.len() as u64;
        src.counters.sent.fetch_add(len, Ordering::Relaxed);
        if data.first().is_some_and(|b| b & 0x80 != 0) {
            src.counters.handshake.fetch_add(len, Ordering::Relaxed);
        }
        let drop = || {
            src.counters.dropped.fetch_add(1, Ordering::Relaxed);
        };
        let Some(dst) = ports.get(&to).cloned() else {
            return drop();
        };
        drop_guard(ports);
        {
            let cut = read(&self.inner.cut);
            if cut.contains(&from) != cut.contains(&to) {
                return drop();
            }
        }
        let keep = (1.0 - src.profile.loss) * (1.0 - dst.profile.loss);
        if self.random() >= keep {
            return drop();
        }
        let now = Instant::now();
        let Some(sent) = book(&src.up_free, &src.profile, now, len) else {
            return drop();
        };
        let jitter = (src.profile.jitter_ms + dst.profile.jitter_ms) * self.random();
        let flight = Duration::from_secs_f64(
            (src.profile.latency_ms + dst.profile.latency_ms + jitter) / 1000.0,
        );
        let Some(at) = book(&dst.down_free, &dst.profile, sent + flight, len) else {
            return drop();
        };
        let packet = Packet { data, from, to };
        let seq = self.inner.seq.fetch_add(1, Ordering::Relaxed);
        let earliest = {
            let mut q = lock(&self.inner.queue);
            q.push(Reverse(Pending { at, seq, packet }));
            q.peek().is_some_and(|p| p.0.seq == seq)
        };
        if earliest {
            self.inner.wake.notify_one();
        }
    }
}

/// Books `len` bytes on a link that is free from `*free`, for a packet ready at `ready`:
/// when it has crossed, or `None` if it would wait longer than the link's queue allows.
fn book(free: &Mutex<Instant>, p: &LinkProfile, ready: Instant, len: u64) -> Option<Instant> {
    let Some(kbps) = p.kbps else {
        return Some(ready);
    };
    let mut free = lock(free);
    let start = (*free).max(ready);
    if start.saturating_duration_since(ready) > Duration::from_secs_f64(p.queue_ms / 1000.0) {
        return None;
    }
    let done = start + Duration::from_secs_f64(len as f64 * 8.0 / (kbps * 1000.0));
    *free = done;
    Some(done)
}

/// Hands packets to their receivers when due; ends when the network is gone.
async fn deliver(inner: std::sync::Weak<Inner>) {
    loop {
        let Some(net) = inner.upgrade() else { return };
        let now = Instant::now();
        let mut due = Vec::new();
        let next = {
            let mut q = lock(&net.queue);
            while q.peek().is_some_and(|p| p.0.at <= now) {
                if let Some(Reverse(p)) = q.pop() {
                    due.push(p.packet);
                }
            }
            q.peek().map(|p| p.0.at)
        };
        {
            let ports = read(&net.ports);
            for p in due {
                match ports.get(&p.to) {
                    Some(port) => {
                        port.counters
                            .received
                            .fetch_add(p.data.len() as u64, Ordering::Relaxed);
                        let _ = port.inbox.send(p);
                    }
                    None => {
                        if let Some(src) = ports.get(&p.from) {
                            src.counters.dropped.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        // Wait for the next due packet, or an earlier one to be queued; idle, look now and
        // then whether the network is gone.
        let until = next.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        let wake = net.wake.notified();
        tokio::select! {
            _ = tokio::time::sleep_until(until) => {}
            _ = wake => {}
        }
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
pub(super) fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|p| p.into_inner())
}
fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|p| p.into_inner())
}
fn drop_guard<T>(_: T) {}

mod transport;
