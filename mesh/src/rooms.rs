//! Rooms over iroh-docs: one document per room, its namespace derived from the mesh secret
//! and the room id, so every member can write it and nobody else can reach it (the gate).
//! This node's room changes are written in batches after a short quiet time (debounce);
//! other nodes' come back to the room's actor as [`RoomMsg::Remote`].

use std::collections::BTreeMap;
use std::time::Duration;

use fieldmesh_actors::model::RoomId;
use fieldmesh_actors::rooms::{RoomChange, RoomMsg, RoomUpdate};
use fieldmesh_actors::store::now_us;
use fieldmesh_actors::supervision::Slot;
use futures_util::StreamExt;
use iroh::{EndpointAddr, EndpointId, SecretKey};
use iroh_docs::api::Doc;
use iroh_docs::engine::LiveEvent;
use iroh_docs::protocol::Docs;
use iroh_docs::{Author, AuthorId, Capability, ContentStatus, NamespaceSecret};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::MeshError;
use crate::contents::{EntryContents, PendingContents};
use crate::docsync::OpenDocs;
use crate::gate::Members;
use crate::room_entry::{from_entry, key_of, to_entry};

/// The rooms a node keeps, for the mesh to mirror.
pub struct MeshRooms {
    /// Each room kept now: id, name for people, its actor.
    pub kept: Vec<fieldmesh_actors::rooms::KeptRoom>,
    /// This node's room changes.
    pub updates: broadcast::Receiver<RoomUpdate>,
    /// Quiet time before local changes are written.
    pub debounce: Duration,
    /// Rooms this node starts keeping while it runs (created or joined).
    pub added: Option<broadcast::Receiver<fieldmesh_actors::rooms::KeptRoom>>,
}

/// What a room added at run time needs from the mesh: its document, opened and synced, and
/// its listing in the directory (with this node's entry naming it).
pub(crate) struct RoomListing {
    /// The directory.
    pub directory: crate::Directory,
    /// This node's directory entry (its room list grows).
    pub about: crate::MemberInfo,
    /// Where other nodes sync room documents from us.
    pub at: EndpointAddr,
}

fn namespace(secret: &[u8; 32], room: &RoomId) -> NamespaceSecret {
    let mut h = blake3::Hasher::new_derive_key("fieldmesh room document v1");
    h.update(secret);
    h.update(room.as_str().as_bytes());
    NamespaceSecret::from_bytes(h.finalize().as_bytes())
}

/// The ticket of room `room`'s document: write capability plus where to sync it.
pub(crate) fn ticket(secret: &[u8; 32], room: &RoomId, at: EndpointAddr) -> iroh_docs::DocTicket {
    iroh_docs::DocTicket::new(Capability::Write(namespace(secret, room)), vec![at])
}

/// This node's document author (its node key), registered with `docs`.
pub(crate) async fn author(docs: &Docs, key: &SecretKey) -> Result<AuthorId, MeshError> {
    let author = Author::from_bytes(&key.to_bytes());
    let id = author.id();
    docs.author_import(author)
        .await
        .map_err(|e| MeshError::Endpoint(format!("document author: {e}")))?;
    Ok(id)
}

/// The members other than `me`, as addresses to sync documents with.
pub(crate) fn peers(members: &Members, me: EndpointId) -> Vec<EndpointAddr> {
    members
        .list()
        .into_iter()
        .filter(|(id, _)| *id != me)
        .map(|(id, addrs)| {
            addrs
                .into_iter()
                .fold(EndpointAddr::new(id), |a, s| a.with_ip_addr(s))
        })
        .collect()
}

/// Members a node bootstraps a gossip topic or document with. Every bootstrap peer gets a
/// HyParView join (and, for documents, a full sync) at once: naming all members made each
/// join cost O(N) connections and kept the overlay churning (all-to-all traffic at 20+
/// nodes). A few random ones form the overlay; anti-entropy covers the rest.
pub(crate) const BOOTSTRAP_PEERS: usize = 4;

/// Up to [`BOOTSTRAP_PEERS`] random members other than `me`: among those it greeted while
/// joining when there are any (the rest may not know it yet).
pub(crate) fn bootstrap(members: &Members, me: EndpointId) -> Vec<EndpointAddr> {
    use rand::seq::IteratorRandom;
    let greeted = members.greeted();
    peers(members, me)
        .into_iter()
        .filter(|a| greeted.is_empty() || greeted.contains(&a.id))
        .sample(&mut rand::rng(), BOOTSTRAP_PEERS)
}

/// Opens room `room`'s document, syncs it with `peers` and sends other nodes' entries to its
/// actor (the task returned).
async fn open_room(
    docs: &Docs,
    contents: EntryContents,
    secret: &[u8; 32],
    peers: Vec<EndpointAddr>,
    room: &RoomId,
    slot: Slot<RoomMsg>,
) -> Result<(Doc, JoinHandle<()>), MeshError> {
    let err = |e: anyhow::Error| MeshError::Endpoint(format!("room document {room}: {e}"));
    let doc = docs
        .import_namespace(Capability::Write(namespace(secret, room)))
        .await
        .map_err(err)?;
    doc.start_sync(peers).await.map_err(err)?;
    let events = doc.subscribe().await.map_err(err)?;
    Ok((doc, tokio::spawn(apply_remote(events, contents, slot))))
}

/// Opens every room's document, syncs it with the members and starts mirroring; rooms
/// added later are opened, mirrored and listed in the directory as they come.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn mirror(
    docs: &Docs,
    contents: EntryContents,
    author_id: AuthorId,
    secret: &[u8; 32],
    members: &Members,
    me: EndpointId,
    rooms: MeshRooms,
    listing: RoomListing,
    open: OpenDocs,
) -> Result<Vec<JoinHandle<()>>, MeshError> {
    let mut tasks = Vec::new();
    for (room, _, slot) in rooms.kept {
        let (doc, task) = open_room(
            docs,
            contents.clone(),
            secret,
            bootstrap(members, me),
            &room,
            slot,
        )
        .await?;
        tasks.push(task);
        open.lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(room, doc);
    }
    tasks.push(tokio::spawn(write_local(
        rooms.updates,
        open.clone(),
        author_id,
        rooms.debounce,
    )));
    if let Some(added) = rooms.added {
        let follow = FollowAdded {
            docs: docs.clone(),
            contents,
            author: author_id,
            secret: *secret,
            members: members.clone(),
            me,
            open,
            listing,
        };
        tasks.push(tokio::spawn(follow.run(added)));
    }
    Ok(tasks)
}

/// Mirrors rooms added while the node runs.
struct FollowAdded {
    docs: Docs,
    contents: EntryContents,
    author: AuthorId,
    secret: [u8; 32],
    members: Members,
    me: EndpointId,
    open: OpenDocs,
    listing: RoomListing,
}

impl FollowAdded {
    async fn run(mut self, mut added: broadcast::Receiver<fieldmesh_actors::rooms::KeptRoom>) {
        let mut tasks = Vec::new();
        loop {
            let (room, name, slot) = match added.recv().await {
                Ok(r) => r,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "rooms added faster than the mesh followed");
                    continue;
                }
                Err(_) => break,
            };
            match self.add(&room, name, slot).await {
                Ok(task) => tasks.push(task),
                Err(e) => tracing::warn!(%room, error = %e, "room not mirrored"),
            }
        }
        for t in tasks {
            t.abort();
        }
    }

    async fn add(
        &mut self,
        room: &RoomId,
        name: String,
        slot: Slot<RoomMsg>,
    ) -> Result<JoinHandle<()>, MeshError> {
        let peers = bootstrap(&self.members, self.me);
        let (doc, task) = open_room(
            &self.docs,
            self.contents.clone(),
            &self.secret,
            peers,
            room,
            slot,
        )
        .await?;
        self.open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(room.clone(), doc);
        let l = &mut self.listing;
        let entry = crate::RoomEntry {
            id: room.to_string(),
            name,
            ticket: ticket(&self.secret, room, l.at.clone()).to_string(),
        };
        l.directory.add_room(self.author, &entry).await?;
        l.about.rooms.push(room.to_string());
        l.directory.set_member(self.author, &l.about).await?;
        tracing::info!(%room, "room mirrored");
        Ok(task)
    }
}

/// Other nodes' entries → the room's actor.
async fn apply_remote(
    mut events: impl futures_util::Stream<Item = anyhow::Result<LiveEvent>> + Unpin,
    contents: EntryContents,
    slot: Slot<RoomMsg>,
) {
    let mut pending = PendingContents::new(contents);
    loop {
        let (hash, written_us) = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(LiveEvent::InsertRemote {
                    entry,
                    content_status,
                    from,
                })) => {
                    if content_status != ContentStatus::Complete {
                        pending.wait(entry, from);
                        continue;
                    }
                    (entry.content_hash(), entry.timestamp())
                }
                Some(Ok(LiveEvent::ContentReady { hash })) => match pending.arrived(hash) {
                    Some(entry) => (hash, entry.timestamp()),
                    None => continue,
                },
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "room document events stopped");
                    return;
                }
                None => return,
            },
            entry = pending.fetched() => (entry.content_hash(), entry.timestamp()),
        };
        let Some(bytes) = pending.get(hash).await else {
            continue;
        };
        match from_entry(&bytes, written_us) {
            Ok(change) => {
                if let Some(actor) = slot.current() {
                    let _ = actor.cast(RoomMsg::Remote(vec![change]));
                }
            }
            Err(e) => tracing::warn!(error = %e, "unreadable room entry"),
        }
    }
}

/// This node's room changes → the documents, a batch after each quiet spell.
async fn write_local(
    mut updates: broadcast::Receiver<RoomUpdate>,
    docs: OpenDocs,
    author: AuthorId,
    debounce: Duration,
) {
    loop {
        let first = match updates.recv().await {
            Ok(u) => u,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(
                    missed = n,
                    "room changes missed; the next refresh repairs them"
                );
                continue;
            }
            Err(_) => return,
        };
        // Gather what follows within the debounce; the latest per key wins.
        let mut batch: BTreeMap<(RoomId, Vec<u8>), RoomChange> = BTreeMap::new();
        batch.insert((first.room.clone(), key_of(&first.change)), first.change);
        let until = tokio::time::Instant::now() + debounce;
        while let Ok(Ok(u)) = tokio::time::timeout_at(until, updates.recv()).await {
            batch.insert((u.room.clone(), key_of(&u.change)), u.change);
        }
        for ((room, key), change) in batch {
            let doc = docs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&room)
                .cloned();
            if let Some(doc) = doc
                && let Err(e) = doc
                    .set_bytes(author, key, to_entry(&change, now_us()))
                    .await
            {
                tracing::warn!(%room, error = %e, "could not write a room change");
            }
        }
    }
}
