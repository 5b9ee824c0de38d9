//! What one simulation run measured: `report.json` (the schema below), the summary table
//! printed on stdout, and the data the HTML report plots.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

/// Latency percentiles, milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest seen.
    pub max: f64,
}

/// Bytes one node moved over its link, and what the mesh counted for it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeBytes {
    /// Index of the virtual node (0-based).
    pub node: usize,
    /// Its link profile's name (`lan`, `wan-lossy`, `kbps-island`, ...).
    pub link: String,
    /// Its role (`edge`, `datacenter`).
    pub role: String,
    /// UDP-equivalent payload bytes it sent (QUIC packets, all protocols).
    pub sent: u64,
    /// Bytes it received.
    pub received: u64,
    /// Packets the link dropped on the way out (loss, partition, queue overflow).
    pub dropped_packets: u64,
    /// Of `sent`, bytes in QUIC long-header packets: connection set-up (handshakes).
    pub setup: u64,
}

/// One protocol's traffic (by ALPN), averaged over the nodes running at the end (QUIC
/// connection statistics: set-up and retransmissions included).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProtocolUse {
    /// The ALPN.
    pub alpn: String,
    /// Connections opened or accepted per node.
    pub connections_per_node: f64,
    /// Bytes sent per node.
    pub sent_per_node: f64,
    /// Bytes received per node.
    pub received_per_node: f64,
}

/// Averages over nodes of [`NodeBytes`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BytesPerNode {
    /// Mean bytes sent per node.
    pub sent_mean: f64,
    /// Mean bytes received per node.
    pub received_mean: f64,
    /// Most bytes any one node sent.
    pub sent_max: u64,
    /// Most bytes any one node received.
    pub received_max: u64,
    /// Mean bytes sent per node per second once the fleet was up (start-up excluded).
    pub sent_per_s_mean: f64,
    /// Mean bytes per node sent setting connections up (QUIC long headers); the rest is
    /// data on open connections.
    pub setup_mean: f64,
}

/// A point of a time series: seconds since the start of the run, value.
pub type Point = (f64, f64);

/// Something that happened at a time (partition, heal, node left/back/joined).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// Seconds since the start of the run.
    pub t_s: f64,
    /// What happened.
    pub label: String,
}

/// Link budget of an island node: what it was allowed and what it used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IslandUse {
    /// Node index.
    pub node: usize,
    /// Its link's bandwidth, kbit/s.
    pub budget_kbps: f64,
    /// What it sent, averaged over the run, kbit/s.
    pub used_kbps: f64,
    /// Share of its own detections/events stored on every other node at the end.
    pub delivered: f64,
}

/// Counts over the run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Replicated events originated (the denominator of delivery, per receiver).
    pub events: u64,
    /// Supervised actor restarts, all nodes.
    pub restarts: u64,
    /// Packets the links dropped (loss, partitions, full queues).
    pub dropped_packets: u64,
    /// Events refused as forged (signature not the origin's).
    pub forged: u64,
    /// Messages that did not decode.
    pub malformed: u64,
    /// Events stored through catch-up rather than gossip.
    pub caught_up: u64,
    /// Connections the member gate refused (peer not known as a member there yet).
    pub refused: u64,
}

/// One run, as `report.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Virtual nodes (datacenters included).
    pub nodes: usize,
    /// Of which datacenter nodes.
    pub datacenters: usize,
    /// Rooms.
    pub rooms: usize,
    /// Scenario name.
    pub scenario: String,
    /// Seed (same seed: same workload and fault schedule).
    pub seed: u64,
    /// Seconds the workload ran (catch-up time after it not included).
    pub duration_s: f64,
    /// Seconds waited after the workload for delivery to complete.
    pub settle_s: f64,
    /// Share of (replicated event, other node) pairs stored at the end.
    pub delivery_ratio: f64,
    /// Origin timestamp → stored on the receiver, over every delivered pair.
    pub latency_ms: Percentiles,
    /// Time for a room change to reach every node (largest over the changes made).
    pub room_convergence_s: Option<f64>,
    /// Partition scenarios: from the heal until every node had every event.
    pub heal_s: Option<f64>,
    /// Process resident memory at the end over the number of nodes.
    pub rss_per_node_mib: f64,
    /// Process CPU time (user + system) over the run, seconds.
    pub cpu_s: f64,
    /// Averages of `per_node`.
    pub bytes_per_node: BytesPerNode,
    /// Bytes per node by protocol.
    pub protocols: Vec<ProtocolUse>,
    /// Counts.
    pub counts: Counts,
    /// Island nodes (`kbps-island`).
    pub islands: Vec<IslandUse>,
    /// Artifacts datacenter nodes fetched from sensor nodes (`datacenter-pull`).
    pub artifacts_pulled: Option<u64>,
    /// Per node bytes.
    pub per_node: Vec<NodeBytes>,
    /// Latency CDF: (milliseconds, share of pairs at or below).
    pub latency_cdf: Vec<Point>,
    /// Delivery ratio of events originated so far, sampled over the run.
    pub delivery_over_time: Vec<Point>,
    /// Partition, heal, churn marks.
    pub timeline: Vec<Mark>,
    /// Wall-clock seconds the whole run took (start-up and settle included).
    pub wall_s: f64,
    /// Seconds it took to start every node and form the mesh.
    pub startup_s: f64,
    /// CPU during the workload per node and second, ms (1000 is one core per node).
    #[serde(default)]
    pub cpu_ms_per_node_s: f64,
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

impl Report {
    /// The summary table printed on stdout.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let rows: Vec<(&str, String)> = vec![
            ("scenario", self.scenario.clone()),
            ("seed", self.seed.to_string()),
            (
                "nodes",
                format!("{} ({} datacenter)", self.nodes, self.datacenters),
            ),
            ("rooms", self.rooms.to_string()),
            ("duration", format!("{:.0} s", self.duration_s)),
            ("start-up", format!("{:.1} s", self.startup_s)),
            ("events originated", self.counts.events.to_string()),
            ("delivery ratio", format!("{:.4}", self.delivery_ratio)),
            (
                "latency p50 / p90 / p99 / max",
                format!(
                    "{:.0} / {:.0} / {:.0} / {:.0} ms",
                    self.latency_ms.p50,
                    self.latency_ms.p90,
                    self.latency_ms.p99,
                    self.latency_ms.max
                ),
            ),
            (
                "room convergence",
                format!("{} s", fmt_opt(self.room_convergence_s)),
            ),
            ("heal", format!("{} s", fmt_opt(self.heal_s))),
            (
                "memory per node",
                format!("{:.2} MiB", self.rss_per_node_mib),
            ),
            (
                "cpu",
                format!(
                    "{:.1} s ({:.2} ms per node-second during the workload)",
                    self.cpu_s, self.cpu_ms_per_node_s
                ),
            ),
            (
                "bytes per node sent / received",
                format!(
                    "{:.0} / {:.0} ({:.0} B/s sent, {:.0} % connection set-up)",
                    self.bytes_per_node.sent_mean,
                    self.bytes_per_node.received_mean,
                    self.bytes_per_node.sent_per_s_mean,
                    100.0 * self.bytes_per_node.setup_mean / self.bytes_per_node.sent_mean.max(1.0)
                ),
            ),
            (
                "restarts / dropped packets / forged",
                format!(
                    "{} / {} / {}",
                    self.counts.restarts, self.counts.dropped_packets, self.counts.forged
                ),
            ),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (k, v) in rows {
            let _ = writeln!(s, "{k:<width$}  {v}");
        }
        for i in &self.islands {
            let _ = writeln!(
                s,
                "{:<width$}  node {}: {:.2} of {:.0} kbit/s used, delivered {:.3}",
                "island", i.node, i.used_kbps, i.budget_kbps, i.delivered
            );
        }
        for p in &self.protocols {
            let _ = writeln!(
                s,
                "{:<width$}  {:.0} connections, {:.0} B sent / {:.0} B received per node",
                p.alpn, p.connections_per_node, p.sent_per_node, p.received_per_node
            );
        }
        if let Some(n) = self.artifacts_pulled {
            let _ = writeln!(s, "{:<width$}  {n}", "artifacts pulled");
        }
        s
    }
}

/// Percentiles and CDF (≤ `points` points) of `samples` (milliseconds; sorted here).
pub fn distribution(samples: &mut [f64], points: usize) -> (Percentiles, Vec<Point>) {
    if samples.is_empty() {
        return (Percentiles::default(), Vec::new());
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((samples.len() as f64 - 1.0) * q).round() as usize;
        samples[i.min(samples.len() - 1)]
    };
    let p = Percentiles {
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: samples[samples.len() - 1],
    };
    let n = samples.len();
    let step = (n / points.max(1)).max(1);
    let mut cdf: Vec<Point> = (0..n)
        .step_by(step)
        .map(|i| (samples[i], (i + 1) as f64 / n as f64))
        .collect();
    cdf.push((samples[n - 1], 1.0));
    (p, cdf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_sample() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        let (p, cdf) = distribution(&mut v, 10);
        assert_eq!((p.p50, p.p90, p.p99, p.max), (51.0, 90.0, 99.0, 100.0));
        assert_eq!(cdf.last(), Some(&(100.0, 1.0)));
        assert!(cdf.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    }

    #[test]
    fn the_json_has_the_fields_the_issue_names() {
        let r = Report {
            heal_s: Some(1.5),
            ..Default::default()
        };
        let v = serde_json::to_value(&r).expect("serialises");
        for k in [
            "nodes",
            "scenario",
            "seed",
            "delivery_ratio",
            "latency_ms",
            "room_convergence_s",
            "heal_s",
            "rss_per_node_mib",
            "bytes_per_node",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        for k in ["p50", "p90", "p99", "max"] {
            assert!(v["latency_ms"].get(k).is_some(), "{k}");
        }
    }
}
