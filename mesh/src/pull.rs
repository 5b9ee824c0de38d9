//! Pulling by policy: a node (typically a datacenter) fetches the IQ of other nodes'
//! candidates that clear its bar, as their `candidate_detected` events arrive.

use fieldmesh_actors::model::{ArtifactKind, ArtifactPtr, Detection, Event, NodeId, Payload};
use fieldmesh_actors::store::Store;
use serde::{Deserialize, Serialize};

use crate::artifacts::ArtifactShare;

/// Which candidates' IQ to pull.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PullPolicy {
    /// The top class's confidence must reach this (candidates not yet classified pass).
    pub min_confidence: f32,
    /// The estimated in-band SNR must reach this, dB.
    pub min_snr_db: f64,
}

impl Default for PullPolicy {
    fn default() -> Self {
        Self {
            min_confidence: 0.5,
            min_snr_db: 6.0,
        }
    }
}

impl PullPolicy {
    /// The IQ artifacts of `d` this policy wants.
    pub fn wants<'a>(&self, d: &'a Detection) -> Vec<&'a ArtifactPtr> {
        let confident = d
            .classes
            .first()
            .is_none_or(|c| c.confidence >= self.min_confidence);
        let strong = d
            .estimated_params
            .get("snr_db")
            .is_some_and(|s| *s >= self.min_snr_db);
        if !(confident && strong) {
            return Vec::new();
        }
        d.artifact_ptrs
            .iter()
            .filter(|p| p.kind == ArtifactKind::IqWindow)
            .collect()
    }

    /// What to pull for committed `events` (other nodes' candidates only).
    pub fn pulls(&self, events: &[Event], local: NodeId) -> Vec<ArtifactPtr> {
        events
            .iter()
            .filter(|e| e.origin != local)
            .filter_map(|e| match &e.body {
                Payload::CandidateDetected(d) => Some(self.wants(d)),
                _ => None,
            })
            .flatten()
            .cloned()
            .collect()
    }
}

/// Fetches, one at a time, the IQ `policy` wants from the candidates `store` commits.
pub(crate) async fn pull_by_policy(store: Store, share: ArtifactShare, policy: PullPolicy) {
    let local = store.local();
    let mut rx = store.subscribe();
    while let Some(events) = crate::next_commit(&mut rx, "candidates missed: not pulled").await {
        for ptr in policy.pulls(&events, local) {
            match share.fetch(ptr.hash).await {
                Ok(_) => tracing::debug!(artifact = %ptr.hash.short(), "pulled by policy"),
                Err(e) => tracing::warn!(artifact = %ptr.hash.short(), error = %e, "pull failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use fieldmesh_actors::model::{Algo, ArtifactHash, ClassScore, Evidence, Window};

    use super::*;

    fn detection(conf: Option<f32>, snr: f64) -> Detection {
        Detection {
            algo: Algo {
                name: "cfar-ms".into(),
                version: "1".into(),
                params_hash: "ab".into(),
            },
            feature_set_id: "fs1".into(),
            window: Window {
                duration_s: 0.1,
                center_freq_hz: 433.92e6,
                sample_rate_hz: 2.4e6,
            },
            evidence: Evidence {
                iq_hash: Some(ArtifactHash::of(b"iq")),
            },
            classes: conf
                .map(|c| {
                    vec![ClassScore {
                        label: "lfm".into(),
                        confidence: c,
                    }]
                })
                .unwrap_or_default(),
            estimated_params: BTreeMap::from([("snr_db".into(), snr)]),
            artifact_ptrs: vec![
                ArtifactPtr::for_bytes(ArtifactKind::IqWindow, b"iq"),
                ArtifactPtr::for_bytes(ArtifactKind::TfTile, b"tile"),
            ],
        }
    }

    #[test]
    fn wants_the_iq_of_strong_confident_or_unclassified_candidates_only() {
        let p = PullPolicy::default();
        assert_eq!(p.wants(&detection(Some(0.9), 10.0)).len(), 1);
        assert_eq!(p.wants(&detection(None, 10.0)).len(), 1);
        assert!(p.wants(&detection(Some(0.2), 10.0)).is_empty());
        assert!(p.wants(&detection(Some(0.9), 3.0)).is_empty());
        assert_eq!(
            p.wants(&detection(None, 10.0))[0].kind,
            ArtifactKind::IqWindow
        );
    }
}
