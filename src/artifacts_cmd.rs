//! `fieldmesh artifacts get HASH --data-dir DIR --out FILE`: an artifact into a file —
//! from the node's own store, or fetched from the mesh by the node running on DIR.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use fieldmesh_actors::metrics::NodeMetrics;
use fieldmesh_actors::model::ArtifactHash;
use fieldmesh_actors::store::{Store, StoreConfig, StoreError};

use crate::cli::{ArtifactsArgs, ArtifactsCommand};
use crate::events_cmd::UsageError;
use crate::identity;

/// Runs `fieldmesh artifacts …`.
pub async fn run(args: ArtifactsArgs) -> anyhow::Result<()> {
    match args.command {
        ArtifactsCommand::Get {
            hash,
            data_dir,
            out,
        } => {
            let hash: ArtifactHash = hash
                .parse()
                .map_err(|e| UsageError(format!("artifact hash: {e}")))?;
            let bytes = get(&hash, &data_dir).await?;
            write_whole(&out, &bytes)?;
            println!(
                "{} ({} bytes) → {}",
                hash.to_hex(),
                bytes.len(),
                out.display()
            );
            Ok(())
        }
    }
}

async fn get(hash: &ArtifactHash, dir: &Path) -> anyhow::Result<Vec<u8>> {
    if !dir.join("store.redb").exists() {
        return Err(UsageError(format!("no fieldmesh store in {}", dir.display())).into());
    }
    let id = identity::existing_id(dir)?;
    match Store::open(
        dir,
        id,
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    ) {
        Ok(store) => {
            let (s, h) = (store.clone(), *hash);
            let got = tokio::task::spawn_blocking(move || s.artifacts().get(&h)).await?;
            store.close().await;
            match got {
                Ok((_, bytes)) => Ok(bytes),
                Err(StoreError::NotFound(_)) => bail!(
                    "artifact {} is not on this node, and no node runs on {} to fetch it \
                     from the mesh",
                    hash.short(),
                    dir.display()
                ),
                Err(e) => Err(e.into()),
            }
        }
        Err(StoreError::Locked(_)) => ask_running_node(hash, dir).await,
        Err(e) => Err(e).context("opening the store"),
    }
}

async fn ask_running_node(hash: &ArtifactHash, dir: &Path) -> anyhow::Result<Vec<u8>> {
    let client = crate::node_client::NodeClient::for_dir(dir, Duration::from_secs(300))?;
    let base = format!("/api/v1/artifacts/{}", hash.to_hex());
    let want = *hash;
    tokio::task::spawn_blocking(move || {
        let mut resp = client
            .post(&format!("{base}/fetch"))
            .send_empty()
            .with_context(|| format!("asking the running node at {}", client.base()))?;
        if !resp.status().is_success() {
            let body = resp.body_mut().read_to_string().unwrap_or_default();
            bail!("the node could not fetch it: {}", error_of(&body));
        }
        let mut resp = client.get(&base).call()?;
        let status = resp.status();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(8 * 1024 * 1024 * 1024)
            .read_to_vec()?;
        if !status.is_success() {
            bail!(
                "the node answered {status}: {}",
                error_of(&String::from_utf8_lossy(&bytes))
            );
        }
        if ArtifactHash::of(&bytes) != want {
            bail!("the bytes received do not hash to {}", want.short());
        }
        Ok(bytes)
    })
    .await?
}

fn error_of(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.trim().to_string())
}

/// Writes `bytes` to `path` whole or not at all.
fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
