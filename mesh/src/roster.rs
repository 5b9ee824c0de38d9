//! Membership learned from the directory: every member writes its own entry there (author =
//! its node key), so a node admits at its gate, and learns the addresses of, every member
//! whose entry reaches it — including nodes that joined elsewhere after it did.

use std::str::FromStr;

use futures_util::{Stream, StreamExt};
use iroh::EndpointId;
use iroh::address_lookup::memory::MemoryLookup;
use iroh_docs::engine::LiveEvent;
use iroh_docs::{AuthorId, ContentStatus};

use crate::contents::{EntryContents, PendingContents};
use crate::directory::{Directory, MEMBERS_PREFIX, MemberInfo};
use crate::gate::Members;
use crate::join::remember;
use crate::wire::decode;

/// Whether `info`, read from an entry by `author`, may admit its node: an entry speaks
/// only for its own author (a member cannot vouch for a key it does not hold).
pub(crate) fn admissible(info: &MemberInfo, author: &AuthorId) -> Option<EndpointId> {
    let id = EndpointId::from_str(&info.id).ok()?;
    (id.as_bytes() == author.as_bytes()).then_some(id)
}

/// This node's own entry, written again once the directory has a live neighbour.
pub(crate) struct OwnEntry {
    /// Its author (the node key).
    pub author: AuthorId,
    /// Its id as the entry names it.
    pub id: String,
}

/// Admits every member the directory names now, then each one whose entry arrives later;
/// announces `own` again at the first live neighbour.
pub(crate) async fn follow(
    directory: Directory,
    contents: EntryContents,
    lookup: MemoryLookup,
    own: OwnEntry,
) {
    let members = contents.members.clone();
    let events = match directory.doc().subscribe().await {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "directory events unavailable: members come by greeting only");
            return;
        }
    };
    match directory.members_by_author().await {
        Ok(known) => {
            for (info, author) in known {
                admit(&members, &lookup, &info, &author);
            }
        }
        Err(e) => tracing::debug!(error = %e, "directory not read"),
    }
    let mut pending = PendingContents::new(contents);
    follow_events(
        events,
        &directory,
        &mut pending,
        (&members, &lookup),
        Some(own),
    )
    .await;
}

async fn follow_events(
    mut events: impl Stream<Item = anyhow::Result<LiveEvent>> + Unpin,
    directory: &Directory,
    pending: &mut PendingContents,
    (members, lookup): (&Members, &MemoryLookup),
    mut own: Option<OwnEntry>,
) {
    loop {
        let (hash, author) = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(LiveEvent::InsertRemote { entry, content_status, from })) => {
                    if !entry.key().starts_with(MEMBERS_PREFIX.as_bytes()) {
                        continue;
                    }
                    let (hash, author) = (entry.content_hash(), entry.author());
                    if content_status != ContentStatus::Complete {
                        pending.wait(entry, from);
                        continue;
                    }
                    (hash, author)
                }
                Some(Ok(LiveEvent::NeighborUp(_))) => {
                    if let Some(o) = own.take()
                        && let Err(e) = directory.reannounce(o.author, &o.id).await
                    {
                        tracing::debug!(error = %e, "own directory entry not announced again");
                    }
                    continue;
                }
                Some(Ok(LiveEvent::ContentReady { hash })) => match pending.arrived(hash) {
                    Some(entry) => (hash, entry.author()),
                    None => continue,
                },
                Some(Ok(_)) => continue,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "directory events stopped");
                    return;
                }
                None => return,
            },
            entry = pending.fetched() => (entry.content_hash(), entry.author()),
        };
        let Some(bytes) = pending.get(hash).await else {
            continue;
        };
        match decode::<MemberInfo>(&bytes) {
            Ok(info) => admit(members, lookup, &info, &author),
            Err(e) => tracing::debug!(error = %e, "unreadable member entry"),
        }
    }
}

fn admit(members: &Members, lookup: &MemoryLookup, info: &MemberInfo, author: &AuthorId) {
    let Some(id) = admissible(info, author) else {
        tracing::debug!(claimed = %info.id, "a member entry not written by its member");
        return;
    };
    let addrs: Vec<_> = info.addrs.iter().copied().take(16).collect();
    if addrs.is_empty() && members.contains(&id) {
        return; // known, with the addresses it greeted with
    }
    if !addrs.is_empty() {
        remember(lookup, id, &addrs);
    }
    if members.admit(id, addrs) {
        tracing::debug!(peer = %id.fmt_short(), "member learned from the directory");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: &str) -> MemberInfo {
        MemberInfo {
            id: id.into(),
            name: "n".into(),
            role: "edge".into(),
            addrs: vec![],
            rooms: vec![],
            sensors: vec![],
        }
    }

    #[test]
    fn an_entry_admits_only_its_own_author() {
        let key = iroh::SecretKey::generate();
        let other = iroh::SecretKey::generate();
        let author = iroh_docs::Author::from_bytes(&key.to_bytes()).id();
        let me = info(&key.public().to_string());
        assert_eq!(admissible(&me, &author), Some(key.public()));
        let forged = info(&other.public().to_string());
        assert_eq!(admissible(&forged, &author), None);
        assert_eq!(admissible(&info("not a key"), &author), None);
    }
}
