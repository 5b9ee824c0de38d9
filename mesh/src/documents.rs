//! A node's documents (iroh-docs): the directory with this node's entry and the members
//! learned from theirs, the rooms it keeps (mirrored both ways and listed), the viewers'
//! live streams, and the documents' anti-entropy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fieldmesh_actors::model::SensorId;
use fieldmesh_actors::sensors::DisplayStreams;
use iroh::address_lookup::memory::MemoryLookup;
use iroh::{Endpoint, SecretKey};
use iroh_docs::actor::SyncHandle;
use iroh_docs::protocol::Docs;
use tokio::task::JoinHandle;

use crate::config::MeshConfig;
use crate::gate::Members;
use crate::{Directory, MeshCounters, MeshError, MeshRooms};

/// Documents resync with a random member no more often than this.
const DOC_RESYNC_MIN: Duration = Duration::from_secs(3);

/// What the documents need from the node.
pub(crate) struct DocumentsStart<'a> {
    pub cfg: &'a MeshConfig,
    pub ep: &'a Endpoint,
    pub docs: &'a Docs,
    pub doc_sync: SyncHandle,
    pub blobs: &'a iroh_blobs::api::Store,
    pub key: &'a SecretKey,
    pub secret: &'a [u8; 32],
    pub members: &'a Members,
    pub lookup: &'a MemoryLookup,
    pub counters: &'a Arc<MeshCounters>,
    pub addrs: &'a [SocketAddr],
}

/// Opens the directory (writing this node's entry), mirrors `rooms` and starts the tasks
/// that keep them all in step; returns the directory and those tasks.
pub(crate) async fn start(
    d: DocumentsStart<'_>,
    rooms: Option<MeshRooms>,
    display: Arc<DisplayStreams>,
    sensors: Vec<SensorId>,
) -> Result<(Directory, Vec<JoinHandle<()>>), MeshError> {
    let DocumentsStart {
        cfg,
        ep,
        docs,
        doc_sync,
        blobs,
        key,
        secret,
        members,
        lookup,
        counters,
        addrs,
    } = d;
    let me = ep.id();
    let mut tasks = Vec::new();
    let room_ids: Vec<String> = rooms
        .as_ref()
        .map(|r| r.kept.iter().map(|(id, _, _)| id.to_string()).collect())
        .unwrap_or_default();
    let author = crate::rooms::author(docs, key).await?;
    let peers = crate::rooms::bootstrap(members, me);
    let about = crate::MemberInfo {
        id: me.to_string(),
        name: cfg.name.clone(),
        role: cfg.role.clone(),
        addrs: addrs.to_vec(),
        rooms: room_ids,
        sensors: sensors.iter().map(|s| s.to_string()).collect(),
    };
    let directory =
        crate::Directory::open(docs, blobs.clone(), secret, author, peers, &about).await?;
    let contents = crate::contents::EntryContents {
        blobs: blobs.clone(),
        downloader: blobs.downloader(ep),
        members: members.clone(),
        me,
    };
    tasks.push(tokio::spawn(crate::roster::follow(
        directory.clone(),
        contents.clone(),
        lookup.clone(),
        crate::roster::OwnEntry {
            author,
            id: about.id.clone(),
        },
    )));
    let at = addrs
        .iter()
        .fold(iroh::EndpointAddr::new(me), |a, s| a.with_ip_addr(*s));
    if let Some(rooms) = &rooms {
        let entries = rooms
            .kept
            .iter()
            .map(|(id, name, _)| crate::RoomEntry {
                id: id.to_string(),
                name: name.clone(),
                ticket: crate::rooms::ticket(secret, id, at.clone()).to_string(),
            })
            .collect();
        tasks.push(tokio::spawn(crate::directory::list_rooms(
            directory.clone(),
            author,
            entries,
            members.len() > 1,
        )));
    }
    let open = crate::docsync::OpenDocs::default();
    if let Some(rooms) = rooms {
        let watcher = crate::live::Watcher {
            ep: ep.clone(),
            directory: directory.clone(),
            display,
            local: sensors.into_iter().collect(),
            counters: counters.clone(),
        };
        let updates = rooms.updates.resubscribe();
        tasks.push(tokio::spawn(crate::live::follow_viewers(watcher, updates)));
        let listing = crate::rooms::RoomListing {
            directory: directory.clone(),
            about: about.clone(),
            at,
        };
        tasks.extend(
            crate::rooms::mirror(
                docs,
                contents.clone(),
                author,
                secret,
                members,
                me,
                rooms,
                listing,
                open.clone(),
            )
            .await?,
        );
    }
    let resync = crate::docsync::DocSync {
        ep: ep.clone(),
        sync: doc_sync,
        directory: directory.doc().clone(),
        rooms: open,
        contents,
        members: members.clone(),
        me,
        present: Default::default(),
    };
    tasks.push(tokio::spawn(
        resync.run(cfg.catchup_every.max(DOC_RESYNC_MIN)),
    ));
    Ok((directory, tasks))
}
