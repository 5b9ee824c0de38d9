//! `fieldmesh events`: reads a store directly, or — when a node holds it (redb allows one
//! process per file) — asks that node's HTTP API, found through `node.json`.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context;
use fieldmesh_actors::metrics::NodeMetrics;
use fieldmesh_actors::store::{EventQuery, MAX_QUERY_LIMIT, Store, StoreConfig, StoreError};
use fieldmesh_ui::EventView;

use crate::cli::EventsArgs;
use crate::identity;

/// A usage error (exit code 2) rather than a failure.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn query_of(args: &EventsArgs) -> Result<EventQuery, UsageError> {
    let since_us = match &args.since {
        Some(s) => {
            let t = humantime::parse_rfc3339_weak(s)
                .map_err(|e| UsageError(format!("--since {s:?}: {e}")))?;
            Some(
                t.duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_micros() as u64),
            )
        }
        None => None,
    };
    if args.limit > MAX_QUERY_LIMIT {
        return Err(UsageError(format!(
            "--limit must be at most {MAX_QUERY_LIMIT}"
        )));
    }
    EventQuery {
        since_us,
        limit: args.limit,
        ..EventQuery::default()
    }
    .with_text_filters(
        args.kind.as_deref(),
        args.sensor.as_deref(),
        args.origin.as_deref(),
    )
    .map_err(|e| UsageError(e.to_string()))
}

/// Runs the command.
pub async fn run(args: EventsArgs) -> anyhow::Result<()> {
    let query = query_of(&args)?;
    let dir = &args.data_dir;
    if !dir.join("store.redb").exists() {
        return Err(UsageError(format!("no fieldmesh store in {}", dir.display())).into());
    }
    let id = identity::existing_id(dir)?;
    let views = match Store::open(
        dir,
        id,
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    ) {
        Ok(store) => {
            let s = store.clone();
            let events = tokio::task::spawn_blocking(move || s.query(&query)).await??;
            store.close().await;
            events.iter().map(EventView::from).collect()
        }
        Err(StoreError::Locked(_)) => ask_running_node(dir, &args).await?,
        Err(e) => return Err(e).context("opening the store"),
    };
    print(&views, args.json)
}

async fn ask_running_node(
    dir: &std::path::Path,
    args: &EventsArgs,
) -> anyhow::Result<Vec<EventView>> {
    let client = crate::node_client::NodeClient::for_dir(dir, Duration::from_secs(30))?;
    let mut url = format!("/api/v1/events?limit={}", args.limit);
    let mut param = |k: &str, v: &str| {
        url.push_str(&format!("&{k}={}", encode(v)));
    };
    let q = query_of(args)?;
    if let Some(k) = q.kind {
        param("kind", k.as_str());
    }
    if let Some(s) = &q.sensor {
        param("sensor", s.as_str());
    }
    if let Some(o) = &q.origin {
        param("origin", &o.to_hex());
    }
    if let Some(s) = q.since_us {
        param("since_us", &s.to_string());
    }
    tokio::task::spawn_blocking(move || {
        let mut resp = client
            .get(&url)
            .call()
            .with_context(|| format!("asking the running node at {}", client.base()))?;
        let body = crate::node_client::body_of(&mut resp, "the events query")?;
        Ok(serde_json::from_str::<Vec<EventView>>(&body)?)
    })
    .await?
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn print(views: &[EventView], json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for v in views {
        if json {
            serde_json::to_writer(&mut out, v)?;
            writeln!(out)?;
        } else {
            let when =
                humantime::format_rfc3339_micros(UNIX_EPOCH + Duration::from_micros(v.ts_us));
            let mut payload = v.payload.to_string();
            if payload.len() > 100 {
                payload.truncate(payload.floor_char_boundary(100));
                payload.push('…');
            }
            writeln!(
                out,
                "{when}  {}#{:<6} {:<22} {:<10} {payload}",
                &v.origin[..8],
                v.seq,
                v.kind,
                v.sensor.as_deref().unwrap_or("-")
            )?;
        }
    }
    Ok(())
}
