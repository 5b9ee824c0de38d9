//! The RF pipeline's last edge: evidence goes into the artifact store first, then the
//! events that point at it (`candidate_detected`, `waveform_classified` when the candidate
//! has classes, `artifact_available`) are appended in one commit.

use super::report::Report;
use crate::model::{ArtifactKind, EventDraft, Payload};
use crate::pipeline::{Outlet, PushError};
use crate::store::StoreClient;

/// Stores evidence, then events, and waits for both to be durable.
#[derive(Clone)]
pub struct DetectionOutlet {
    client: StoreClient,
}

impl DetectionOutlet {
    /// An outlet into the store behind `client`.
    pub fn new(client: StoreClient) -> Self {
        Self { client }
    }
}

impl Outlet<Report> for DetectionOutlet {
    async fn push(&self, report: Report) -> Result<(), PushError> {
        let Report {
            mut draft,
            evidence,
            tile,
            candidate: _,
        } = report;
        let mut announcements = Vec::new();
        for (kind, bytes) in [
            (ArtifactKind::IqWindow, evidence),
            (ArtifactKind::TfTile, tile),
        ] {
            let Some(bytes) = bytes else { continue };
            let ptr = self
                .client
                .put_artifact(kind, None, bytes)
                .await
                .map_err(|e| PushError::Rejected(e.to_string()))?;
            if let Payload::CandidateDetected(d) = &mut draft.body {
                if kind == ArtifactKind::IqWindow {
                    d.evidence.iq_hash = Some(ptr.hash);
                }
                d.artifact_ptrs.push(ptr.clone());
            }
            announcements.push(EventDraft {
                ts_us: draft.ts_us,
                sensor: draft.sensor.clone(),
                room: draft.room.clone(),
                body: Payload::ArtifactAvailable(ptr),
            });
        }
        let classified = match &draft.body {
            Payload::CandidateDetected(d) if !d.classes.is_empty() => Some(EventDraft {
                ts_us: draft.ts_us,
                sensor: draft.sensor.clone(),
                room: draft.room.clone(),
                body: Payload::WaveformClassified(d.clone()),
            }),
            _ => None,
        };
        let mut drafts = vec![draft];
        drafts.extend(classified);
        drafts.extend(announcements);
        self.client
            .append_local(drafts)
            .await
            .map(|_| ())
            .map_err(|e| PushError::Rejected(e.to_string()))
    }
}
