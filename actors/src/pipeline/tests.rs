//! Bounded edges: a slow stage slows its producer (`block`) or makes it drop and count
//! (`drop`); queues never grow past their capacity.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ractor::Actor;

use super::*;
use crate::metrics::NodeMetrics;
use crate::supervision::Slot;

/// Passes inputs through.
struct Pass;
impl Stage for Pass {
    type In = u32;
    type Out = u32;
    fn on_input(&mut self, x: u32, _: u64) -> Vec<u32> {
        vec![x]
    }
}

/// An outlet that takes 20 ms per item and records what it got.
#[derive(Clone, Default)]
struct SlowSink(Arc<Mutex<Vec<u32>>>);
impl Outlet<u32> for SlowSink {
    async fn push(&self, x: u32) -> Result<(), PushError> {
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.0.lock().unwrap().push(x);
        Ok(())
    }
}

async fn slow_stage(
    overflow: Overflow,
    metrics: Arc<NodeMetrics>,
) -> (Link<u32>, SlowSink, ractor::ActorRef<StageMsg<u32>>) {
    let sink = SlowSink::default();
    let slot = Slot::new();
    let (actor, _) = Actor::spawn(
        None,
        StageActor::<Pass, SlowSink>::default(),
        StageArgs {
            name: "slow".into(),
            make: Arc::new(|| Pass),
            outlet: sink.clone(),
        },
    )
    .await
    .unwrap();
    slot.set(actor.clone());
    (Link::new("slow", slot, 2, overflow, metrics), sink, actor)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_policy_slows_the_producer_and_loses_nothing() {
    let metrics = Arc::new(NodeMetrics::default());
    let (link, sink, actor) = slow_stage(Overflow::Block, metrics.clone()).await;
    let t0 = std::time::Instant::now();
    for i in 0..10 {
        link.push(i).await.unwrap();
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(140),
        "producer was held back: {:?}",
        t0.elapsed()
    );
    actor
        .drain_and_wait(Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(*sink.0.lock().unwrap(), (0..10).collect::<Vec<_>>());
    assert_eq!(metrics.snapshot().dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_policy_drops_and_counts() {
    let metrics = Arc::new(NodeMetrics::default());
    let (link, sink, actor) = slow_stage(Overflow::Drop, metrics.clone()).await;
    let mut dropped = 0;
    for i in 0..10 {
        if let Err(PushError::Full(_)) = link.push(i).await {
            dropped += 1;
        }
    }
    assert!(
        dropped >= 7,
        "only the queue's room got through: dropped {dropped}"
    );
    actor
        .drain_and_wait(Some(Duration::from_secs(2)))
        .await
        .unwrap();
    assert_eq!(sink.0.lock().unwrap().len() + dropped, 10);
    assert_eq!(metrics.snapshot().dropped, dropped as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushing_to_a_missing_stage_is_an_error_not_a_hang() {
    let metrics = Arc::new(NodeMetrics::default());
    let mut link = Link::<u32>::new("gone", Slot::new(), 2, Overflow::Block, metrics);
    link.wait = Duration::from_millis(50);
    assert!(matches!(link.push(1).await, Err(PushError::Unavailable(_))));
}
