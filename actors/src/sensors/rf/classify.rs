//! The classify stage: each candidate's model input from its own IQ, the model's top-k
//! labels into its detection (the outlet then also emits `waveform_classified`).

use super::report::Report;
use crate::classify::{Classifier, InputBuilder};
use crate::model::Payload;
use crate::pipeline::Stage;

/// Stage 6 of the spectral path, between features and the store.
pub struct ClassifyStage {
    classifier: Classifier,
    builder: InputBuilder,
    sample_rate_hz: f64,
}

impl ClassifyStage {
    /// A stage running `classifier` on candidates sampled at `sample_rate_hz`.
    pub fn new(classifier: Classifier, sample_rate_hz: f64) -> Self {
        Self {
            classifier,
            builder: InputBuilder::new(),
            sample_rate_hz,
        }
    }
}

impl Stage for ClassifyStage {
    type In = Report;
    type Out = Report;

    fn on_input(&mut self, mut report: Report, _now_us: u64) -> Vec<Report> {
        let candidate = report.candidate.take();
        if let (Some(c), Payload::CandidateDetected(d)) = (candidate, &mut report.draft.body) {
            let input = self
                .builder
                .build(&c.iq, c.iq_start_s, self.sample_rate_hz, &c.tfbox);
            match self.classifier.top_k(&input) {
                Ok(classes) => d.classes = classes,
                // The detection still goes out, unlabelled; the reason is in the log.
                Err(e) => tracing::warn!(error = %e, "could not classify a candidate"),
            }
        }
        vec![report]
    }
}
