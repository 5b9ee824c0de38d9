//! The live hub: one task that renders each page open anywhere once per change and fans the
//! changed regions out to every view of it, so ten thousand viewers cost one rendering.
//!
//! A page's topic is re-rendered when a committed event touches it (such renderings at
//! least [`MIN_RENDER_INTERVAL`] apart) and every second (rates, expiries); unchanged regions
//! are never sent. Views that fall behind take the topic's latest snapshot instead of the patches.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use fieldmesh_actors::model::{Event, EventKind};
use fieldmesh_actors::store::now_us;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;

use super::pages::{Observed, PageKey, RenderCtx, render};
use super::protocol;
use super::regions::{Region, RegionSet};
use crate::ApiState;

/// Shortest time between two renderings of one page.
pub const MIN_RENDER_INTERVAL: Duration = Duration::from_millis(50);
/// Every page is rendered again this often (rates, "ago", expiring hints).
const TICK: Duration = Duration::from_secs(1);
/// Patches a slow view may be behind before it takes a snapshot instead.
const BACKLOG: usize = 64;

/// A page as last rendered.
#[derive(Debug)]
pub struct Snapshot {
    /// Version (counts renderings that changed something).
    pub version: u64,
    /// Every region.
    pub regions: Vec<Region>,
}

/// The regions that changed between two versions, ready to send.
#[derive(Debug)]
pub struct Patch {
    /// Version it applies to.
    pub from: u64,
    /// Version it brings.
    pub to: u64,
    /// The message, serialised once for every view.
    pub text: Utf8Bytes,
}

impl Patch {
    /// A message for every view of a page that changes no region (a notice).
    fn notice(text: Utf8Bytes) -> Self {
        Self {
            from: 0,
            to: 0,
            text,
        }
    }

    /// Whether this is a notice rather than a change of the page.
    pub fn is_notice(&self) -> bool {
        self.to == 0
    }
}

/// A view's subscription: the page now and its patches from there on.
pub type Subscription = (Arc<Snapshot>, broadcast::Receiver<Arc<Patch>>);

enum Cmd {
    Subscribe(PageKey, oneshot::Sender<Result<Subscription, String>>),
}

struct Topic {
    tx: broadcast::Sender<Arc<Patch>>,
    snapshot: Arc<Snapshot>,
    shown: RegionSet,
    /// When the first change not yet rendered was seen (µs), if any.
    dirty_since: Option<u64>,
    /// Whether a committed event (not just the clock) made it dirty.
    changed: bool,
    /// When events last caused a rendering (the once-a-second refresh does not count, so
    /// it never delays the next change).
    last_render: Instant,
}

impl Topic {
    /// When it should be rendered next, if it needs to be.
    fn due(&self, now: Instant) -> Option<Instant> {
        self.dirty_since?;
        Some(match self.changed {
            true => self.last_render + MIN_RENDER_INTERVAL,
            false => now,
        })
    }
}

/// Handle to the hub (cheap to clone). The hub runs once [`LiveHub::run`] is spawned.
#[derive(Clone)]
pub struct LiveHub {
    tx: mpsc::Sender<Cmd>,
    rx: Arc<Mutex<Option<mpsc::Receiver<Cmd>>>>,
    views: Arc<AtomicUsize>,
}

impl Default for LiveHub {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(1024);
        Self {
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
            views: Arc::default(),
        }
    }
}

impl LiveHub {
    /// Subscribes to `key`'s page (rendering it first if nobody shows it yet).
    pub async fn subscribe(&self, key: PageKey) -> Result<Subscription, String> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Subscribe(key, tx))
            .await
            .map_err(|_| "the dashboard is shutting down".to_string())?;
        rx.await
            .map_err(|_| "the dashboard is shutting down".to_string())?
    }

    /// `key`'s regions now.
    pub async fn current(&self, key: &PageKey) -> Result<Vec<Region>, String> {
        Ok(self.subscribe(key.clone()).await?.0.regions.clone())
    }

    /// Open page sockets.
    pub fn views(&self) -> usize {
        self.views.load(Ordering::Relaxed)
    }

    pub(crate) fn view_opened(&self) -> ViewGuard {
        self.views.fetch_add(1, Ordering::Relaxed);
        ViewGuard(self.views.clone())
    }

    /// Runs the hub over `state` until the store goes away; a second call returns at once.
    pub async fn run(self, state: ApiState) {
        let Some(mut cmds) = self.rx.lock().unwrap_or_else(|p| p.into_inner()).take() else {
            return;
        };
        let mut commits = (state.commits)();
        let mut captures = state.captures.subscribe();
        let mut observed = Observed::default();
        // What happened before the hub started: each node's heartbeats, each sensor's profile.
        for kind in [EventKind::SensorProfileUpdated, EventKind::Heartbeat] {
            let q = fieldmesh_actors::store::EventQuery {
                kind: Some(kind),
                limit: 500,
                order: fieldmesh_actors::store::Order::Newest,
                ..Default::default()
            };
            if let Ok(mut recent) = state.store.query(q).await {
                recent.reverse();
                observed.remember(&recent, now_us());
            }
        }
        let mut topics: BTreeMap<PageKey, Topic> = BTreeMap::new();
        let mut tick = tokio::time::interval(TICK);
        loop {
            let now = Instant::now();
            let due = topics.values().filter_map(|t| t.due(now)).min();
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None => return,
                    Some(Cmd::Subscribe(key, reply)) => {
                        let got = subscribe(&mut topics, key, &state, &observed).await;
                        let _ = reply.send(got);
                    }
                },
                got = commits.recv() => {
                    let now = now_us();
                    match got {
                        Ok(batch) => {
                            observed.observe(&batch, now);
                            feed_charts(&state, &batch);
                            for (key, t) in topics.iter_mut() {
                                if batch.iter().any(|e| touches(key, e)) {
                                    t.dirty_since.get_or_insert(now);
                                    t.changed = true;
                                }
                            }
                        }
                        Err(RecvError::Lagged(_)) => mark_all(&mut topics, now),
                        Err(RecvError::Closed) => return,
                    }
                }
                got = captures.recv() => {
                    if let Ok(c) = got {
                        // To every view, on the channel it already listens to.
                        let text: Utf8Bytes = protocol::notice("new_capture", &c).into();
                        for t in topics.values() {
                            let _ = t.tx.send(Arc::new(Patch::notice(text.clone())));
                        }
                    }
                }
                _ = tick.tick() => {
                    let now = now_us();
                    observed.rates.prune(now / 1_000_000);
                    topics.retain(|_, t| t.tx.receiver_count() > 0);
                    mark_all(&mut topics, now);
                }
                _ = sleep_until(due) => {
                    let now = Instant::now();
                    let cx = RenderCtx { state: &state, observed: &observed, now_us: now_us() };
                    for (key, t) in topics.iter_mut() {
                        if t.due(now).is_some_and(|d| d <= now) {
                            rerender(key, t, &cx).await;
                        }
                    }
                }
            }
        }
    }
}

/// Counts a view while it lives.
pub(crate) struct ViewGuard(Arc<AtomicUsize>);

impl Drop for ViewGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// This node's measurement batches → its sensors' live sample streams (what the chart of
/// a measurement sensor in view draws; other nodes' arrive through the mesh).
fn feed_charts(state: &ApiState, batch: &[Event]) {
    for e in batch {
        if e.kind() == EventKind::MeasurementBatch
            && e.origin == state.node.id
            && let Some(sensor) = &e.sensor
        {
            let _ = state
                .display
                .samples_sender(sensor)
                .send(Arc::new(e.clone()));
        }
    }
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn mark_all(topics: &mut BTreeMap<PageKey, Topic>, now: u64) {
    for t in topics.values_mut() {
        t.dirty_since.get_or_insert(now);
    }
}

/// Whether `event` can change what `key`'s page shows (beyond the once-a-second refresh).
fn touches(key: &PageKey, e: &Event) -> bool {
    let kind = e.kind();
    match key {
        PageKey::Mesh => matches!(kind, EventKind::Heartbeat | EventKind::SensorProfileUpdated),
        PageKey::Rooms => kind == EventKind::AttentionChanged,
        PageKey::Sensor(id) => {
            e.sensor.as_ref().is_some_and(|s| s.as_str() == id)
                && matches!(
                    kind,
                    EventKind::CandidateDetected
                        | EventKind::WaveformClassified
                        | EventKind::SensorProfileUpdated
                        | EventKind::AttentionChanged
                )
        }
        PageKey::Events(f) => {
            f.before_us.is_none()
                && f.kind.as_deref().is_none_or(|k| k == kind.as_str())
                && f.sensor
                    .as_deref()
                    .is_none_or(|s| e.sensor.as_ref().is_some_and(|x| x.as_str() == s))
                && f.node.as_deref().is_none_or(|n| e.origin.to_hex() == n)
        }
        PageKey::Artifacts => kind == EventKind::ArtifactAvailable,
    }
}

async fn subscribe(
    topics: &mut BTreeMap<PageKey, Topic>,
    key: PageKey,
    state: &ApiState,
    observed: &Observed,
) -> Result<Subscription, String> {
    if let Some(t) = topics.get(&key) {
        return Ok((t.snapshot.clone(), t.tx.subscribe()));
    }
    let cx = RenderCtx {
        state,
        observed,
        now_us: now_us(),
    };
    let regions = render(&key, &cx).await?;
    let mut shown = RegionSet::default();
    shown.diff(&regions);
    let t = Topic {
        tx: broadcast::channel(BACKLOG).0,
        snapshot: Arc::new(Snapshot {
            version: 1,
            regions,
        }),
        shown,
        dirty_since: None,
        changed: false,
        last_render: Instant::now(),
    };
    let sub = (t.snapshot.clone(), t.tx.subscribe());
    topics.insert(key, t);
    Ok(sub)
}

async fn rerender(key: &PageKey, t: &mut Topic, cx: &RenderCtx<'_>) {
    let at = t.dirty_since.take().unwrap_or(cx.now_us);
    if std::mem::take(&mut t.changed) {
        t.last_render = Instant::now();
    }
    let regions = match render(key, cx).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(page = ?key, error = %e, "page did not render");
            return;
        }
    };
    let changed = t.shown.diff(&regions);
    if changed.is_empty() {
        return;
    }
    let from = t.snapshot.version;
    let text = protocol::patch(from + 1, at, &changed).into();
    t.snapshot = Arc::new(Snapshot {
        version: from + 1,
        regions,
    });
    let _ = t.tx.send(Arc::new(Patch {
        from,
        to: from + 1,
        text,
    }));
}
