//! The `.sigmf-meta` document: serde types for the `core:` keys used here (other keys are
//! kept in `extra`), and the mapping between SigMF annotations and [`Emission`]s.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::datetime::format_datetime;
use super::{SIGMF_VERSION, SigmfDatatype, SigmfError};
use crate::dsp::{Emission, IqRecording};

/// Written as `core:recorder`.
const RECORDER: &str = "fieldmesh";
/// Prefix of the SNR kept in `core:comment`.
const SNR_PREFIX: &str = "snr_db=";

/// A whole `.sigmf-meta` document.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SigmfMeta {
    /// Recording-wide fields.
    pub global: SigmfGlobal,
    /// Capture segments, by increasing `core:sample_start`.
    #[serde(default)]
    pub captures: Vec<SigmfCapture>,
    /// Annotations, by increasing `core:sample_start`.
    #[serde(default)]
    pub annotations: Vec<SigmfAnnotation>,
    /// Other top-level keys, kept as found.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The `global` object.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SigmfGlobal {
    /// `core:datatype`, e.g. `ci16_le`.
    #[serde(
        rename = "core:datatype",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub datatype: Option<String>,
    /// `core:sample_rate`, samples per second.
    #[serde(
        rename = "core:sample_rate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sample_rate: Option<f64>,
    /// `core:version` of the SigMF specification.
    #[serde(
        rename = "core:version",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    /// `core:num_channels` (1 when absent; only 1 is supported).
    #[serde(
        rename = "core:num_channels",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub num_channels: Option<u64>,
    /// `core:description`.
    #[serde(
        rename = "core:description",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub description: Option<String>,
    /// `core:author`.
    #[serde(
        rename = "core:author",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub author: Option<String>,
    /// `core:recorder`.
    #[serde(
        rename = "core:recorder",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub recorder: Option<String>,
    /// `core:metadata_only` (true is not supported: there are no samples to read).
    #[serde(
        rename = "core:metadata_only",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata_only: Option<bool>,
    /// `core:trailing_bytes` (only 0 is supported).
    #[serde(
        rename = "core:trailing_bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub trailing_bytes: Option<u64>,
    /// Other keys (`core:` ones not listed, and other namespaces), kept as found.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `captures`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SigmfCapture {
    /// `core:sample_start`: first sample of the segment.
    #[serde(rename = "core:sample_start")]
    pub sample_start: u64,
    /// `core:frequency`: RF center frequency, Hz.
    #[serde(
        rename = "core:frequency",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub frequency: Option<f64>,
    /// `core:datetime`: ISO-8601 UTC time of the segment's first sample.
    #[serde(
        rename = "core:datetime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub datetime: Option<String>,
    /// `core:header_bytes` (only 0 is supported).
    #[serde(
        rename = "core:header_bytes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub header_bytes: Option<u64>,
    /// Other keys, kept as found.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `annotations`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SigmfAnnotation {
    /// `core:sample_start`: first annotated sample.
    #[serde(rename = "core:sample_start")]
    pub sample_start: u64,
    /// `core:sample_count`: annotated samples (to the end of the data when absent).
    #[serde(
        rename = "core:sample_count",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub sample_count: Option<u64>,
    /// `core:freq_lower_edge`: absolute Hz.
    #[serde(
        rename = "core:freq_lower_edge",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub freq_lower_edge: Option<f64>,
    /// `core:freq_upper_edge`: absolute Hz.
    #[serde(
        rename = "core:freq_upper_edge",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub freq_upper_edge: Option<f64>,
    /// `core:label`.
    #[serde(
        rename = "core:label",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub label: Option<String>,
    /// `core:comment` (carries `snr_db=<value>` for emissions with a known SNR).
    #[serde(
        rename = "core:comment",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub comment: Option<String>,
    /// Other keys, kept as found.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SigmfMeta {
    /// The metadata describing `rec` stored as `datatype`: one capture at sample 0 (with
    /// `core:frequency` and `core:datetime` when known) and one annotation per emission,
    /// sorted by start: times rounded to whole samples and clipped to the recording,
    /// baseband edges made absolute with the center frequency (0 when unknown), the SNR
    /// as `snr_db=<value>` in `core:comment`. Fails on values SigMF cannot hold
    /// (non-finite, sample rate not positive).
    pub fn from_recording(rec: &IqRecording, datatype: SigmfDatatype) -> Result<Self, SigmfError> {
        let fs = rec.sample_rate_hz;
        if !(fs.is_finite() && fs > 0.0) {
            return Err(invalid(format!(
                "sample rate {fs} Hz is not positive and finite"
            )));
        }
        if let Some(f) = rec.center_freq_hz.filter(|f| !f.is_finite()) {
            return Err(invalid(format!("center frequency {f} Hz is not finite")));
        }
        let center = rec.center_freq_hz.unwrap_or(0.0);
        let total = rec.samples.len() as u64;
        let mut annotations = rec
            .annotations
            .iter()
            .map(|e| annotation_from_emission(e, fs, center, total))
            .collect::<Result<Vec<_>, _>>()?;
        annotations.sort_by_key(|a| a.sample_start);
        Ok(SigmfMeta {
            global: SigmfGlobal {
                datatype: Some(datatype.as_str().to_string()),
                sample_rate: Some(fs),
                version: Some(SIGMF_VERSION.to_string()),
                recorder: Some(RECORDER.to_string()),
                ..Default::default()
            },
            captures: vec![SigmfCapture {
                sample_start: 0,
                frequency: rec.center_freq_hz,
                datetime: rec.start_us.map(format_datetime),
                ..Default::default()
            }],
            annotations,
            extra: Map::new(),
        })
    }
}

fn invalid(what: String) -> SigmfError {
    SigmfError::InvalidRecording(what)
}

/// An emission as an annotation over `total_samples` samples: times rounded to whole
/// samples and clipped to the recording, baseband edges made absolute with `center_hz`.
fn annotation_from_emission(
    e: &Emission,
    sample_rate_hz: f64,
    center_hz: f64,
    total_samples: u64,
) -> Result<SigmfAnnotation, SigmfError> {
    let fields = [
        ("start", e.start_s),
        ("stop", e.stop_s),
        ("lower edge", e.freq_lo_hz),
        ("upper edge", e.freq_hi_hz),
        ("snr", e.snr_db.unwrap_or(0.0)),
    ];
    if let Some((name, value)) = fields.iter().find(|(_, v)| !v.is_finite()) {
        return Err(invalid(format!(
            "emission {:?} has a non-finite {name} ({value})",
            e.label
        )));
    }
    // Float-to-int casts saturate (negative times become 0), then clip to the recording.
    let start = ((e.start_s * sample_rate_hz).round() as u64).min(total_samples);
    let stop = ((e.stop_s * sample_rate_hz).round() as u64).clamp(start, total_samples);
    Ok(SigmfAnnotation {
        sample_start: start,
        sample_count: Some(stop - start),
        freq_lower_edge: Some(center_hz + e.freq_lo_hz),
        freq_upper_edge: Some(center_hz + e.freq_hi_hz),
        label: Some(e.label.clone()).filter(|l| !l.is_empty()),
        comment: e.snr_db.map(|snr| format!("{SNR_PREFIX}{snr}")),
        extra: Map::new(),
    })
}

/// An annotation as an emission over a recording of `total_samples` samples: a missing
/// count runs to the end, missing edges default to the band edges (±fs/2).
pub(crate) fn emission_from_annotation(
    a: &SigmfAnnotation,
    sample_rate_hz: f64,
    center_hz: f64,
    total_samples: u64,
) -> Emission {
    let count = a
        .sample_count
        .unwrap_or(total_samples.saturating_sub(a.sample_start));
    let stop = a.sample_start.saturating_add(count);
    Emission {
        start_s: a.sample_start as f64 / sample_rate_hz,
        stop_s: stop as f64 / sample_rate_hz,
        freq_lo_hz: a
            .freq_lower_edge
            .map_or(-sample_rate_hz / 2.0, |f| f - center_hz),
        freq_hi_hz: a
            .freq_upper_edge
            .map_or(sample_rate_hz / 2.0, |f| f - center_hz),
        label: a.label.clone().unwrap_or_default(),
        snr_db: a.comment.as_deref().and_then(snr_from_comment),
    }
}

/// The `snr_db=<value>` token of a comment (tokens split on whitespace, `,` and `;`).
fn snr_from_comment(comment: &str) -> Option<f64> {
    comment
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .find_map(|token| token.strip_prefix(SNR_PREFIX)?.parse::<f64>().ok())
        .filter(|snr| snr.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snr_is_found_in_comments() {
        assert_eq!(snr_from_comment("snr_db=12.5"), Some(12.5));
        assert_eq!(snr_from_comment("burst; snr_db=-3 seen twice"), Some(-3.0));
        assert_eq!(snr_from_comment("snr_db=loud"), None);
        assert_eq!(snr_from_comment("snr_db=NaN"), None);
        assert_eq!(snr_from_comment("no snr here"), None);
    }

    #[test]
    fn unknown_keys_are_kept() {
        let json = r#"{"global":{"core:datatype":"cf32_le","acme:gain":3,"core:offset":0},
            "captures":[{"core:sample_start":0,"acme:antenna":"A"}],
            "annotations":[],"acme:top":true}"#;
        let meta: SigmfMeta = serde_json::from_str(json).unwrap();
        assert_eq!(meta.global.extra["acme:gain"], 3);
        assert_eq!(meta.captures[0].extra["acme:antenna"], "A");
        assert_eq!(meta.extra["acme:top"], true);
        let again: SigmfMeta =
            serde_json::from_str(&serde_json::to_string(&meta).unwrap()).unwrap();
        assert_eq!(again, meta);
    }

    #[test]
    fn emission_maps_to_absolute_edges_and_whole_samples() {
        let e = Emission {
            start_s: 0.001,
            stop_s: 0.0025,
            freq_lo_hz: -5_000.0,
            freq_hi_hz: 20_000.0,
            label: "lfm".into(),
            snr_db: Some(9.5),
        };
        let a = annotation_from_emission(&e, 1e6, 2.4e9, 4000).unwrap();
        assert_eq!(
            annotation_from_emission(&e, 1e6, 0.0, 2000)
                .unwrap()
                .sample_count,
            Some(1000)
        );
        assert_eq!((a.sample_start, a.sample_count), (1000, Some(1500)));
        assert_eq!(a.freq_lower_edge, Some(2.4e9 - 5_000.0));
        assert_eq!(a.freq_upper_edge, Some(2.4e9 + 20_000.0));
        assert_eq!(a.comment.as_deref(), Some("snr_db=9.5"));
        assert_eq!(emission_from_annotation(&a, 1e6, 2.4e9, 4000), e);
    }

    #[test]
    fn bare_annotation_covers_the_rest_of_the_band_and_recording() {
        let a = SigmfAnnotation {
            sample_start: 100,
            ..Default::default()
        };
        let e = emission_from_annotation(&a, 1000.0, 5e6, 400);
        assert_eq!((e.start_s, e.stop_s), (0.1, 0.4));
        assert_eq!((e.freq_lo_hz, e.freq_hi_hz), (-500.0, 500.0));
        assert_eq!((e.label.as_str(), e.snr_db), ("", None));
    }

    #[test]
    fn non_finite_recordings_are_refused() {
        let rec = IqRecording {
            sample_rate_hz: 0.0,
            ..Default::default()
        };
        let err = SigmfMeta::from_recording(&rec, SigmfDatatype::Cf32Le).unwrap_err();
        assert!(err.to_string().contains("sample rate 0 Hz"), "{err}");
        let rec = IqRecording {
            sample_rate_hz: 1e6,
            annotations: vec![Emission {
                start_s: 0.0,
                stop_s: f64::INFINITY,
                freq_lo_hz: 0.0,
                freq_hi_hz: 1.0,
                label: "cw".into(),
                snr_db: None,
            }],
            ..Default::default()
        };
        let err = SigmfMeta::from_recording(&rec, SigmfDatatype::Cf32Le).unwrap_err();
        assert!(err.to_string().contains("non-finite stop"), "{err}");
    }
}
