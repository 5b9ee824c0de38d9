//! The RF pipeline's last edge: evidence goes into the artifact store first, then the
//! events that point at it (`candidate_detected`, `artifact_available`) are appended.

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
        } = report;
        let mut drafts = Vec::with_capacity(2);
        if let Some(bytes) = evidence {
            let ptr = self
                .client
                .put_artifact(ArtifactKind::IqWindow, None, bytes)
                .await
                .map_err(|e| PushError::Rejected(e.to_string()))?;
            if let Payload::CandidateDetected(d) = &mut draft.body {
                d.evidence.iq_hash = Some(ptr.hash);
                d.artifact_ptrs.push(ptr.clone());
            }
            let announce = EventDraft {
                ts_us: draft.ts_us,
                sensor: draft.sensor.clone(),
                room: draft.room.clone(),
                body: Payload::ArtifactAvailable(ptr),
            };
            drafts.push(draft);
            drafts.push(announce);
        } else {
            drafts.push(draft);
        }
        self.client
            .append_local(drafts)
            .await
            .map(|_| ())
            .map_err(|e| PushError::Rejected(e.to_string()))
    }
}
