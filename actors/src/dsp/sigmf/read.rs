//! Reading SigMF: metadata and data bytes to an [`IqRecording`], and the file entry point
//! that takes a `.sigmf-meta`, a `.sigmf-data` (each with its partner beside it) or a `.sigmf`.

use std::path::Path;

use super::archive::read_archive_bytes;
use super::datetime::parse_datetime;
use super::meta::{SigmfMeta, emission_from_annotation};
use super::{ARCHIVE_EXT, DATA_EXT, META_EXT, SigmfDatatype, SigmfError};
use crate::dsp::{Complex32, IqRecording};

/// Decodes a recording from its `.sigmf-meta` JSON and `.sigmf-data` bytes.
///
/// Requires `core:datatype` (`ci16_le` or `cf32_le`) and a positive `core:sample_rate`;
/// single-channel data without header or trailing bytes. The first capture gives
/// `center_freq_hz` (`core:frequency`) and `start_us` (`core:datetime`, `None` before 1970);
/// annotations become emissions (see [`SigmfMeta::from_recording`] for the mapping).
/// The data must be a whole number of samples and reach every capture start and annotation
/// end; other keys and namespaces are ignored.
pub fn read_meta_and_data(meta_json: &[u8], data: &[u8]) -> Result<IqRecording, SigmfError> {
    let meta: SigmfMeta = serde_json::from_slice(meta_json)?;
    let (datatype, sample_rate_hz) = check_global(&meta)?;
    for capture in &meta.captures {
        if capture.header_bytes.is_some_and(|n| n > 0) {
            return Err(SigmfError::Unsupported(
                "captures with core:header_bytes".into(),
            ));
        }
    }
    let samples = decode_samples(data, datatype)?;
    let total = samples.len() as u64;
    check_reach(&meta, total)?;

    let first = meta.captures.first();
    let center_freq_hz = first.and_then(|c| c.frequency);
    let start_us = match first {
        Some(capture) => capture_start_us(capture, sample_rate_hz)?,
        None => None,
    };
    let center = center_freq_hz.unwrap_or(0.0);
    let annotations = meta
        .annotations
        .iter()
        .map(|a| emission_from_annotation(a, sample_rate_hz, center, total))
        .collect();
    Ok(IqRecording {
        sample_rate_hz,
        center_freq_hz,
        start_us,
        samples,
        annotations,
    })
}

/// Reads a recording from a `.sigmf-meta` or `.sigmf-data` file (the other file of the
/// pair must sit beside it) or from a `.sigmf` archive. Errors name the file at fault.
pub fn read_recording(path: &Path) -> Result<IqRecording, SigmfError> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let is = |wanted: &str| ext.eq_ignore_ascii_case(wanted);
    if is(ARCHIVE_EXT) {
        let bytes = std::fs::read(path).map_err(|e| SigmfError::io(path, e))?;
        return read_archive_bytes(&bytes).map_err(|e| e.in_file(path));
    }
    let (meta_path, data_path) = if is(META_EXT) {
        (path.to_path_buf(), path.with_extension(DATA_EXT))
    } else if is(DATA_EXT) {
        (path.with_extension(META_EXT), path.to_path_buf())
    } else {
        return Err(SigmfError::BadPath {
            path: path.display().to_string(),
            expected: "a .sigmf-meta, .sigmf-data or .sigmf file",
        });
    };
    let meta = read_file(&meta_path, path)?;
    let data = read_file(&data_path, path)?;
    read_meta_and_data(&meta, &data).map_err(|e| blame_pair_file(e, &meta_path, &data_path))
}

/// Names the file at fault: the data file for length errors, the metadata otherwise.
pub(crate) fn blame_pair_file(e: SigmfError, meta_path: &Path, data_path: &Path) -> SigmfError {
    match e {
        SigmfError::TruncatedData { .. } | SigmfError::DataTooShort { .. } => e.in_file(data_path),
        e => e.in_file(meta_path),
    }
}

/// Reads `file`, one of the pair `asked` belongs to; says so when `asked`'s partner is missing.
fn read_file(file: &Path, asked: &Path) -> Result<Vec<u8>, SigmfError> {
    std::fs::read(file).map_err(|e| {
        if file != asked && e.kind() == std::io::ErrorKind::NotFound {
            SigmfError::MissingPartner {
                path: asked.display().to_string(),
                partner: file.display().to_string(),
            }
        } else {
            SigmfError::io(file, e)
        }
    })
}

/// The datatype and sample rate, after refusing what this reader does not support.
fn check_global(meta: &SigmfMeta) -> Result<(SigmfDatatype, f64), SigmfError> {
    let global = &meta.global;
    let datatype = global
        .datatype
        .as_deref()
        .ok_or(SigmfError::MissingKey("global.core:datatype"))?;
    let datatype = SigmfDatatype::parse(datatype)?;
    let sample_rate = global
        .sample_rate
        .ok_or(SigmfError::MissingKey("global.core:sample_rate"))?;
    if !(sample_rate.is_finite() && sample_rate > 0.0) {
        return Err(SigmfError::InvalidValue {
            key: "global.core:sample_rate",
            value: sample_rate.to_string(),
        });
    }
    if let Some(n) = global.num_channels.filter(|&n| n != 1) {
        return Err(SigmfError::Unsupported(format!(
            "{n} channels (only single-channel recordings are read)"
        )));
    }
    if global.metadata_only == Some(true) {
        return Err(SigmfError::Unsupported("metadata-only recording".into()));
    }
    if global.trailing_bytes.is_some_and(|n| n > 0) {
        return Err(SigmfError::Unsupported("core:trailing_bytes".into()));
    }
    Ok((datatype, sample_rate))
}

/// Refuses data that ends before a capture starts or an annotation ends.
fn check_reach(meta: &SigmfMeta, total: u64) -> Result<(), SigmfError> {
    let captures = meta.captures.iter().map(|c| ("capture", c.sample_start));
    let annotations = meta.annotations.iter().map(|a| {
        let end = a.sample_start.saturating_add(a.sample_count.unwrap_or(0));
        ("annotation", end)
    });
    match captures.chain(annotations).find(|&(_, end)| end > total) {
        Some((what, needed)) => Err(SigmfError::DataTooShort {
            samples: total,
            needed,
            what,
        }),
        None => Ok(()),
    }
}

/// Time of sample 0 from a capture's `core:datetime` (which dates its own first sample).
fn capture_start_us(
    capture: &super::SigmfCapture,
    sample_rate_hz: f64,
) -> Result<Option<u64>, SigmfError> {
    let Some(text) = capture.datetime.as_deref() else {
        return Ok(None);
    };
    let at = parse_datetime(text).map_err(|()| SigmfError::InvalidValue {
        key: "captures[0].core:datetime",
        value: text.to_string(),
    })?;
    let offset_us = (capture.sample_start as f64 / sample_rate_hz * 1e6).round() as u64;
    Ok(at.and_then(|us| us.checked_sub(offset_us)))
}

/// Decodes interleaved little-endian I/Q of `datatype` (i16 scaled to full scale 1.0).
pub(crate) fn decode_samples(
    data: &[u8],
    datatype: SigmfDatatype,
) -> Result<Vec<Complex32>, SigmfError> {
    let truncated = || SigmfError::TruncatedData {
        bytes: data.len(),
        sample_size: datatype.sample_size(),
    };
    match datatype {
        SigmfDatatype::Ci16Le => {
            const SCALE: f32 = 1.0 / 32768.0;
            let (pairs, rest) = data.as_chunks::<4>();
            if !rest.is_empty() {
                return Err(truncated());
            }
            let q = |lo: u8, hi: u8| f32::from(i16::from_le_bytes([lo, hi])) * SCALE;
            Ok(pairs
                .iter()
                .map(|b| Complex32::new(q(b[0], b[1]), q(b[2], b[3])))
                .collect())
        }
        SigmfDatatype::Cf32Le => {
            let (pairs, rest) = data.as_chunks::<8>();
            if !rest.is_empty() {
                return Err(truncated());
            }
            Ok(pairs
                .iter()
                .map(|b| {
                    Complex32::new(
                        f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                        f32::from_le_bytes([b[4], b[5], b[6], b[7]]),
                    )
                })
                .collect())
        }
    }
}
