//! An SDR sensor with the waveform classifier: candidates leave with top-k classes, each
//! also as a `waveform_classified` event, and a crashed classify stage restarts.

use std::sync::Arc;
use std::time::Duration;

use super::sdr_tests::{replayed_scene, sdr_with};
use super::tests::{spec, start, wait_until};
use super::*;
use crate::classify::{Classifier, OnnxModel, expected_labels};
use crate::model::{EventKind, Payload};
use crate::store::EventQuery;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn candidates_are_classified_and_the_classify_stage_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (_rec, meta) = replayed_scene(dir.path());
    let mut s = spec(5);
    s.sensors = vec![sdr_with(crate::sensors::IqSourceConfig::Replay {
        path: meta,
        realtime: true,
        repeat: true,
    })];
    let model = OnnxModel::builtin().expect("the built-in model");
    s.classifier = Some(Classifier::new(Arc::new(model), 3));
    let node = start(dir.path(), s).await;
    let client = node.store_client();
    let of_kind = async |kind| {
        client
            .query(EventQuery {
                kind: Some(kind),
                limit: 10_000,
                ..Default::default()
            })
            .await
            .unwrap()
    };
    wait_until(
        "classified candidates",
        Duration::from_secs(30),
        async || of_kind(EventKind::WaveformClassified).await.len() >= 2,
    )
    .await;
    let labels = expected_labels();
    for e in of_kind(EventKind::CandidateDetected).await {
        let Payload::CandidateDetected(d) = &e.body else {
            panic!("not a detection")
        };
        assert_eq!(d.classes.len(), 3, "top-3 classes on every candidate");
        assert!(d.classes.iter().all(|c| labels.contains(&c.label)));
        assert!(d.classes[0].confidence >= d.classes[1].confidence);
    }
    let classified = of_kind(EventKind::WaveformClassified).await;
    let Payload::WaveformClassified(d) = &classified[0].body else {
        panic!("not a classification")
    };
    assert!(d.evidence.iq_hash.is_some(), "points at the IQ evidence");

    let before = classified.len();
    node.crash_stage(SensorId::new("sdr-1").unwrap(), StageName::Classify);
    wait_until("a restart", Duration::from_secs(5), async || {
        node.metrics().restarts() >= 1
    })
    .await;
    wait_until(
        "classifications after the restart",
        Duration::from_secs(30),
        async || of_kind(EventKind::WaveformClassified).await.len() > before,
    )
    .await;
    node.shutdown().await;
}
