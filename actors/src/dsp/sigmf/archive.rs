//! SigMF archives: an uncompressed tar holding `<name>/<name>.sigmf-data` and
//! `<name>/<name>.sigmf-meta`, built and read in memory (for artifacts) or on disk.

use std::path::Path;

use super::read::{blame_pair_file, read_meta_and_data};
use super::write::{data_bytes, meta_json_bytes};
use super::{ARCHIVE_EXT, DATA_EXT, META_EXT, SigmfDatatype, SigmfError};
use crate::dsp::IqRecording;

/// The recording as `.sigmf` archive bytes: a `<name>/` directory holding
/// `<name>.sigmf-data` then `<name>.sigmf-meta`. Deterministic: the entries' mtime is the
/// recording's start (0 when unknown). `name` must be a plain file name.
pub fn archive_bytes(
    name: &str,
    rec: &IqRecording,
    datatype: SigmfDatatype,
) -> Result<Vec<u8>, SigmfError> {
    check_name(name)?;
    let meta = meta_json_bytes(rec, datatype)?;
    let data = data_bytes(&rec.samples, datatype);
    let mtime = rec.start_us.map_or(0, |us| us / 1_000_000);
    let build = || -> std::io::Result<Vec<u8>> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut dir = header(tar::EntryType::Directory, 0o755, 0, mtime);
        tar.append_data(&mut dir, format!("{name}/"), std::io::empty())?;
        for (ext, bytes) in [(DATA_EXT, &data), (META_EXT, &meta)] {
            let mut file = header(tar::EntryType::Regular, 0o644, bytes.len() as u64, mtime);
            tar.append_data(&mut file, format!("{name}/{name}.{ext}"), bytes.as_slice())?;
        }
        tar.into_inner()
    };
    build().map_err(|e| SigmfError::BadArchive(format!("cannot build archive {name:?}: {e}")))
}

/// Writes the recording as a `.sigmf` archive at `path` (which must end in `.sigmf`); the
/// members are named after the file stem.
pub fn write_archive(
    path: &Path,
    rec: &IqRecording,
    datatype: SigmfDatatype,
) -> Result<(), SigmfError> {
    let is_archive = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(ARCHIVE_EXT));
    let stem = path.file_stem().map(|s| s.to_string_lossy());
    let (true, Some(stem)) = (is_archive, stem) else {
        return Err(SigmfError::BadPath {
            path: path.display().to_string(),
            expected: "a .sigmf archive path",
        });
    };
    let bytes = archive_bytes(&stem, rec, datatype)?;
    std::fs::write(path, bytes).map_err(|e| SigmfError::io(path, e))
}

/// Reads a recording from `.sigmf` archive bytes: the first `.sigmf-meta` member and the
/// `.sigmf-data` member beside it (or the only data member). Errors about the contents
/// name the member.
pub fn read_archive_bytes(bytes: &[u8]) -> Result<IqRecording, SigmfError> {
    let bad = |e: std::io::Error| SigmfError::BadArchive(e.to_string());
    let mut archive = tar::Archive::new(bytes);
    // Each regular file's path and its bytes, sliced straight from the archive.
    let mut members: Vec<(String, &[u8])> = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let start = usize::try_from(entry.raw_file_position()).ok();
        let len = usize::try_from(entry.size()).ok();
        let content = start
            .zip(len)
            .and_then(|(start, len)| bytes.get(start..start.checked_add(len)?));
        let Some(content) = content else {
            return Err(SigmfError::BadArchive(format!(
                "member {path} is truncated"
            )));
        };
        members.push((path, content));
    }
    let has_ext = |path: &str, ext: &str| {
        Path::new(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case(ext))
    };
    let Some((meta_path, meta)) = members.iter().find(|(p, _)| has_ext(p, META_EXT)) else {
        return Err(SigmfError::BadArchive("no .sigmf-meta member".into()));
    };
    let partner = Path::new(meta_path).with_extension(DATA_EXT);
    let mut data_members = members.iter().filter(|(p, _)| has_ext(p, DATA_EXT));
    let only_data = match (data_members.next(), data_members.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    };
    let data = members
        .iter()
        .find(|(p, _)| Path::new(p) == partner)
        .or(only_data);
    let Some((data_path, data)) = data else {
        return Err(SigmfError::BadArchive(format!(
            "no data member for {meta_path}"
        )));
    };
    read_meta_and_data(meta, data)
        .map_err(|e| blame_pair_file(e, Path::new(meta_path), Path::new(data_path)))
}

/// A tar header for a member of the archive.
fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(mtime);
    header
}

/// Refuses names that are not a plain file name (SigMF's `core:dataset` character rules).
fn check_name(name: &str) -> Result<(), SigmfError> {
    let forbidden = |c: char| c.is_control() || "/\\:*?\"<>|".contains(c);
    if name.is_empty() || name == "." || name == ".." || name.chars().any(forbidden) {
        return Err(SigmfError::BadName(name.to_string()));
    }
    Ok(())
}
