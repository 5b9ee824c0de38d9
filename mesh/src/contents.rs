//! Contents of document entries (directory, rooms): iroh-docs fetches an entry's content
//! from the peer that relayed the entry, which often does not hold it yet; waiting for the
//! next anti-entropy round then cost seconds. Here an entry still without content after a
//! short grace is fetched from that peer again, then its author, who holds what it wrote,
//! then any member.

use std::collections::BTreeMap;
use std::time::Duration;

use iroh::{EndpointId, PublicKey};
use iroh_blobs::Hash;
use iroh_blobs::api::downloader::Downloader;
use iroh_docs::{AuthorId, Entry};
use tokio::sync::mpsc;

use crate::gate::Members;

/// How long iroh-docs' own fetch gets before ours starts.
const GRACE: Duration = Duration::from_millis(750);
/// Waits between our looks (the last one repeats until the content is here).
const RETRY: [Duration; 4] = [
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
    Duration::from_secs(16),
];
/// Fetches tried before the documents' anti-entropy is left to fetch it; the content is
/// still looked for after that (that fetch raises no event).
const ATTEMPTS: usize = 8;

/// Reads and fetches entry contents.
#[derive(Clone, Debug)]
pub(crate) struct EntryContents {
    /// Where contents live.
    pub blobs: iroh_blobs::api::Store,
    /// Fetches from members.
    pub downloader: Downloader,
    /// Who may hold a content.
    pub members: Members,
    /// This node.
    pub me: EndpointId,
}

impl EntryContents {
    /// Whether `hash` is here.
    pub(crate) async fn has(&self, hash: Hash) -> bool {
        matches!(self.blobs.has(hash).await, Ok(true))
    }

    /// The content `hash`, if here.
    pub(crate) async fn get(&self, hash: Hash) -> Option<Vec<u8>> {
        self.blobs.get_bytes(hash).await.ok().map(|b| b.to_vec())
    }

    /// Fetches `hash` from `first` (the peer that relayed the entry, which has had time to
    /// fetch it), its author (an author id is its node's key; a new member may not know
    /// this node yet) or, failing those, any member. Returns whether it is here now.
    pub(crate) async fn fetch(
        &self,
        hash: Hash,
        author: AuthorId,
        first: Option<EndpointId>,
    ) -> bool {
        if self.has(hash).await {
            return true;
        }
        let mut from: Vec<EndpointId> = first
            .into_iter()
            .chain(PublicKey::from_bytes(author.as_bytes()))
            .filter(|a| *a != self.me)
            .collect();
        from.dedup();
        for (id, _) in self.members.list() {
            if id != self.me && !from.contains(&id) {
                from.push(id);
            }
        }
        match self.downloader.download(hash, from).await {
            Ok(_) => true,
            Err(e) => {
                tracing::debug!(%hash, error = %e, "entry content not fetched");
                false
            }
        }
    }
}

/// Entries whose content has not arrived, each with a fetch of its own under way.
pub(crate) struct PendingContents {
    contents: EntryContents,
    /// By content: the latest entry that holds it.
    waiting: BTreeMap<Hash, Entry>,
    tx: mpsc::UnboundedSender<Hash>,
    rx: mpsc::UnboundedReceiver<Hash>,
}

impl PendingContents {
    pub(crate) fn new(contents: EntryContents) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        Self {
            contents,
            waiting: BTreeMap::new(),
            tx,
            rx,
        }
    }

    /// Waits for the content of `entry` (relayed by `from`); fetches it after the grace if
    /// nobody else did.
    pub(crate) fn wait(&mut self, entry: Entry, from: EndpointId) {
        let (hash, author) = (entry.content_hash(), entry.author());
        match self.waiting.get_mut(&hash) {
            Some(w) => {
                if entry.timestamp() > w.timestamp() {
                    *w = entry;
                }
                return;
            }
            None => {
                self.waiting.insert(hash, entry);
            }
        }
        let (contents, tx) = (self.contents.clone(), self.tx.clone());
        tokio::spawn(async move {
            tokio::time::sleep(GRACE).await;
            for attempt in 0.. {
                if tx.is_closed() {
                    return;
                }
                let here = match attempt < ATTEMPTS {
                    true => contents.fetch(hash, author, Some(from)).await,
                    false => contents.has(hash).await,
                };
                if here {
                    let _ = tx.send(hash);
                    return;
                }
                tokio::time::sleep(RETRY[attempt.min(RETRY.len() - 1)]).await;
            }
        });
    }

    /// iroh-docs says `hash` arrived: its entry if it was awaited.
    pub(crate) fn arrived(&mut self, hash: Hash) -> Option<Entry> {
        self.waiting.remove(&hash)
    }

    /// The next awaited content our own fetch brought (pending while there is none).
    pub(crate) async fn fetched(&mut self) -> Entry {
        loop {
            let Some(hash) = self.rx.recv().await else {
                return std::future::pending().await;
            };
            if let Some(entry) = self.waiting.remove(&hash) {
                return entry;
            }
        }
    }

    /// Reads a content.
    pub(crate) async fn get(&self, hash: Hash) -> Option<Vec<u8>> {
        self.contents.get(hash).await
    }
}
