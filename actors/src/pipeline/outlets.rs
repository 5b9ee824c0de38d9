//! The pipeline's last edge: drafts go to the store, and the stage waits for the commit,
//! so the store's speed paces the whole pipeline.

use super::link::{Outlet, PushError};
use crate::model::EventDraft;
use crate::store::StoreClient;

/// Sends event drafts to the store and waits until they are durable.
#[derive(Clone)]
pub struct StoreOutlet {
    client: StoreClient,
}

impl StoreOutlet {
    /// An outlet into the store behind `client`.
    pub fn new(client: StoreClient) -> Self {
        Self { client }
    }
}

impl Outlet<Vec<EventDraft>> for StoreOutlet {
    async fn push(&self, drafts: Vec<EventDraft>) -> Result<(), PushError> {
        if drafts.is_empty() {
            return Ok(());
        }
        self.client
            .append_local(drafts)
            .await
            .map(|_| ())
            .map_err(|e| PushError::Rejected(e.to_string()))
    }
}
