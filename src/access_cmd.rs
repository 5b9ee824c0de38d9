//! `fieldmesh keys|users|token|login-link`: who may use a node. While the node runs they go
//! through its API (with a token minted from the node key); otherwise straight to its store.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use fieldmesh_actors::metrics::NodeMetrics;
use fieldmesh_actors::store::{Store, StoreConfig, StoreError};
use serde_json::json;

use crate::cli::{DataDirArgs, KeysArgs, KeysCommand, TokenArgs, UsersArgs, UsersCommand};
use crate::events_cmd::UsageError;
use crate::node_client::{NodeClient, body_of, token_for};

fn data_dir(d: Option<PathBuf>) -> Result<PathBuf, UsageError> {
    d.ok_or_else(|| UsageError("--data-dir is required".into()))
}

/// The node's store when no node runs on `dir`; `None` when one does.
fn open_idle(dir: &Path) -> anyhow::Result<Option<Store>> {
    let id = crate::identity::existing_id(dir).map_err(|e| UsageError(e.to_string()))?;
    match Store::open(
        dir,
        id,
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    ) {
        Ok(s) => Ok(Some(s)),
        Err(StoreError::Locked(_)) => Ok(None),
        Err(e) => Err(e).context("opening the store"),
    }
}

async fn with_node<T: Send + 'static>(
    dir: PathBuf,
    f: impl FnOnce(NodeClient) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    tokio::task::spawn_blocking(move || f(NodeClient::for_dir(&dir, Duration::from_secs(30))?))
        .await?
}

/// `fieldmesh keys …`
pub async fn keys(args: KeysArgs) -> anyhow::Result<()> {
    let dir = data_dir(args.data_dir)?;
    match open_idle(&dir)? {
        Some(store) => {
            let a = store.accounts().clone();
            let out = match args.command {
                KeysCommand::Create { device } => {
                    let (key, rec) = a
                        .create_key(&device)
                        .map_err(|e| UsageError(e.to_string()))?;
                    format!("{key}\n(id {}, for {})", rec.id, rec.device)
                }
                KeysCommand::Revoke { id } => match a.revoke_key(&id)? {
                    true => format!("revoked {id}"),
                    false => return Err(UsageError(format!("no key {id}")).into()),
                },
                KeysCommand::List => serde_json::to_string_pretty(&a.keys()?)?,
            };
            store.close().await;
            println!("{out}");
        }
        None => {
            let out = with_node(dir, move |c| match args.command {
                KeysCommand::Create { device } => {
                    let mut r = c
                        .post("/api/v1/keys")
                        .send_json(json!({ "device": device }))?;
                    let v: serde_json::Value =
                        serde_json::from_str(&body_of(&mut r, "keys create")?)?;
                    Ok(format!(
                        "{}\n(id {}, for {})",
                        v["key"].as_str().unwrap_or_default(),
                        v["id"].as_str().unwrap_or_default(),
                        v["device"].as_str().unwrap_or_default()
                    ))
                }
                KeysCommand::Revoke { id } => {
                    let mut r = c.delete(&format!("/api/v1/keys/{id}")).call()?;
                    body_of(&mut r, "keys revoke")?;
                    Ok(format!("revoked {id}"))
                }
                KeysCommand::List => {
                    let mut r = c.get("/api/v1/keys").call()?;
                    body_of(&mut r, "keys list")
                }
            })
            .await?;
            println!("{out}");
        }
    }
    Ok(())
}

/// `fieldmesh users add NAME` (password: first line of stdin).
pub async fn users(args: UsersArgs) -> anyhow::Result<()> {
    let dir = data_dir(args.data_dir)?;
    let UsersCommand::Add { name } = args.command;
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']).to_string();
    match open_idle(&dir)? {
        Some(store) => {
            let r = store.accounts().set_user(&name, &password);
            store.close().await;
            r.map_err(|e| UsageError(e.to_string()))?;
        }
        None => {
            with_node(dir, move |c| {
                let mut r = c
                    .post("/api/v1/users")
                    .send_json(json!({ "username": name, "password": password }))?;
                body_of(&mut r, "users add").map(|_| ())
            })
            .await?;
        }
    }
    println!("ok");
    Ok(())
}

/// `fieldmesh token`: a token for scripts.
pub fn token(args: TokenArgs) -> anyhow::Result<()> {
    if !(60..=7 * 86_400).contains(&args.ttl_s) {
        return Err(UsageError("--ttl-s must be in 60..=604800".into()).into());
    }
    let t = token_for(&args.data_dir, "cli", Duration::from_secs(args.ttl_s))
        .map_err(|e| UsageError(e.to_string()))?;
    println!("{t}");
    Ok(())
}

/// `fieldmesh login-link`: a one-time link to the running node's pages.
pub async fn login_link(args: DataDirArgs) -> anyhow::Result<()> {
    let link = with_node(args.data_dir, |c| {
        let mut r = c.post("/api/v1/login-codes").send_empty()?;
        let v: serde_json::Value = serde_json::from_str(&body_of(&mut r, "login-link")?)?;
        Ok(format!(
            "{}/login?code={}",
            c.base(),
            v["code"].as_str().unwrap_or_default()
        ))
    })
    .await?;
    println!("{link}");
    Ok(())
}
