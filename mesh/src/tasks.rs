//! The background work of a mesh membership: joining through ticket peers, gossiping this
//! node's events, storing verified ones from others, offering artifacts, anti-entropy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fieldmesh_actors::store::Store;
use futures_util::StreamExt;
use iroh::address_lookup::memory::MemoryLookup;
use iroh::endpoint::Connection;
use iroh::{Endpoint, EndpointId, SecretKey};
use iroh_gossip::api::{Event as GossipEvent, GossipReceiver, GossipSender};

use crate::MeshCounters;
use crate::artifacts::ArtifactShare;
use crate::catchup::{CatchUpPartner, catch_up, connect, exchange};
use crate::gate::Members;
use crate::join::{join, remember};
use crate::ticket::TicketPeer;
use crate::wire::{GossipBatch, batches, decode, sign_event};

/// Members greeted at once while joining.
const GREET_CONCURRENCY: usize = 16;

/// Members greeted while joining besides the ticket peer: enough for every bootstrap (gossip
/// topic, directory, rooms) to find members that already know this node. The others learn
/// of it from its directory entry (`roster`), not from a greeting each (O(N²) connections
/// while a large mesh starts).
const GREETED: usize = 8;

/// Joins through the first ticket peer that answers (in random order), admits the members
/// it lists (it vouches for them) and greets a few of them. Returns whether a peer answered.
pub(crate) async fn join_all(
    ep: &Endpoint,
    members: &Members,
    lookup: &MemoryLookup,
    secret: &[u8; 32],
    peers: &[TicketPeer],
    my_addrs: Vec<SocketAddr>,
) -> bool {
    use rand::seq::SliceRandom;
    let me = ep.id();
    let mut order: Vec<&TicketPeer> = peers.iter().collect();
    order.shuffle(&mut rand::rng());
    let mut listed: Vec<(EndpointId, Vec<SocketAddr>)> = Vec::new();
    let mut host = None;
    for p in order {
        let Ok(id) = EndpointId::from_bytes(&p.id) else {
            continue;
        };
        if id == me {
            continue;
        }
        remember(lookup, id, &p.addrs);
        match join(ep, id, secret, my_addrs.clone()).await {
            Ok(list) => {
                members.admit(id, p.addrs.clone());
                listed = list;
                host = Some(id);
                break;
            }
            Err(e) => tracing::debug!(peer = %id.fmt_short(), error = %e, "join failed"),
        }
    }
    let Some(host) = host else {
        return false;
    };
    let mut to_greet = Vec::new();
    for (id, addrs) in listed {
        if id == me || id == host {
            continue;
        }
        remember(lookup, id, &addrs);
        if members.admit(id, addrs) {
            to_greet.push(id);
        }
    }
    to_greet.shuffle(&mut rand::rng());
    to_greet.truncate(GREETED);
    let greetings = to_greet.into_iter().map(|id| {
        let my_addrs = my_addrs.clone();
        async move { join(ep, id, secret, my_addrs).await.ok().map(|_| id) }
    });
    let greeted: Vec<EndpointId> = futures_util::stream::iter(greetings)
        .buffer_unordered(GREET_CONCURRENCY)
        .filter_map(std::future::ready)
        .collect()
        .await;
    members.set_greeted(std::iter::once(host).chain(greeted));
    true
}

/// Signs this node's new events and gossips them in batches.
pub(crate) async fn broadcast_local(
    store: Store,
    key: SecretKey,
    sender: GossipSender,
    counters: Arc<MeshCounters>,
) {
    let local = store.local();
    let mut rx = store.subscribe();
    while let Some(events) =
        crate::next_commit(&mut rx, "gossip fell behind: catch-up delivers").await
    {
        let signed: Vec<_> = events
            .iter()
            .filter(|e| e.origin == local && e.replicated())
            .filter_map(|e| sign_event(&key, e).ok())
            .collect();
        let n = signed.len() as u64;
        for b in batches(signed, rand::random) {
            if sender.broadcast(b.into()).await.is_err() {
                return;
            }
        }
        counters
            .broadcast
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Offers each artifact this node announces.
pub(crate) async fn offer_artifacts(store: Store, share: ArtifactShare) {
    let local = store.local();
    let mut rx = store.subscribe();
    while let Some(events) = crate::next_commit(&mut rx, "artifacts missed: not offered").await {
        for e in events.iter().filter(|e| e.origin == local) {
            if let fieldmesh_actors::model::Payload::ArtifactAvailable(ptr) = &e.body
                && let Err(err) = share.publish(ptr).await
            {
                tracing::warn!(error = %err, "could not offer an artifact");
            }
        }
    }
}

/// Verifies and stores what gossip brings; a new neighbour gets a catch-up round.
pub(crate) async fn receive(
    mut receiver: GossipReceiver,
    store: Store,
    ep: Endpoint,
    counters: Arc<MeshCounters>,
) {
    let local = store.local();
    while let Some(ev) = receiver.next().await {
        match ev {
            Ok(GossipEvent::Received(msg)) => {
                let Ok(batch) = decode::<GossipBatch>(&msg.content) else {
                    counters
                        .malformed
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    continue;
                };
                let good = counters.verified(batch.events, local);
                if !good.is_empty()
                    && let Err(e) = store.append_signed(good).await
                {
                    tracing::warn!(error = %e, "could not store replicated events");
                }
            }
            Ok(GossipEvent::NeighborUp(peer)) => {
                let (ep, store, c) = (ep.clone(), store.clone(), counters.clone());
                tokio::spawn(async move {
                    let _ = catch_up(&ep, peer, &store, &c).await;
                });
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "gossip receiver stopped");
                return;
            }
        }
    }
}

/// Every `every`: a catch-up round with a member (a random one, kept for a few rounds on one
/// connection); until a ticket peer answered, another join attempt.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn anti_entropy(
    ep: Endpoint,
    store: Store,
    members: Members,
    lookup: MemoryLookup,
    (secret, peers): ([u8; 32], Vec<TicketPeer>),
    sender: GossipSender,
    every: Duration,
    counters: Arc<MeshCounters>,
) {
    let me = ep.id();
    let mut tick = tokio::time::interval(every);
    let mut partner = CatchUpPartner::default();
    let mut link: Option<(EndpointId, Connection)> = None;
    loop {
        tick.tick().await;
        let others: Vec<EndpointId> = members
            .list()
            .into_iter()
            .map(|(id, _)| id)
            .filter(|id| *id != me)
            .collect();
        if others.is_empty() && !peers.is_empty() {
            let addrs = ep.bound_sockets();
            if join_all(&ep, &members, &lookup, &secret, &peers, addrs).await {
                let ids = crate::rooms::bootstrap(&members, me)
                    .into_iter()
                    .map(|a| a.id);
                let _ = sender.join_peers(ids.collect()).await;
            }
            continue;
        }
        let Some(peer) = partner.next(&others, |n| rand::random_range(0..n)) else {
            continue;
        };
        let kept = match link.take() {
            Some((id, conn)) if id == peer => Some(conn),
            Some((_, conn)) => {
                conn.close(0u32.into(), b"next partner");
                None
            }
            None => None,
        };
        match round(&ep, peer, kept, &store, &counters).await {
            Ok(conn) => link = Some((peer, conn)),
            Err(e) => {
                partner.failed();
                tracing::debug!(peer = %peer.fmt_short(), error = %e, "catch-up round failed");
            }
        }
    }
}

/// One catch-up exchange with `peer`, on `kept` if it still works, else on a new connection;
/// returns the connection for the next round.
async fn round(
    ep: &Endpoint,
    peer: EndpointId,
    kept: Option<Connection>,
    store: &Store,
    counters: &MeshCounters,
) -> Result<Connection, crate::MeshError> {
    if let Some(conn) = kept {
        if exchange(&conn, store, counters).await.is_ok() {
            return Ok(conn);
        }
        conn.close(0u32.into(), b"failed");
    }
    let conn = connect(ep, peer).await?;
    match exchange(&conn, store, counters).await {
        Ok(_) => Ok(conn),
        Err(e) => {
            conn.close(0u32.into(), b"failed");
            Err(e)
        }
    }
}
