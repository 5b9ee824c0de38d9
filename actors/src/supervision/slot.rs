//! A [`Slot`] holds the current `ActorRef` of a supervised child. The supervisor refills it
//! after every restart, so holders never keep talking to a dead actor.

use std::sync::Arc;
use std::time::Duration;

use ractor::{ActorRef, Message};
use tokio::sync::watch;

/// The current reference to a (restartable) actor.
pub struct Slot<M: Message> {
    tx: Arc<watch::Sender<Option<ActorRef<M>>>>,
}

impl<M: Message> Clone for Slot<M> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
        }
    }
}

impl<M: Message> Default for Slot<M> {
    fn default() -> Self {
        Self::new()
    }
}

/// The slot stayed empty for longer than the caller would wait.
#[derive(Debug, Clone, thiserror::Error)]
#[error("actor not available after {0:?} (stopped or restarting)")]
pub struct SlotEmpty(pub Duration);

impl<M: Message> Slot<M> {
    /// An empty slot.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(None)),
        }
    }

    /// Puts the running actor in.
    pub fn set(&self, actor: ActorRef<M>) {
        self.tx.send_replace(Some(actor));
    }

    /// Empties the slot (the actor stopped).
    pub fn clear(&self) {
        self.tx.send_replace(None);
    }

    /// The actor now, if one runs.
    pub fn current(&self) -> Option<ActorRef<M>> {
        self.tx.borrow().clone()
    }

    /// Waits up to `timeout` for an actor to be in the slot.
    pub async fn wait(&self, timeout: Duration) -> Result<ActorRef<M>, SlotEmpty> {
        if let Some(a) = self.current() {
            return Ok(a);
        }
        let mut rx = self.tx.subscribe();
        match tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await {
            Ok(Ok(v)) => v.clone().ok_or(SlotEmpty(timeout)),
            _ => Err(SlotEmpty(timeout)),
        }
    }
}
