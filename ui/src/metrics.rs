//! `GET /metrics`: the node's counters in Prometheus text format (open, like `/healthz`).
//! Families are built from the node's own counters at scrape time and encoded by the
//! `prometheus` crate's text encoder.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus::proto::{self, LabelPair, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};

use crate::ApiState;

/// What the mesh reports for `/metrics` (zeros when the node is in no mesh).
#[derive(Clone, Debug, Default)]
pub struct MeshStats {
    /// Members known.
    pub members: u64,
    /// Cluster sessions up.
    pub cluster_up: u64,
    /// Events received that verified.
    pub received: u64,
    /// Events stored through catch-up.
    pub caught_up: u64,
    /// Events dropped as forged.
    pub forged: u64,
    /// Messages dropped as malformed.
    pub malformed: u64,
    /// Connections refused by the gate.
    pub refused: u64,
    /// Events known to exist (a higher seq is here) but missing: the sync lag.
    pub missing_events: u64,
    /// Live frames sent to and received from watching nodes.
    pub live_out: u64,
    /// See `live_out`.
    pub live_in: u64,
}

/// How the node reports its mesh for `/metrics`.
pub type MeshStatsFn = Arc<dyn Fn() -> MeshStats + Send + Sync>;

fn labels(pairs: &[(&str, &str)]) -> Vec<LabelPair> {
    pairs
        .iter()
        .map(|(k, v)| {
            let mut l = LabelPair::default();
            l.set_name((*k).into());
            l.set_value((*v).into());
            l
        })
        .collect()
}

fn family(name: &str, help: &str, kind: MetricType, metrics: Vec<proto::Metric>) -> MetricFamily {
    let mut f = MetricFamily::default();
    f.set_name(name.into());
    f.set_help(help.into());
    f.set_field_type(kind);
    f.set_metric(metrics);
    f
}

fn value(kind: MetricType, pairs: &[(&str, &str)], v: f64) -> proto::Metric {
    let mut m = proto::Metric::from_label(labels(pairs));
    match kind {
        MetricType::COUNTER => {
            let mut c = proto::Counter::default();
            c.set_value(v);
            m.set_counter(c);
        }
        _ => {
            let mut g = proto::Gauge::default();
            g.set_value(v);
            m.set_gauge(g);
        }
    }
    m
}

fn one(name: &str, help: &str, kind: MetricType, v: f64) -> MetricFamily {
    family(name, help, kind, vec![value(kind, &[], v)])
}

/// Every family of this node.
pub fn families(state: &ApiState) -> Vec<MetricFamily> {
    use MetricType::{COUNTER, GAUGE};
    let snap = state.metrics.snapshot();
    let mut out = vec![
        family(
            "fieldmesh_events_stored_total",
            "Events stored by this node, per sensor (node for node-level events).",
            COUNTER,
            snap.events_by_sensor
                .iter()
                .map(|(s, n)| value(COUNTER, &[("sensor", s)], *n as f64))
                .collect(),
        ),
        one(
            "fieldmesh_store_events",
            "Events in the store.",
            GAUGE,
            snap.stored_events as f64,
        ),
        one(
            "fieldmesh_restarts_total",
            "Actor restarts since start.",
            COUNTER,
            snap.restarts as f64,
        ),
        one(
            "fieldmesh_dropped_total",
            "Messages dropped by a full edge whose overflow policy is drop.",
            COUNTER,
            snap.dropped as f64,
        ),
    ];
    let h = state.metrics.commit_histogram();
    let mut hist = proto::Histogram::default();
    hist.set_sample_count(h.count);
    hist.set_sample_sum(h.sum_s);
    hist.set_bucket(
        h.buckets
            .iter()
            .map(|(ub, c)| {
                let mut b = proto::Bucket::default();
                b.set_upper_bound(*ub);
                b.set_cumulative_count(*c);
                b
            })
            .collect(),
    );
    let mut m = proto::Metric::default();
    m.set_histogram(hist);
    out.push(family(
        "fieldmesh_store_commit_seconds",
        "Durable store commits (group commit, fsync included).",
        MetricType::HISTOGRAM,
        vec![m],
    ));
    let queues = state.metrics.queue_depths();
    out.push(family(
        "fieldmesh_queue_depth",
        "Messages waiting on or in work at each pipeline edge.",
        GAUGE,
        queues
            .iter()
            .map(|(e, d, _)| value(GAUGE, &[("edge", e)], *d as f64))
            .collect(),
    ));
    out.push(family(
        "fieldmesh_queue_capacity",
        "Capacity of each pipeline edge.",
        GAUGE,
        queues
            .iter()
            .map(|(e, _, c)| value(GAUGE, &[("edge", e)], *c as f64))
            .collect(),
    ));
    out.push(family(
        "fieldmesh_viewers",
        "Connected viewers of each sensor's live streams (remote watching nodes included).",
        GAUGE,
        state
            .display
            .viewers()
            .iter()
            .map(|(s, kind, n)| {
                value(
                    GAUGE,
                    &[("sensor", s.as_str()), ("stream", kind)],
                    *n as f64,
                )
            })
            .collect(),
    ));
    out.push(family(
        "fieldmesh_dashboard_views",
        "Open dashboard pages (page sockets) on this node.",
        GAUGE,
        vec![value(GAUGE, &[], state.live.views() as f64)],
    ));
    let ing = &state.ingest;
    let get =
        |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed) as f64;
    let ingest_scalars = [
        (
            "fieldmesh_ingest_frames_total",
            "Device frames taken in over /ws/ingest.",
            COUNTER,
            get(&ing.accepted),
        ),
        (
            "fieldmesh_ingest_refused_total",
            "Device frames refused (malformed, unknown sensor, bad values).",
            COUNTER,
            get(&ing.refused),
        ),
        (
            "fieldmesh_ingest_rate_limited_total",
            "Ingest connections closed for their rate.",
            COUNTER,
            get(&ing.rate_limited),
        ),
        (
            "fieldmesh_ingest_unauthorized_total",
            "Ingest connections refused for their key.",
            COUNTER,
            get(&ing.unauthorized),
        ),
        (
            "fieldmesh_ingest_connections",
            "Ingest connections open.",
            GAUGE,
            get(&ing.open),
        ),
    ];
    let mesh = state.mesh.as_ref().map(|m| (m.stats)()).unwrap_or_default();
    let mesh_scalars = [
        (
            "fieldmesh_mesh_members",
            "Mesh members known (this node included).",
            GAUGE,
            mesh.members,
        ),
        (
            "fieldmesh_mesh_cluster_peers_up",
            "ractor_cluster sessions up.",
            GAUGE,
            mesh.cluster_up,
        ),
        (
            "fieldmesh_mesh_received_total",
            "Replicated events received that verified.",
            COUNTER,
            mesh.received,
        ),
        (
            "fieldmesh_mesh_caught_up_total",
            "Events stored through catch-up.",
            COUNTER,
            mesh.caught_up,
        ),
        (
            "fieldmesh_mesh_forged_total",
            "Events dropped: not signed by their origin.",
            COUNTER,
            mesh.forged,
        ),
        (
            "fieldmesh_mesh_malformed_total",
            "Messages dropped: did not decode.",
            COUNTER,
            mesh.malformed,
        ),
        (
            "fieldmesh_mesh_refused_total",
            "Connections from non-members refused.",
            COUNTER,
            mesh.refused,
        ),
        (
            "fieldmesh_mesh_sync_lag_events",
            "Events known to exist elsewhere (a higher sequence is here) but not yet here.",
            GAUGE,
            mesh.missing_events,
        ),
        (
            "fieldmesh_mesh_live_frames_out_total",
            "Live frames sent to watching nodes.",
            COUNTER,
            mesh.live_out,
        ),
        (
            "fieldmesh_mesh_live_frames_in_total",
            "Live frames received for viewers here.",
            COUNTER,
            mesh.live_in,
        ),
    ];
    for (name, help, kind, v) in ingest_scalars
        .into_iter()
        .chain(mesh_scalars.map(|(n, h, k, v)| (n, h, k, v as f64)))
    {
        out.push(one(name, help, kind, v));
    }
    // A family without samples is not valid text format (e.g. no viewers yet).
    out.retain(|f| !f.get_metric().is_empty());
    out
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<ApiState>) -> Response {
    let encoder = TextEncoder::new();
    let mut buf = Vec::new();
    // Reading the store's bookkeeping (the sync lag) blocks briefly: not on the runtime.
    let families = match tokio::task::spawn_blocking(move || families(&state)).await {
        Ok(f) => f,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    match encoder.encode(&families, &mut buf) {
        Ok(()) => (
            [(header::CONTENT_TYPE, encoder.format_type().to_string())],
            buf,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
