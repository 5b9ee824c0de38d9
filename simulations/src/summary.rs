//! Turning what a run saw into its [`Report`]: delivery and latency, bytes per node and per
//! protocol, island budgets, counts.

use std::collections::HashMap;

use fieldmesh_actors::model::NodeId;

use crate::fleet::Fleet;
use crate::measure;
use crate::report::{
    self, BytesPerNode, Counts, IslandUse, Mark, NodeBytes, Point, ProtocolUse, Report,
};
use crate::run::RunOptions;
use crate::scenario::{Kind, Plan, Scenario};

/// What the run's clock collected.
pub(crate) struct Seen {
    /// Seconds waited for catch-up after the workload.
    pub settle_s: f64,
    /// Replicated events each node made by the end of the workload.
    pub expected: HashMap<NodeId, u64>,
    /// Latency samples, ms.
    pub samples: Vec<f64>,
    /// Seconds from the workload's start to now.
    pub run_s: f64,
    /// Bytes all nodes sent since the workload started.
    pub sent_since_t0: u64,
    /// Seconds each room change took to reach every node.
    pub convergence: Vec<f64>,
    /// Seconds from the heal until every node was complete.
    pub heal_s: Option<f64>,
    /// Delivery sampled over the run.
    pub over_time: Vec<Point>,
    /// Faults and churn.
    pub marks: Vec<Mark>,
    /// Seconds the fleet took to come up.
    pub startup_s: f64,
    /// Process CPU over the workload (start-up and settle left out) and the workload's
    /// wall-clock length (longer than asked when the machine is overloaded), seconds.
    pub workload_cpu: (f64, f64),
}

/// The report of a run of `plan` on `fleet`.
pub(crate) async fn summarize(fleet: &Fleet, plan: &Plan, opts: &RunOptions, seen: Seen) -> Report {
    let Seen {
        settle_s,
        expected,
        mut samples,
        run_s,
        sent_since_t0,
        convergence,
        heal_s,
        over_time,
        marks,
        startup_s,
        workload_cpu,
    } = seen;
    let (got, want, shares) = measure::delivery(fleet, &expected).await;
    let (latency_ms, latency_cdf) = report::distribution(&mut samples, 200);
    let per_node: Vec<NodeBytes> = fleet
        .nodes
        .iter()
        .map(|v| NodeBytes {
            node: v.plan.index,
            link: v.plan.link.name.clone(),
            role: format!("{:?}", v.plan.kind).to_lowercase(),
            sent: v.counters.sent.load(std::sync::atomic::Ordering::Relaxed),
            received: v
                .counters
                .received
                .load(std::sync::atomic::Ordering::Relaxed),
            dropped_packets: v
                .counters
                .dropped
                .load(std::sync::atomic::Ordering::Relaxed),
            setup: v
                .counters
                .handshake
                .load(std::sync::atomic::Ordering::Relaxed),
        })
        .collect();
    let n = fleet.nodes.len().max(1) as f64;
    let bytes_per_node = BytesPerNode {
        sent_mean: per_node.iter().map(|b| b.sent as f64).sum::<f64>() / n,
        received_mean: per_node.iter().map(|b| b.received as f64).sum::<f64>() / n,
        sent_max: per_node.iter().map(|b| b.sent).max().unwrap_or(0),
        received_max: per_node.iter().map(|b| b.received).max().unwrap_or(0),
        sent_per_s_mean: sent_since_t0 as f64 / n / run_s,
        setup_mean: per_node.iter().map(|b| b.setup as f64).sum::<f64>() / n,
    };
    let islands = fleet
        .nodes
        .iter()
        .filter(|v| v.plan.kind == Kind::Island)
        .map(|v| IslandUse {
            node: v.plan.index,
            budget_kbps: v.plan.link.kbps.unwrap_or(f64::INFINITY),
            used_kbps: per_node[v.plan.index].sent as f64 * 8.0 / 1000.0 / run_s,
            delivered: shares.get(&v.id).copied().unwrap_or(1.0),
        })
        .collect();
    let mut counts = Counts {
        events: expected.values().sum(),
        dropped_packets: per_node.iter().map(|b| b.dropped_packets).sum(),
        ..Default::default()
    };
    let mut artifacts_pulled = None;
    let mut protocols: Vec<ProtocolUse> = Vec::new();
    let up = fleet.running().len().max(1) as f64;
    for v in &fleet.nodes {
        let Some(node) = &v.node else { continue };
        counts.restarts += node.runtime().metrics().snapshot().restarts;
        if let Some(m) = node.mesh() {
            let c = m.counters();
            let get =
                |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
            counts.forged += get(&c.forged);
            counts.malformed += get(&c.malformed);
            counts.caught_up += get(&c.caught_up);
            counts.refused += get(&c.refused);
            for t in c.traffic.snapshot() {
                let i = match protocols.iter().position(|p| p.alpn == t.alpn) {
                    Some(i) => i,
                    None => {
                        protocols.push(ProtocolUse {
                            alpn: t.alpn.clone(),
                            ..Default::default()
                        });
                        protocols.len() - 1
                    }
                };
                let p = &mut protocols[i];
                p.connections_per_node += t.connections as f64 / up;
                p.sent_per_node += t.sent as f64 / up;
                p.received_per_node += t.received as f64 / up;
            }
        }
        if v.plan.kind == Kind::Datacenter && opts.scenario == Scenario::DatacenterPull {
            let list = node
                .runtime()
                .store()
                .artifacts()
                .list()
                .unwrap_or_default();
            let pulled = list.iter().filter(|a| a.origin != v.id).count() as u64;
            *artifacts_pulled.get_or_insert(0) += pulled;
        }
    }
    Report {
        nodes: fleet.nodes.len(),
        datacenters: plan
            .nodes
            .iter()
            .filter(|p| p.kind == Kind::Datacenter)
            .count(),
        rooms: opts.sizes.rooms.max(1),
        scenario: opts.scenario.name().into(),
        seed: opts.seed,
        duration_s: opts.sizes.duration.as_secs_f64(),
        settle_s,
        delivery_ratio: got as f64 / want.max(1) as f64,
        latency_ms,
        room_convergence_s: convergence.iter().copied().reduce(f64::max),
        heal_s,
        rss_per_node_mib: measure::rss_mib() / n,
        cpu_s: 0.0,
        bytes_per_node,
        protocols: {
            protocols.sort_by(|a, b| b.sent_per_node.total_cmp(&a.sent_per_node));
            protocols
        },
        counts,
        islands,
        artifacts_pulled,
        per_node,
        latency_cdf,
        delivery_over_time: over_time,
        timeline: marks,
        wall_s: 0.0,
        startup_s,
        cpu_ms_per_node_s: 1000.0 * workload_cpu.0 / (n * workload_cpu.1.max(1e-3)),
    }
}
