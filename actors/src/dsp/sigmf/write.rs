//! Writing SigMF: samples to `.sigmf-data` bytes, a recording's metadata to `.sigmf-meta`
//! JSON, and both to a file pair on disk.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::meta::SigmfMeta;
use super::{ARCHIVE_EXT, DATA_EXT, META_EXT, SigmfDatatype, SigmfError};
use crate::dsp::{Complex32, IqRecording, cf32_to_cs16};

/// Samples as `.sigmf-data` bytes: interleaved little-endian I/Q of `datatype` (`ci16_le`
/// saturates outside ±1.0).
pub fn data_bytes(samples: &[Complex32], datatype: SigmfDatatype) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len() * datatype.sample_size());
    match datatype {
        SigmfDatatype::Ci16Le => {
            for v in cf32_to_cs16(samples) {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        SigmfDatatype::Cf32Le => {
            for s in samples {
                out.extend_from_slice(&s.re.to_le_bytes());
                out.extend_from_slice(&s.im.to_le_bytes());
            }
        }
    }
    out
}

/// The recording's `.sigmf-meta` JSON (pretty-printed), as [`SigmfMeta::from_recording`]
/// builds it.
pub fn meta_json_bytes(rec: &IqRecording, datatype: SigmfDatatype) -> Result<Vec<u8>, SigmfError> {
    let meta = SigmfMeta::from_recording(rec, datatype)?;
    let mut json = serde_json::to_vec_pretty(&meta)?;
    json.push(b'\n');
    Ok(json)
}

/// Writes `<base>.sigmf-data` then `<base>.sigmf-meta` and returns `(meta_path, data_path)`.
/// `base` has no extension (a trailing `.sigmf-meta`, `.sigmf-data` or `.sigmf` is dropped).
/// The metadata is checked before anything is written.
pub fn write_pair(
    base: &Path,
    rec: &IqRecording,
    datatype: SigmfDatatype,
) -> Result<(PathBuf, PathBuf), SigmfError> {
    let meta = meta_json_bytes(rec, datatype)?;
    let base = strip_sigmf_extension(base);
    let meta_path = with_suffix(&base, META_EXT);
    let data_path = with_suffix(&base, DATA_EXT);
    let data = data_bytes(&rec.samples, datatype);
    std::fs::write(&data_path, data).map_err(|e| SigmfError::io(&data_path, e))?;
    std::fs::write(&meta_path, meta).map_err(|e| SigmfError::io(&meta_path, e))?;
    Ok((meta_path, data_path))
}

/// `base` without a trailing SigMF extension.
fn strip_sigmf_extension(base: &Path) -> PathBuf {
    let ext = base.extension().and_then(|e| e.to_str()).unwrap_or("");
    let known = [META_EXT, DATA_EXT, ARCHIVE_EXT];
    if known.iter().any(|k| ext.eq_ignore_ascii_case(k)) {
        base.with_extension("")
    } else {
        base.to_path_buf()
    }
}

/// `base` + `.` + `ext`, keeping any dots already in the name.
fn with_suffix(base: &Path, ext: &str) -> PathBuf {
    let mut name = OsString::from(base.as_os_str());
    name.push(".");
    name.push(ext);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_keep_dots_and_drop_known_extensions() {
        let p = |s: &str| with_suffix(&strip_sigmf_extension(Path::new(s)), META_EXT);
        assert_eq!(p("/x/rec.2024"), PathBuf::from("/x/rec.2024.sigmf-meta"));
        assert_eq!(p("/x/rec.sigmf-data"), PathBuf::from("/x/rec.sigmf-meta"));
        assert_eq!(p("rec.sigmf"), PathBuf::from("rec.sigmf-meta"));
    }

    #[test]
    fn data_layout_is_interleaved_little_endian() {
        let s = [Complex32::new(0.5, -1.0)];
        assert_eq!(
            data_bytes(&s, SigmfDatatype::Ci16Le),
            vec![0x00, 0x40, 0x00, 0x80]
        );
        let f = data_bytes(&s, SigmfDatatype::Cf32Le);
        assert_eq!(f[..4], 0.5f32.to_le_bytes());
        assert_eq!(f[4..], (-1.0f32).to_le_bytes());
    }
}
