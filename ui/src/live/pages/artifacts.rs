//! The Artifacts page: artifacts held here and those announced by other nodes, newest first —
//! download one held here (SigMF for IQ windows) or fetch one from its peer on demand.

use std::collections::BTreeMap;

use fieldmesh_actors::model::{EventKind, Payload};
use fieldmesh_actors::store::{EventQuery, Order};
use minijinja::context;
use serde::Serialize;

use super::{RenderCtx, region};
use crate::live::regions::Region;

/// Rows listed.
const ROWS: usize = 100;

#[derive(Debug, Serialize)]
struct Row {
    hash: String,
    short: String,
    kind: String,
    media_type: String,
    size: String,
    origin: String,
    at_us: u64,
    here: bool,
}

fn size(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

pub(super) async fn regions(cx: &RenderCtx<'_>) -> Result<Vec<Region>, String> {
    let store = cx.state.artifacts.clone();
    let held = tokio::task::spawn_blocking(move || store.list())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let announced = cx
        .state
        .store
        .query(EventQuery {
            kind: Some(EventKind::ArtifactAvailable),
            limit: ROWS,
            order: Order::Newest,
            ..EventQuery::default()
        })
        .await
        .map_err(|e| e.to_string())?;
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    // kind → (bytes here, bytes elsewhere)
    let mut by_kind: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for r in &held {
        let kind = format!("{:?}", r.ptr.kind).to_lowercase();
        by_kind.entry(kind.clone()).or_default().0 += r.ptr.size;
        rows.insert(
            r.ptr.hash.to_hex(),
            Row {
                hash: r.ptr.hash.to_hex(),
                short: r.ptr.hash.to_hex()[..12].to_string(),
                kind,
                media_type: r.ptr.media_type.clone(),
                size: size(r.ptr.size),
                origin: r.origin.short(),
                at_us: r.stored_us,
                here: true,
            },
        );
    }
    for e in &announced {
        let Payload::ArtifactAvailable(ptr) = &e.body else {
            continue;
        };
        let hex = ptr.hash.to_hex();
        if rows.contains_key(&hex) {
            continue;
        }
        let kind = format!("{:?}", ptr.kind).to_lowercase();
        by_kind.entry(kind.clone()).or_default().1 += ptr.size;
        rows.insert(
            hex.clone(),
            Row {
                short: hex[..12].to_string(),
                hash: hex,
                kind,
                media_type: ptr.media_type.clone(),
                size: size(ptr.size),
                origin: e.origin.short(),
                at_us: e.ts_us,
                here: false,
            },
        );
    }
    let mut rows: Vec<Row> = rows.into_values().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.at_us));
    rows.truncate(ROWS);
    let max = by_kind
        .values()
        .map(|(a, b)| a + b)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let bars: Vec<_> = by_kind
        .iter()
        .enumerate()
        .map(|(i, (kind, (here, away)))| {
            context! {
                kind, y => i * 26,
                here_w => 400.0 * *here as f64 / max, away_w => 400.0 * *away as f64 / max,
                label => format!("{} here · {} elsewhere", size(*here), size(*away)),
            }
        })
        .collect();
    Ok(vec![
        region(
            "summary",
            "artifacts_summary.html",
            context! { bars, held => held.len(), height => by_kind.len().max(1) * 26 },
        ),
        region(
            "list",
            "artifacts_list.html",
            context! { rows => super::ser(&rows) },
        ),
    ])
}
