//! The CI-sized runs of the harness: 30 whole nodes on the shaped network for 20 s,
//! `steady` and `partition`, must deliver every replicated event to every node, converge
//! room changes, heal, and write a report.

use std::time::Duration;

use fieldmesh_sim::{RunOptions, Scenario, Sizes};

fn opts(scenario: Scenario, data: &std::path::Path) -> RunOptions {
    RunOptions {
        scenario,
        sizes: Sizes {
            nodes: 30,
            datacenters: 1,
            rooms: 2,
            duration: Duration::from_secs(20),
        },
        seed: 42,
        settle: Duration::from_secs(60),
        heartbeat_ms: 2000,
        catchup_every_ms: 2000,
        data_root: data.to_path_buf(),
        progress: false,
    }
}

fn check(r: &fieldmesh_sim::Report) {
    print!("{}", r.summary());
    assert_eq!(r.nodes, 30);
    assert!(
        r.counts.events >= 30 * 5,
        "events made: {}",
        r.counts.events
    );
    assert_eq!(r.delivery_ratio, 1.0, "delivery after catch-up");
    let conv = r
        .room_convergence_s
        .expect("room changes reached every node");
    assert!(conv < r.duration_s + r.settle_s, "{conv}");
    assert!(r.latency_ms.p50 > 0.0 && r.latency_ms.p50 <= r.latency_ms.p99);
    assert!(r.bytes_per_node.sent_mean > 0.0);
    assert_eq!(r.per_node.len(), 30);
    assert_eq!(r.counts.forged, 0);
    let html = fieldmesh_sim::html::render(r);
    assert!(html.matches("<svg").count() >= 3);
}

/// Both runs in one test: two 30-node fleets at once would share two cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_nodes_deliver_everything_converge_and_heal_after_a_partition() {
    let data = tempfile::tempdir().unwrap();
    let steady = fieldmesh_sim::run(&opts(Scenario::Steady, data.path()))
        .await
        .expect("steady run");
    check(&steady);
    assert_eq!(steady.heal_s, None);

    let r = fieldmesh_sim::run(&opts(Scenario::Partition, data.path()))
        .await
        .expect("partition run");
    check(&r);
    let heal = r.heal_s.expect("every node complete after the heal");
    assert!(heal < 30.0, "heal took {heal} s");
    assert!(
        r.counts.dropped_packets > 0,
        "the partition dropped packets"
    );
    let labels: Vec<&str> = r.timeline.iter().map(|m| m.label.as_str()).collect();
    assert!(
        labels.iter().any(|l| l.starts_with("partition")),
        "{labels:?}"
    );
    assert!(labels.contains(&"heal"), "{labels:?}");
}
