//! SigMF recordings: reading and writing `.sigmf-meta`/`.sigmf-data` pairs and `.sigmf`
//! archives (datatypes `ci16_le` and `cf32_le`) to and from [`IqRecording`](super::IqRecording).

mod archive;
mod datetime;
mod meta;
mod read;
mod write;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod validator_tests;

pub use archive::{archive_bytes, read_archive_bytes, write_archive};
pub use meta::{SigmfAnnotation, SigmfCapture, SigmfGlobal, SigmfMeta};
pub use read::{read_meta_and_data, read_recording};
pub use write::{data_bytes, meta_json_bytes, write_pair};

/// Extension of a metadata file.
pub const META_EXT: &str = "sigmf-meta";
/// Extension of a dataset file.
pub const DATA_EXT: &str = "sigmf-data";
/// Extension of an archive.
pub const ARCHIVE_EXT: &str = "sigmf";
/// The SigMF version written in `core:version`.
pub const SIGMF_VERSION: &str = "1.2.0";

/// Sample formats this module reads and writes (complex, little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigmfDatatype {
    /// Interleaved i16 I/Q, full scale ±32768.
    Ci16Le,
    /// Interleaved f32 I/Q.
    Cf32Le,
}

impl SigmfDatatype {
    /// The `core:datatype` string.
    pub fn as_str(self) -> &'static str {
        match self {
            SigmfDatatype::Ci16Le => "ci16_le",
            SigmfDatatype::Cf32Le => "cf32_le",
        }
    }

    /// Parses a `core:datatype` string.
    pub fn parse(s: &str) -> Result<Self, SigmfError> {
        match s {
            "ci16_le" => Ok(SigmfDatatype::Ci16Le),
            "cf32_le" => Ok(SigmfDatatype::Cf32Le),
            other => Err(SigmfError::UnsupportedDatatype(other.to_string())),
        }
    }

    /// Bytes per complex sample.
    pub fn sample_size(self) -> usize {
        match self {
            SigmfDatatype::Ci16Le => 4,
            SigmfDatatype::Cf32Le => 8,
        }
    }
}

/// Why a SigMF recording could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigmfError {
    /// The metadata is not JSON, or a known key has the wrong type.
    #[error("metadata json does not parse: {0}")]
    MetaJson(#[from] serde_json::Error),
    /// A key this reader needs is absent.
    #[error("metadata lacks required key {0}")]
    MissingKey(&'static str),
    /// A key's value is out of range or malformed.
    #[error("metadata key {key} has an invalid value: {value}")]
    InvalidValue {
        /// The key.
        key: &'static str,
        /// The offending value.
        value: String,
    },
    /// A datatype other than `ci16_le` and `cf32_le`.
    #[error("datatype {0:?} is not supported (only ci16_le and cf32_le are)")]
    UnsupportedDatatype(String),
    /// A SigMF feature this reader does not implement.
    #[error("unsupported sigmf feature: {0}")]
    Unsupported(String),
    /// The data length is not a whole number of samples.
    #[error("data is {bytes} bytes, not a whole number of {sample_size}-byte samples")]
    TruncatedData {
        /// Data length.
        bytes: usize,
        /// Bytes per sample of the datatype.
        sample_size: usize,
    },
    /// The data ends before a capture or annotation the metadata describes.
    #[error("data holds {samples} samples but a metadata {what} reaches sample {needed}")]
    DataTooShort {
        /// Samples in the data.
        samples: u64,
        /// Sample index the metadata reaches.
        needed: u64,
        /// `"capture"` or `"annotation"`.
        what: &'static str,
    },
    /// The other file of a pair does not exist.
    #[error("{path}: partner file {partner} is missing")]
    MissingPartner {
        /// The file asked for.
        path: String,
        /// The file that should sit beside it.
        partner: String,
    },
    /// Bytes that are not a SigMF tar archive, or one without metadata or data.
    #[error("bad sigmf archive: {0}")]
    BadArchive(String),
    /// A path without the extension the operation needs.
    #[error("{path}: not a sigmf path (expected {expected})")]
    BadPath {
        /// The path.
        path: String,
        /// What was expected.
        expected: &'static str,
    },
    /// An archive name that is not a plain file name.
    #[error("archive name {0:?} is not a plain file name")]
    BadName(String),
    /// A recording that SigMF cannot represent (non-finite or non-positive values).
    #[error("recording cannot be written as sigmf: {0}")]
    InvalidRecording(String),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// An error about the contents of a named file (or archive member).
    #[error("{path}: {source}")]
    InFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        source: Box<SigmfError>,
    },
}

impl SigmfError {
    /// Ties the error to the file (or archive member) it is about; errors that already
    /// name a file on disk are returned as they are.
    pub(crate) fn in_file(self, path: &std::path::Path) -> SigmfError {
        match self {
            e @ (SigmfError::Io { .. }
            | SigmfError::MissingPartner { .. }
            | SigmfError::BadPath { .. }) => e,
            e => SigmfError::InFile {
                path: path.display().to_string(),
                source: Box::new(e),
            },
        }
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> SigmfError {
        SigmfError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
