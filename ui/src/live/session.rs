//! One page socket: the view's state (page, filter, attention, streams in view), patches
//! from the hub forwarded as they are (held back while the tab is hidden, then caught up
//! at once), browser events handled, binary data for the sensor panels in view, and the
//! viewer's attention hints set in the rooms.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocket};
use fieldmesh_actors::model::{AttentionLevel, Event, SensorId};
use fieldmesh_actors::rooms::RoomMsg;
use fieldmesh_actors::sensors::WaterfallFrame;
use fieldmesh_actors::store::now_us;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

use super::attention::ViewerAttention;
use super::hub::Subscription;
use super::pages::{EventsFilter, PageKey};
use super::protocol::{self, ClientMsg};
use crate::ApiState;

/// How long a viewer's hint holds unless refreshed.
const HINT_TTL: Duration = Duration::from_secs(10);
/// How often hints are refreshed (well inside their TTL).
const HINT_REFRESH_US: u64 = 3_000_000;

/// The live streams of one sensor panel in view.
struct Streams {
    sensor: SensorId,
    rows: broadcast::Receiver<Arc<WaterfallFrame>>,
    samples: broadcast::Receiver<Arc<Event>>,
}

/// The next binary frame of the panel in view (a waterfall row or a batch of samples); a
/// viewer that falls behind skips what it missed.
async fn next_frame(s: &mut Option<Streams>) -> Vec<u8> {
    let Some(s) = s else {
        return std::future::pending().await;
    };
    loop {
        tokio::select! {
            r = s.rows.recv() => match r {
                Ok(f) => return protocol::waterfall_frame(s.sensor.as_str(), &f),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return std::future::pending().await,
            },
            e = s.samples.recv() => match e {
                Ok(e) => {
                    if let Some(f) = protocol::samples_frame(s.sensor.as_str(), &e) {
                        return f;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return std::future::pending().await,
            },
        }
    }
}

/// One open page.
pub(crate) struct Session {
    state: ApiState,
    user: String,
    viewer: String,
    key: PageKey,
    version: u64,
    patches: broadcast::Receiver<Arc<super::hub::Patch>>,
    attention: ViewerAttention,
    streams: Option<Streams>,
    flashes: mpsc::Sender<String>,
    /// Fetches started whose outcome is still to be told.
    fetching: usize,
    /// Changes were held back while the tab was hidden.
    paused: bool,
}

impl Session {
    /// Runs the page socket until the browser goes away.
    pub(crate) async fn run(
        mut socket: WebSocket,
        state: ApiState,
        user: String,
        viewer: String,
        key: PageKey,
        first: Subscription,
    ) {
        let _guard = state.live.view_opened();
        let (flashes, mut flash_rx) = mpsc::channel(16);
        let (snapshot, patches) = first;
        let mut s = Session {
            attention: ViewerAttention::new(HINT_REFRESH_US),
            version: snapshot.version,
            state,
            user,
            viewer,
            key,
            patches,
            streams: None,
            flashes,
            fetching: 0,
            paused: false,
        };
        s.attention.set_panels(s.key.panels());
        let all: Vec<_> = snapshot.regions.iter().collect();
        let mut ok = send_text(&mut socket, protocol::patch(s.version, now_us(), &all)).await;
        s.apply_attention();
        let mut refresh = tokio::time::interval(Duration::from_secs(1));
        while ok {
            // Patches first: with thousands of views a wake-up should cost one poll.
            ok = tokio::select! {
                biased;
                p = s.patches.recv() => s.on_patch(&mut socket, p).await,
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Text(t))) => s.on_text(&mut socket, &t).await,
                    Some(Ok(Message::Binary(_))) => send_text(&mut socket, error("binary messages are not accepted on the page socket")).await,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => true,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => false,
                },
                Some(f) = flash_rx.recv(), if s.fetching > 0 => {
                    s.fetching -= 1;
                    send_text(&mut socket, f).await
                }
                frame = next_frame(&mut s.streams), if s.streams.is_some() => {
                    socket.send(Message::Binary(frame.into())).await.is_ok()
                }
                // Only pages with sensor panels have hints to refresh.
                _ = refresh.tick(), if s.attention.has_panels() => { s.apply_attention(); true }
            };
        }
        let last = s.attention.close();
        s.set_hints(last);
    }

    async fn on_text(&mut self, socket: &mut WebSocket, text: &str) -> bool {
        match ClientMsg::parse(text) {
            Err(e) => send_text(socket, error(&e)).await,
            Ok(ClientMsg::Visibility { visible, focused }) => {
                self.attention.set_visibility(visible, focused);
                self.apply_attention();
                // Back in front after changes were held back: the page as it is now.
                if visible && std::mem::take(&mut self.paused) {
                    return self.navigate(socket, self.key.clone()).await;
                }
                true
            }
            Ok(ClientMsg::InView { sensors }) => {
                self.attention
                    .set_in_view(sensors.iter().filter_map(|s| SensorId::new(s).ok()));
                self.apply_attention();
                true
            }
            Ok(ClientMsg::Event { name, value }) => self.on_event(socket, &name, value).await,
        }
    }

    async fn on_event(
        &mut self,
        socket: &mut WebSocket,
        name: &str,
        value: BTreeMap<String, String>,
    ) -> bool {
        let current = match &self.key {
            PageKey::Events(f) => f.clone(),
            _ => EventsFilter::default(),
        };
        let next = match name {
            "events.filter" => EventsFilter::from_query(&value).map(|mut f| {
                f.before_us = None;
                f
            }),
            "events.older" => value
                .get("before")
                .and_then(|b| b.parse().ok())
                .map(|b| EventsFilter {
                    before_us: Some(b),
                    ..current
                })
                .ok_or_else(|| "events.older needs before (µs)".to_string()),
            "events.newest" => Ok(EventsFilter {
                before_us: None,
                ..current
            }),
            "artifacts.fetch" => return self.fetch(socket, value.get("hash")).await,
            "rooms.join" => return self.join(socket, value.get("room")).await,
            "rooms.create" | "rooms.join_ticket" => {
                let empty = String::new();
                let field = |k: &str| value.get(k).unwrap_or(&empty);
                let done = match name {
                    "rooms.create" => {
                        crate::rooms::create_room(&self.state, field("id"), field("name")).await
                    }
                    _ => crate::rooms::join_room(&self.state, field("ticket")).await,
                };
                let msg = match done {
                    Ok(id) => protocol::flash("info", &format!("room {id} is kept here now")),
                    Err(e) => protocol::flash("error", &e.1),
                };
                return send_text(socket, msg).await;
            }
            other => return send_text(socket, error(&format!("unknown event {other:?}"))).await,
        };
        match next {
            Ok(f) => self.navigate(socket, PageKey::Events(f)).await,
            Err(e) => send_text(socket, protocol::flash("error", &e)).await,
        }
    }

    /// Moves the view to another page state: a fresh subscription, every region sent.
    async fn navigate(&mut self, socket: &mut WebSocket, key: PageKey) -> bool {
        match self.state.live.subscribe(key.clone()).await {
            Ok((snapshot, patches)) => {
                self.key = key;
                self.patches = patches;
                self.version = snapshot.version;
                let all: Vec<_> = snapshot.regions.iter().collect();
                let href = location(&self.key);
                send_text(socket, json!({ "t": "location", "href": href }).to_string()).await
                    && send_text(socket, protocol::patch(self.version, now_us(), &all)).await
            }
            Err(e) => send_text(socket, protocol::flash("error", &e)).await,
        }
    }

    async fn on_patch(
        &mut self,
        socket: &mut WebSocket,
        p: Result<Arc<super::hub::Patch>, RecvError>,
    ) -> bool {
        match p {
            Ok(p) if p.is_notice() => socket.send(Message::Text(p.text.clone())).await.is_ok(),
            // A hidden tab is sent no changes (the slow lane); it catches up when shown.
            Ok(_) if !self.attention.visible() => {
                self.paused = true;
                true
            }
            Ok(p) if p.from == self.version => {
                self.version = p.to;
                socket.send(Message::Text(p.text.clone())).await.is_ok()
            }
            Ok(p) if p.to <= self.version => true,
            // Behind (or the page went away): take the page as it is now.
            _ => self.navigate(socket, self.key.clone()).await,
        }
    }

    async fn fetch(&mut self, socket: &mut WebSocket, hash: Option<&String>) -> bool {
        let (Some(mesh), Some(hash)) = (self.state.mesh.clone(), hash) else {
            let why = "fetching needs a mesh and an artifact hash";
            return send_text(socket, protocol::flash("error", why)).await;
        };
        let hash = match hash.parse() {
            Ok(h) => h,
            Err(e) => {
                return send_text(socket, protocol::flash("error", &format!("hash: {e}"))).await;
            }
        };
        let flashes = self.flashes.clone();
        self.fetching += 1;
        tokio::spawn(async move {
            let msg = match (mesh.fetch)(hash).await {
                Ok(ptr) => protocol::flash(
                    "info",
                    &format!("fetched {} ({} bytes)", ptr.hash.to_hex(), ptr.size),
                ),
                Err(e) => protocol::flash("error", &format!("fetch failed: {e}")),
            };
            let _ = flashes.send(msg).await;
        });
        send_text(socket, protocol::flash("info", "fetching from the mesh…")).await
    }

    async fn join(&mut self, socket: &mut WebSocket, room: Option<&String>) -> bool {
        let slot = room
            .and_then(|r| fieldmesh_actors::model::RoomId::new(r).ok())
            .and_then(|r| self.state.rooms.get(&r))
            .and_then(|s| s.current());
        let msg = match slot {
            Some(actor) => match actor.cast(RoomMsg::Join(self.user.clone())) {
                Ok(()) => protocol::flash("info", "joined"),
                Err(e) => protocol::flash("error", &e.to_string()),
            },
            None => protocol::flash("error", "no such room on this node"),
        };
        send_text(socket, msg).await
    }

    /// Sends the hints that are due and starts or stops the streams of panels in view.
    fn apply_attention(&mut self) {
        let due = self.attention.due(now_us());
        self.set_hints(due);
        let watched = self
            .key
            .panels()
            .into_iter()
            .find(|s| self.attention.level(s) >= AttentionLevel::Medium);
        match (&self.streams, watched) {
            (Some(s), Some(w)) if s.sensor == w => {}
            (_, Some(w)) => {
                let display = &self.state.display;
                self.streams = Some(Streams {
                    rows: display.waterfall_sender(&w).subscribe(),
                    samples: display.subscribe_samples(&w),
                    sensor: w,
                });
            }
            (_, None) => self.streams = None,
        }
    }

    /// Sets hints in the rooms that hold each sensor here (or, for a sensor of another
    /// node, in every room this node keeps: the hint travels with the room to its node).
    fn set_hints(&self, hints: Vec<(SensorId, AttentionLevel)>) {
        for (sensor, level) in hints {
            let local = self.state.sensors.iter().find(|s| s.id == sensor);
            let rooms = self.state.rooms.list();
            let rooms = rooms.iter().filter(|(r, _, _)| match local {
                Some(cfg) => cfg.room.as_ref() == Some(r),
                None => true,
            });
            for (_, _, slot) in rooms {
                if let Some(actor) = slot.current() {
                    let _ = actor.cast(RoomMsg::SetAttention {
                        sensor: sensor.clone(),
                        viewer: self.viewer.clone(),
                        level,
                        ttl: HINT_TTL,
                    });
                }
            }
        }
    }
}

/// The page's address for the browser's location bar.
fn location(key: &PageKey) -> String {
    match key {
        PageKey::Events(f) => {
            let mut q = Vec::new();
            for (k, v) in [("kind", &f.kind), ("sensor", &f.sensor), ("node", &f.node)] {
                if let Some(v) = v {
                    q.push(format!("{k}={v}"));
                }
            }
            if let Some(b) = f.before_us {
                q.push(format!("before={b}"));
            }
            if q.is_empty() {
                "/events".into()
            } else {
                format!("/events?{}", q.join("&"))
            }
        }
        PageKey::Mesh => "/".into(),
        PageKey::Rooms => "/rooms".into(),
        PageKey::Sensor(s) => format!("/sensors/{s}"),
        PageKey::Artifacts => "/artifacts".into(),
    }
}

fn error(e: &str) -> String {
    json!({ "t": "error", "error": e }).to_string()
}

async fn send_text(socket: &mut WebSocket, text: String) -> bool {
    socket
        .send(Message::Text(Utf8Bytes::from(text)))
        .await
        .is_ok()
}
