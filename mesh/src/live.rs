//! Live data for viewers (`/fieldmesh/live/1`): high-rate data — waterfall rows and
//! measurement batches — is never gossiped; a node streams a sensor's to another node only
//! while a viewer there watches it (its viewers' attention hints are the subscription).
//!
//! The watching node dials the sensor's node (found in the directory) and names the sensor;
//! frames come back on the stream and land in its own `DisplayStreams`, so its API serves
//! remote sensors like local ones. Closing the stream ends the subscription.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fieldmesh_actors::model::{Event, EventKind, SensorId};
use fieldmesh_actors::rooms::{LocalViewing, RoomUpdate};
use fieldmesh_actors::sensors::{DisplayStreams, WaterfallFrame};
use fieldmesh_actors::store::{Store, now_us};
use iroh::endpoint::{Connection, SendStream};
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointId};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::wire::{decode, encode, read_frame, write_frame};
use crate::{Directory, LIVE_ALPN, MeshCounters, MeshError};

/// Largest request accepted (a sensor id).
const MAX_REQUEST_BYTES: usize = 1024;
/// Largest frame accepted (a waterfall row or a measurement batch).
const MAX_FRAME_BYTES: usize = 1024 * 1024;
/// How often the watched set is looked at again (expiries, new members).
const LOOK_EVERY: Duration = Duration::from_millis(250);
/// Wait before asking a node again after it refused or went away.
const RETRY_AFTER: Duration = Duration::from_secs(2);

#[derive(Serialize, Deserialize)]
struct LiveRequest {
    sensor: SensorId,
}

/// What flows back on a live stream.
#[derive(Debug, Serialize, Deserialize)]
pub enum LiveFrame {
    /// The node will not stream this (e.g. no such sensor there); the stream ends.
    Refused(String),
    /// One waterfall row.
    Waterfall(WaterfallFrame),
    /// One measurement batch (a local-only event of the sensor's node).
    Samples(Box<Event>),
}

/// Serves this node's sensors' live data to members that ask.
#[derive(Clone)]
pub struct LiveProtocol {
    pub(crate) store: Store,
    pub(crate) display: Arc<DisplayStreams>,
    pub(crate) sensors: BTreeSet<SensorId>,
    pub(crate) counters: Arc<MeshCounters>,
}

impl std::fmt::Debug for LiveProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveProtocol")
            .field("sensors", &self.sensors)
            .finish_non_exhaustive()
    }
}

impl ProtocolHandler for LiveProtocol {
    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        let (mut send, mut recv) = conn.accept_bi().await?;
        let req = read_frame(&mut recv, MAX_REQUEST_BYTES)
            .await
            .and_then(|b| b.ok_or_else(|| MeshError::Protocol("no request".into())))
            .and_then(|b| {
                decode::<LiveRequest>(&b).map_err(|e| MeshError::Protocol(e.to_string()))
            });
        let refusal = match &req {
            Err(e) => Some(format!("malformed live request: {e}")),
            Ok(r) if !self.sensors.contains(&r.sensor) => {
                Some(format!("no sensor {} on this node", r.sensor))
            }
            Ok(_) => None,
        };
        if let Some(why) = refusal {
            self.counters.malformed.fetch_add(1, Ordering::Relaxed);
            let _ = write_frame(&mut send, &encode(&LiveFrame::Refused(why))).await;
            let _ = send.finish();
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.closed()).await;
            return Ok(());
        }
        let Ok(req) = req else { return Ok(()) };
        tracing::debug!(sensor = %req.sensor, peer = %conn.remote_id().fmt_short(), "live stream opened");
        if let Err(e) = self.serve(&conn, &mut send, &req.sensor).await {
            tracing::debug!(sensor = %req.sensor, error = %e, "live stream ended");
        }
        Ok(())
    }
}

impl LiveProtocol {
    /// Streams `sensor`'s waterfall rows and measurement batches until the peer goes.
    async fn serve(
        &self,
        conn: &Connection,
        send: &mut SendStream,
        sensor: &SensorId,
    ) -> Result<(), MeshError> {
        // Holding a waterfall receiver is what makes the spectrum stage draw rows.
        let mut rows = self.display.subscribe_waterfall(sensor);
        let mut commits = self.store.subscribe();
        loop {
            let frame = tokio::select! {
                _ = conn.closed() => return Ok(()),
                row = next_row(&mut rows) => match row {
                    Some(r) => LiveFrame::Waterfall((*r).clone()),
                    None => continue,
                },
                c = commits.recv() => match c {
                    Ok(events) => {
                        for e in events.iter().filter(|e| {
                            e.sensor.as_ref() == Some(sensor) && e.kind() == EventKind::MeasurementBatch
                        }) {
                            self.send(send, &LiveFrame::Samples(Box::new(e.clone()))).await?;
                        }
                        continue;
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::debug!(missed = n, "live samples fell behind");
                        continue;
                    }
                    Err(_) => return Ok(()),
                },
            };
            self.send(send, &frame).await?;
        }
    }

    async fn send(&self, send: &mut SendStream, frame: &LiveFrame) -> Result<(), MeshError> {
        write_frame(send, &encode(frame)).await?;
        self.counters.live_out.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The next waterfall row; pends forever without a waterfall, `None` after a lag.
async fn next_row(
    rows: &mut Option<broadcast::Receiver<Arc<WaterfallFrame>>>,
) -> Option<Arc<WaterfallFrame>> {
    let Some(rx) = rows else {
        return std::future::pending().await;
    };
    match rx.recv().await {
        Ok(r) => Some(r),
        Err(broadcast::error::RecvError::Lagged(_)) => None,
        Err(_) => {
            *rows = None;
            None
        }
    }
}

/// What the watching side needs.
pub(crate) struct Watcher {
    pub ep: Endpoint,
    pub directory: Directory,
    pub display: Arc<DisplayStreams>,
    pub local: BTreeSet<SensorId>,
    pub counters: Arc<MeshCounters>,
}

/// Keeps one live stream open per remote sensor that a viewer here watches, and none other.
pub(crate) async fn follow_viewers(w: Watcher, mut updates: broadcast::Receiver<RoomUpdate>) {
    let mut viewing = LocalViewing::default();
    let mut streams: BTreeMap<SensorId, JoinHandle<()>> = BTreeMap::new();
    let mut retry: BTreeMap<SensorId, Instant> = BTreeMap::new();
    let mut tick = tokio::time::interval(LOOK_EVERY);
    let mut updates_open = true;
    loop {
        tokio::select! {
            u = updates.recv(), if updates_open => match u {
                Ok(u) => viewing.apply(&u),
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(_) => updates_open = false,
            },
            _ = tick.tick() => {}
        }
        let now = now_us();
        viewing.expire(now);
        let want = viewing.watched(now);
        streams.retain(|s, h| {
            let keep = want.contains(s) && !h.is_finished();
            if !keep {
                h.abort();
                if want.contains(s) {
                    retry.insert(s.clone(), Instant::now() + RETRY_AFTER);
                }
            }
            keep
        });
        retry.retain(|s, at| want.contains(s) && *at > Instant::now());
        let missing: Vec<&SensorId> = want
            .iter()
            .filter(|s| {
                !w.local.contains(*s) && !streams.contains_key(*s) && !retry.contains_key(*s)
            })
            .collect();
        if missing.is_empty() {
            continue;
        }
        let Ok(members) = w.directory.members().await else {
            continue;
        };
        let me = w.ep.id().to_string();
        for s in missing {
            let home = members
                .iter()
                .find(|m| m.id != me && m.sensors.iter().any(|x| x == s.as_str()))
                .and_then(|m| m.id.parse::<EndpointId>().ok());
            if let Some(home) = home {
                let (ep, display, counters) = (w.ep.clone(), w.display.clone(), w.counters.clone());
                let sensor = s.clone();
                streams.insert(
                    s.clone(),
                    tokio::spawn(async move {
                        if let Err(e) = watch(&ep, home, &sensor, &display, &counters).await {
                            tracing::debug!(%sensor, error = %e, "live stream ended");
                        }
                    }),
                );
            }
        }
    }
}

/// Streams `sensor` from `home` into `display` until the stream ends or the task is dropped.
async fn watch(
    ep: &Endpoint,
    home: EndpointId,
    sensor: &SensorId,
    display: &DisplayStreams,
    counters: &MeshCounters,
) -> Result<(), MeshError> {
    let conn = ep
        .connect(home, LIVE_ALPN)
        .await
        .map_err(|e| MeshError::Unreachable(format!("{}: {e}", home.fmt_short())))?;
    let (mut send, mut recv) = conn
        .open_bi()
        .await
        .map_err(|e| MeshError::Unreachable(e.to_string()))?;
    let req = LiveRequest {
        sensor: sensor.clone(),
    };
    write_frame(&mut send, &encode(&req)).await?;
    tracing::debug!(%sensor, home = %home.fmt_short(), "watching a remote sensor");
    while let Some(bytes) = read_frame(&mut recv, MAX_FRAME_BYTES).await? {
        let frame = decode::<LiveFrame>(&bytes).map_err(|e| {
            counters.malformed.fetch_add(1, Ordering::Relaxed);
            MeshError::Protocol(e.to_string())
        })?;
        counters.live_in.fetch_add(1, Ordering::Relaxed);
        match frame {
            LiveFrame::Refused(why) => return Err(MeshError::Refused(why)),
            LiveFrame::Waterfall(row) => {
                let _ = display.waterfall_sender(sensor).send(Arc::new(row));
            }
            LiveFrame::Samples(e) if e.sensor.as_ref() == Some(sensor) && !e.replicated() => {
                let _ = display.samples_sender(sensor).send(Arc::new(*e));
            }
            LiveFrame::Samples(_) => {
                counters.malformed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}
