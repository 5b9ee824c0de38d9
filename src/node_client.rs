//! Talking to the node that runs on a data dir (CLI commands while the store is in use):
//! its address from `node.json`, and a short token minted from the node's own key, which
//! only someone who can read the data dir has.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use ureq::RequestBuilder;
use ureq::typestate::{WithBody, WithoutBody};

use crate::node::read_node_json;

/// How long a token minted for one CLI command lives.
const CLI_TOKEN_TTL: Duration = Duration::from_secs(300);

/// A token for the node of `dir`, minted from its key (`sub` names who asks).
pub fn token_for(dir: &Path, sub: &str, ttl: Duration) -> anyhow::Result<String> {
    let secret = crate::identity::secret_bytes(dir)?;
    fieldmesh_ui::auth::mint(&fieldmesh_ui::auth::token_secret(&secret), sub, ttl)
        .map_err(anyhow::Error::msg)
}

/// An HTTP client of the node running on a data dir.
pub struct NodeClient {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl NodeClient {
    /// The node running on `dir` (per its `node.json`); requests time out after `timeout`.
    pub fn for_dir(dir: &Path, timeout: Duration) -> anyhow::Result<Self> {
        let info = read_node_json(dir).ok_or_else(|| {
            anyhow!(
                "the store in {} is in use but no node.json says by whom",
                dir.display()
            )
        })?;
        Ok(Self {
            base: format!("http://{}", info.http_addr),
            token: token_for(dir, "cli", CLI_TOKEN_TTL)?,
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .build()
                .new_agent(),
        })
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn auth(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> RequestBuilder<WithoutBody> {
        self.agent
            .get(&format!("{}{path}", self.base))
            .header("authorization", &self.auth())
    }

    /// POST `path`.
    pub fn post(&self, path: &str) -> RequestBuilder<WithBody> {
        self.agent
            .post(&format!("{}{path}", self.base))
            .header("authorization", &self.auth())
    }

    /// DELETE `path`.
    pub fn delete(&self, path: &str) -> RequestBuilder<WithoutBody> {
        self.agent
            .delete(&format!("{}{path}", self.base))
            .header("authorization", &self.auth())
    }
}

/// The body of a successful answer, or an error carrying the node's own message.
pub fn body_of(resp: &mut ureq::http::Response<ureq::Body>, what: &str) -> anyhow::Result<String> {
    let status = resp.status();
    let body = resp
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading the node's answer to {what}"))?;
    if !status.is_success() {
        let msg = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or(body);
        bail!("the node answered {status} to {what}: {msg}");
    }
    Ok(body)
}
