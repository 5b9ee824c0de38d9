//! The Rooms page: each room this node keeps — members, sensors with their attention level
//! and the viewers behind it, and the room's ticket for joining from elsewhere.

use fieldmesh_actors::model::AttentionLevel;
use fieldmesh_actors::rooms::{RoomMsg, RoomState};
use minijinja::context;
use serde::Serialize;

use super::{RenderCtx, region};
use crate::live::regions::Region;

#[derive(Debug, Serialize)]
pub(super) struct Viewer {
    pub(super) who: String,
    pub(super) level: String,
    pub(super) expires_us: u64,
    #[serde(skip)]
    rank: AttentionLevel,
}

#[derive(Debug, Serialize)]
struct SensorRow {
    id: String,
    level: String,
    viewers: Vec<Viewer>,
}

#[derive(Debug, Serialize)]
struct RoomCard {
    id: String,
    name: String,
    members: Vec<String>,
    sensors: Vec<SensorRow>,
    ticket: Option<String>,
}

/// The unexpired hints on `sensor` in `room`, highest first.
pub(super) fn viewers_of(room: &RoomState, sensor: &str, now_us: u64) -> Vec<Viewer> {
    let mut out: Vec<Viewer> = room
        .attention
        .iter()
        .filter(|(s, _)| s.as_str() == sensor)
        .flat_map(|(_, v)| v.iter())
        .filter(|(_, h)| h.expires_us > now_us && h.level > AttentionLevel::None)
        .map(|(who, h)| Viewer {
            who: who.clone(),
            level: h.level.as_str().to_string(),
            expires_us: h.expires_us,
            rank: h.level,
        })
        .collect();
    out.sort_by_key(|v| std::cmp::Reverse(v.rank));
    out
}

/// Snapshots of every room this node keeps.
pub(super) async fn snapshots(cx: &RenderCtx<'_>) -> Vec<RoomState> {
    let mut out = Vec::new();
    for (_, _, slot) in cx.state.rooms.list() {
        if let Some(actor) = slot.current()
            && let Ok(room) = ractor::call!(actor, RoomMsg::Snapshot)
        {
            out.push(room);
        }
    }
    out
}

pub(super) async fn regions(cx: &RenderCtx<'_>) -> Result<Vec<Region>, String> {
    let tickets: Vec<(String, String)> = match &cx.state.mesh {
        Some(m) => (m.view)()
            .await
            .ok()
            .and_then(|v| v["rooms"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|r| Some((r["id"].as_str()?.into(), r["ticket"].as_str()?.into())))
            .collect(),
        None => Vec::new(),
    };
    let mut cards = Vec::new();
    for room in snapshots(cx).await {
        let id = room.id.as_ref().map(|r| r.to_string()).unwrap_or_default();
        let mut ids: Vec<String> = room.sensors.iter().map(|s| s.to_string()).collect();
        // Sensors of other nodes that someone here watches through this room.
        for s in room.attention.keys() {
            if !room.sensors.contains(s) {
                ids.push(s.to_string());
            }
        }
        let sensors = ids
            .into_iter()
            .map(|s| {
                let level = fieldmesh_actors::model::SensorId::new(&s)
                    .map(|sid| room.effective(&sid, cx.now_us).as_str().to_string())
                    .unwrap_or_default();
                SensorRow {
                    viewers: viewers_of(&room, &s, cx.now_us),
                    level,
                    id: s,
                }
            })
            .collect();
        cards.push(RoomCard {
            ticket: tickets
                .iter()
                .find(|(r, _)| *r == id)
                .map(|(_, t)| t.clone()),
            name: room.name.clone(),
            members: room.members.iter().cloned().collect(),
            sensors,
            id,
        });
    }
    Ok(vec![region(
        "rooms",
        "rooms_list.html",
        context! { rooms => super::ser(&cards) },
    )])
}
