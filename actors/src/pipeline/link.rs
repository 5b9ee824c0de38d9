//! Bounded edges between stages. ractor mailboxes are unbounded, so every message between
//! stages carries a [`Credit`] from a fixed pool: a slow stage runs its producer out of
//! credits, and the producer then waits (`block`) or drops and counts (`drop`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ractor::Message;
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::metrics::NodeMetrics;
use crate::supervision::Slot;

/// What a producer does when its consumer is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Overflow {
    /// Wait for room: the slow stage slows its producer.
    #[default]
    Block,
    /// Drop the message, count it and log it.
    Drop,
}

/// A slot in a consumer's bounded queue; released when the consumer has handled the message.
#[derive(Debug)]
pub struct Credit(#[allow(dead_code)] OwnedSemaphorePermit);

/// What a stage actor receives.
pub enum StageMsg<I> {
    /// An input and the credit it holds in this stage's queue.
    Input(I, Credit),
    /// Time passed (stages that asked for ticks).
    Tick,
    /// Fault injection for tests and chaos runs: panic inside `handle`.
    Crash(String),
}

impl<I: Send + 'static> Message for StageMsg<I> {}

/// A push could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// Dropped under the `drop` overflow policy.
    #[error("dropped: {0} is full")]
    Full(String),
    /// The consumer is not running (stopped, or restarting for longer than the wait).
    #[error("{0} is unavailable")]
    Unavailable(String),
    /// The sink refused the item.
    #[error("{0}")]
    Rejected(String),
}

/// Where a stage sends its outputs.
pub trait Outlet<T>: Clone + Send + Sync + 'static {
    /// Delivers one output; may wait for room.
    fn push(&self, item: T) -> impl Future<Output = Result<(), PushError>> + Send;
}

/// A bounded edge into a stage actor (whichever incarnation runs now).
pub struct Link<T: Send + 'static> {
    name: Arc<str>,
    slot: Slot<StageMsg<T>>,
    credits: Arc<Semaphore>,
    overflow: Overflow,
    pub(super) wait: Duration,
    metrics: Arc<NodeMetrics>,
}

impl<T: Send + 'static> Clone for Link<T> {
    fn clone(&self) -> Self {
        Self {
            name: self.name.clone(),
            slot: self.slot.clone(),
            credits: self.credits.clone(),
            overflow: self.overflow,
            wait: self.wait,
            metrics: self.metrics.clone(),
        }
    }
}

impl<T: Send + 'static> Link<T> {
    /// An edge of `capacity` messages into the stage whose actor is kept in `slot`.
    pub fn new(
        name: &str,
        slot: Slot<StageMsg<T>>,
        capacity: usize,
        overflow: Overflow,
        metrics: Arc<NodeMetrics>,
    ) -> Self {
        let credits = Arc::new(Semaphore::new(capacity.max(1)));
        metrics.register_queue(name, &credits, capacity.max(1));
        Self {
            name: name.into(),
            slot,
            credits,
            overflow,
            wait: Duration::from_secs(5),
            metrics,
        }
    }
}

impl<T: Send + 'static> Outlet<T> for Link<T> {
    async fn push(&self, item: T) -> Result<(), PushError> {
        let permit = match self.overflow {
            Overflow::Block => self
                .credits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| PushError::Unavailable(self.name.to_string()))?,
            Overflow::Drop => match self.credits.clone().try_acquire_owned() {
                Ok(p) => p,
                Err(_) => {
                    self.metrics.record_drop();
                    tracing::debug!(stage = %self.name, "queue full; message dropped");
                    return Err(PushError::Full(self.name.to_string()));
                }
            },
        };
        let actor = self
            .slot
            .wait(self.wait)
            .await
            .map_err(|_| PushError::Unavailable(self.name.to_string()))?;
        actor
            .cast(StageMsg::Input(item, Credit(permit)))
            .map_err(|_| PushError::Unavailable(self.name.to_string()))
    }
}
