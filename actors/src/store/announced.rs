//! Which event announced each artifact: artifact hash → (origin, seq) of its
//! `artifact_available` event, so a fetch by hash finds the pointer and origin without a
//! scan. Kept by the writer inside the commit that stores the event.

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::tables::{COUNTERS, EVENTS};
use super::{StoreError, db_err};
use crate::model::{ArtifactHash, ArtifactPtr, Event, NodeId, Payload, decode_event};

/// artifact hash → (origin, seq) of the event that announced it (the first one kept).
const ANNOUNCED: TableDefinition<[u8; 32], ([u8; 32], u64)> =
    TableDefinition::new("artifact-announcements-1");
/// Set once the index covers every stored event (stores older than the index are filled
/// on their first open).
const INDEXED: &str = "announcements_indexed";

/// Indexes `event` if it announces an artifact.
pub(crate) fn record(txn: &WriteTransaction, event: &Event) -> Result<(), StoreError> {
    if let Payload::ArtifactAvailable(ptr) = &event.body {
        let mut t = txn.open_table(ANNOUNCED).map_err(db_err)?;
        if t.get(*ptr.hash.as_bytes()).map_err(db_err)?.is_none() {
            t.insert(*ptr.hash.as_bytes(), (*event.origin.as_bytes(), event.seq))
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// Creates the index, filling it from the stored events the first time.
pub(crate) fn init(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.open_table(ANNOUNCED).map_err(db_err)?;
    let done = txn
        .open_table(COUNTERS)
        .map_err(db_err)?
        .get(INDEXED)
        .map_err(db_err)?
        .is_some();
    if done {
        return Ok(());
    }
    let mut found = Vec::new();
    {
        let events = txn.open_table(EVENTS).map_err(db_err)?;
        for row in events.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            if let Ok(e) = decode_event(v.value())
                && matches!(e.body, Payload::ArtifactAvailable(_))
            {
                found.push(e);
            }
        }
    }
    for e in &found {
        record(txn, e)?;
    }
    txn.open_table(COUNTERS)
        .map_err(db_err)?
        .insert(INDEXED, 1)
        .map_err(db_err)?;
    Ok(())
}

/// The pointer and origin of artifact `hash`, from its announcement (if still stored).
pub(crate) fn lookup(
    db: &redb::Database,
    hash: &ArtifactHash,
) -> Result<Option<(ArtifactPtr, NodeId)>, StoreError> {
    let txn = db.begin_read().map_err(db_err)?;
    let Some((origin, seq)) = txn
        .open_table(ANNOUNCED)
        .map_err(db_err)?
        .get(*hash.as_bytes())
        .map_err(db_err)?
        .map(|v| v.value())
    else {
        return Ok(None);
    };
    let events = txn.open_table(EVENTS).map_err(db_err)?;
    let Some(bytes) = events.get((origin, seq)).map_err(db_err)? else {
        return Ok(None); // pruned since
    };
    match decode_event(bytes.value())?.body {
        Payload::ArtifactAvailable(ptr) => Ok(Some((ptr, NodeId::from_bytes(origin)))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArtifactKind, EventDraft};

    fn announce(seq: u64, bytes: &[u8]) -> (Event, ArtifactPtr) {
        let ptr = ArtifactPtr::for_bytes(ArtifactKind::IqWindow, bytes);
        let draft = EventDraft {
            ts_us: 1,
            sensor: None,
            room: None,
            body: Payload::ArtifactAvailable(ptr.clone()),
        };
        (Event::seal(NodeId::from_bytes([5; 32]), seq, draft), ptr)
    }

    #[test]
    fn announcements_are_found_by_hash_also_in_stores_older_than_the_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = redb::Database::create(dir.path().join("a.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        super::super::log::init(&txn).unwrap();
        init(&txn).unwrap();
        let (e1, p1) = announce(1, b"one");
        super::super::log::insert(&txn, &e1).unwrap();
        txn.commit().unwrap();
        let found = lookup(&db, &p1.hash).unwrap();
        assert_eq!(found, Some((p1.clone(), NodeId::from_bytes([5; 32]))));
        assert_eq!(lookup(&db, &ArtifactHash::of(b"nobody")).unwrap(), None);
        // A store from before the index: events there, index empty and not marked done.
        let txn = db.begin_write().unwrap();
        txn.delete_table(ANNOUNCED).unwrap();
        txn.open_table(COUNTERS).unwrap().remove(INDEXED).unwrap();
        txn.commit().unwrap();
        assert!(db.begin_read().unwrap().open_table(ANNOUNCED).is_err());
        let txn = db.begin_write().unwrap();
        init(&txn).unwrap();
        txn.commit().unwrap();
        assert_eq!(lookup(&db, &p1.hash).unwrap().map(|(p, _)| p), Some(p1));
    }
}
