//! Rooms a node was given while it ran (created or joined from the dashboard or the API),
//! remembered in `<data_dir>/rooms.json` so the node keeps them after a restart.

use std::path::Path;

use fieldmesh_actors::rooms::RoomConfig;

/// The file, in the data dir.
pub const ROOMS_FILE: &str = "rooms.json";

/// The rooms remembered in `data_dir` (none when there is no file; an unreadable file is an
/// error naming it, rather than rooms silently forgotten).
pub fn load(data_dir: &Path) -> anyhow::Result<Vec<RoomConfig>> {
    let path = data_dir.join(ROOMS_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: not a list of rooms: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// Adds `room` to the file (written whole to a temporary file, then renamed into place).
pub fn remember(data_dir: &Path, room: &RoomConfig) -> anyhow::Result<()> {
    let mut rooms = load(data_dir)?;
    if rooms.iter().any(|r| r.id == room.id) {
        return Ok(());
    }
    rooms.push(room.clone());
    let tmp = data_dir.join(format!("{ROOMS_FILE}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&rooms)?)?;
    std::fs::rename(&tmp, data_dir.join(ROOMS_FILE))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_remembered_once_and_a_broken_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_empty());
        let room = RoomConfig {
            id: fieldmesh_actors::model::RoomId::new("ward-2").unwrap(),
            name: "Ward 2".into(),
        };
        remember(dir.path(), &room).unwrap();
        remember(dir.path(), &room).unwrap();
        assert_eq!(load(dir.path()).unwrap(), vec![room]);
        std::fs::write(dir.path().join(ROOMS_FILE), "{").unwrap();
        assert!(
            load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("rooms.json")
        );
    }
}
