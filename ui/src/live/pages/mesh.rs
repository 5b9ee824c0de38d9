//! The Mesh page: every node (this one and each directory member) with its role, emission
//! profiles, link estimate, battery, last heartbeat and event rate with a sparkline.

use std::collections::BTreeMap;

use fieldmesh_actors::model::{NodeId, Payload};
use minijinja::context;
use serde::Serialize;

use super::{RenderCtx, region, spark};
use crate::live::regions::Region;

#[derive(Debug, Serialize)]
struct NodeCard {
    id: String,
    short: String,
    name: String,
    role: String,
    me: bool,
    profile: String,
    link: String,
    battery: String,
    /// Charge for the gauge, when a battery is reported.
    battery_pct: Option<u8>,
    heartbeat_us: Option<u64>,
    uptime: String,
    restarts: u64,
    stored: u64,
    rate: String,
    spark: String,
    sensors: Vec<String>,
    addrs: String,
}

fn uptime(s: u64) -> String {
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{:.1} h", s as f64 / 3600.0),
    }
}

/// Directory members as the mesh view lists them: id → (name, role, sensors, addresses).
fn members(view: &serde_json::Value) -> BTreeMap<String, (String, String, Vec<String>, String)> {
    let list = view["members"].as_array().cloned().unwrap_or_default();
    list.iter()
        .filter_map(|m| {
            let id = m["id"].as_str()?.to_string();
            let strings = |k: &str| -> Vec<String> {
                m[k].as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let name = m["name"].as_str().unwrap_or_default().to_string();
            let role = m["role"].as_str().unwrap_or_default().to_string();
            Some((
                id,
                (name, role, strings("sensors"), strings("addrs").join(", ")),
            ))
        })
        .collect()
}

pub(super) async fn regions(cx: &RenderCtx<'_>) -> Result<Vec<Region>, String> {
    let view = match &cx.state.mesh {
        Some(m) => (m.view)().await.unwrap_or_default(),
        None => serde_json::Value::Null,
    };
    let mut known = members(&view);
    let me = cx.state.node.id.to_hex();
    known.entry(me.clone()).or_insert_with(|| {
        let n = &cx.state.node;
        (
            n.name.clone(),
            n.role.clone(),
            n.sensors.clone(),
            String::new(),
        )
    });
    // Nodes heard from (a heartbeat) but not (yet) in the directory.
    for origin in cx.observed.heartbeats.keys() {
        known
            .entry(origin.to_hex())
            .or_insert_with(|| (origin.short(), String::new(), Vec::new(), String::new()));
    }
    let now_s = cx.now_us / 1_000_000;
    let mut cards = Vec::new();
    let mut total_rate = 0.0;
    for (id, (name, role, sensors, addrs)) in known {
        let node: Option<NodeId> = id.parse().ok();
        let beat = node.and_then(|n| cx.observed.heartbeats.get(&n));
        let (mut role, mut uptime_s, mut restarts, mut stored) = (role, 0, 0, 0);
        let mut battery = None;
        if let Some((e, _)) = beat
            && let &Payload::Heartbeat {
                role: ref r,
                uptime_s: u,
                restarts: x,
                events_stored: s,
                battery: b,
                ..
            } = &e.body
        {
            (uptime_s, restarts, stored, battery) = (u, x, s, b);
            if role.is_empty() {
                role = r.clone();
            }
        }
        let profiles: Vec<String> = node
            .map(|n| {
                cx.observed
                    .profiles
                    .range((n, String::new())..)
                    .take_while(|((o, _), _)| *o == n)
                    .map(|((_, s), p)| format!("{s}: {p}"))
                    .collect()
            })
            .unwrap_or_default();
        let link = match (id == me, beat) {
            (true, _) => "this node".to_string(),
            (false, Some((e, arrived))) => {
                let delay_ms = arrived.saturating_sub(e.ts_us) as f64 / 1e3;
                if delay_ms < 60_000.0 {
                    format!("≈{delay_ms:.0} ms heartbeat delay")
                } else {
                    "catching up".to_string()
                }
            }
            (false, None) => "no heartbeat yet".to_string(),
        };
        let rate = cx.observed.rates.rate(&format!("node:{id}"), now_s);
        total_rate += rate;
        cards.push(NodeCard {
            short: id.chars().take(10).collect(),
            me: id == me,
            name,
            role,
            profile: if profiles.is_empty() {
                "default".into()
            } else {
                profiles.join(", ")
            },
            link,
            battery: match (battery, beat.is_some()) {
                (Some(b), _) => format!(
                    "{:.0} %{}",
                    b.level_pct,
                    if b.charging { ", charging" } else { "" }
                ),
                (None, true) => "mains".into(),
                (None, false) => "not reported yet".into(),
            },
            battery_pct: battery.map(|b| b.level_pct.round().clamp(0.0, 100.0) as u8),
            heartbeat_us: beat.map(|(e, _)| e.ts_us),
            uptime: uptime(uptime_s),
            restarts,
            stored,
            rate: format!("{rate:.1}"),
            spark: spark(&cx.observed.rates.history(&format!("node:{id}"), now_s)),
            sensors,
            addrs,
            id,
        });
    }
    let cluster = view["cluster"]["peers"].as_array().map_or(0, Vec::len);
    let c = &view["counters"];
    let summary = context! {
        nodes => cards.len(),
        rate => format!("{total_rate:.1}"),
        in_mesh => cx.state.mesh.is_some(),
        cluster,
        received => c["received"].as_u64().unwrap_or(0),
        broadcast => c["broadcast"].as_u64().unwrap_or(0),
        caught_up => c["caught_up"].as_u64().unwrap_or(0),
        refused => c["refused"].as_u64().unwrap_or(0) + c["forged"].as_u64().unwrap_or(0)
            + c["malformed"].as_u64().unwrap_or(0),
    };
    Ok(vec![
        region("summary", "mesh_summary.html", summary),
        region(
            "nodes",
            "mesh_nodes.html",
            context! { nodes => super::ser(&cards) },
        ),
    ])
}
