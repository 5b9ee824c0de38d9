//! The HTML report: empty, filled and degenerate reports render safe, finite pages.
use super::*;
use crate::report::{IslandUse, Percentiles};

fn node(i: usize) -> NodeBytes {
    let link = [(100, 3, "kbps-island"), (10, 7, "wan-lossy")]
        .iter()
        .find(|l| i % l.0 == l.1);
    NodeBytes {
        node: i,
        link: link.map_or("lan", |l| l.2).into(),
        sent: 200_000 + (i as u64 * 7919) % 150_000,
        received: 250_000 + (i as u64 * 104_729) % 120_000,
        ..Default::default()
    }
}

fn filled() -> Report {
    let mark = |t_s: f64, label: &str| Mark {
        t_s,
        label: label.into(),
    };
    let dip = |t: i32| if (10..40).contains(&t) { 0.7 } else { 0.99 };
    Report {
        nodes: 300,
        scenario: "partition <script>alert('x')</script>".into(),
        seed: 7,
        duration_s: 60.0,
        settle_s: 10.0,
        latency_ms: Percentiles {
            p50: 40.0,
            p90: 300.0,
            p99: 900.0,
            max: 1800.0,
        },
        islands: vec![IslandUse {
            node: 3,
            budget_kbps: 64.0,
            used_kbps: 12.5,
            delivered: 0.97,
        }],
        per_node: (0..300).rev().map(node).collect(),
        latency_cdf: (0..200)
            .map(|i| (5.0 * 1.03f64.powi(i), f64::from(i + 1) / 200.0))
            .collect(),
        delivery_over_time: (0..=70).map(|t| (f64::from(t), dip(t))).collect(),
        timeline: vec![
            mark(40.0, "heal"),
            mark(10.0, "partition 30% of nodes"),
            mark(45.0, "node 12 left"),
            mark(46.0, "node 12 back"),
            mark(69.5, "node 301 joined late"),
        ],
        ..Default::default()
    }
}

fn no_bad_numbers(html: &str) {
    assert!(!html.contains("NaN"), "NaN in the page");
    assert!(!html.contains("inf"), "inf in the page");
}

#[test]
fn an_empty_report_renders_no_data_notes() {
    let html = render(&Report::default());
    assert!(html.contains("no data"));
    assert!(html.contains("no faults in this scenario"));
    assert_eq!(html.matches("<svg").count(), 0);
    no_bad_numbers(&html);
}

/// `FIELDMESH_HTML_SAMPLE=/tmp/sample.html cargo test` writes the page out to look at.
#[test]
fn a_filled_report_renders_four_plots_small_and_escaped() {
    let html = render(&filled());
    if let Ok(path) = std::env::var("FIELDMESH_HTML_SAMPLE") {
        std::fs::write(path, &html).expect("writes the sample");
    }
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(html.contains("partitioned"));
    assert!(html.contains("latency (ms, log scale)"));
    assert!(html.contains("kbps-island: nodes 3, 103, 203"));
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)"));
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
    no_bad_numbers(&html);
}

#[test]
fn degenerate_data_gives_finite_coordinates() {
    let r = Report {
        per_node: vec![
            node(0),
            NodeBytes {
                node: 1,
                sent: u64::MAX,
                ..node(1)
            },
        ],
        latency_cdf: vec![
            (0.0, 1.0),
            (f64::NAN, 0.5),
            (f64::INFINITY, 1.0),
            (1e300, 1.0),
        ],
        delivery_over_time: vec![(0.0, 0.0)],
        timeline: vec![Mark {
            t_s: 0.0,
            label: "partition".into(),
        }],
        ..Default::default()
    };
    let html = render(&r);
    assert_eq!(html.matches("<svg").count(), 4);
    assert!(!html.contains("partitioned"), "no heal: no band");
    no_bad_numbers(&html);
}

#[test]
fn ticks_are_round() {
    let t = |lo, hi, n| {
        let t = nice_ticks(lo, hi, n);
        t.iter().map(|v| num(*v, t[1] - t[0])).collect::<Vec<_>>()
    };
    assert_eq!(t(0.0, 73.0, 6), ["0", "20", "40", "60", "80"]);
    assert_eq!(t(0.0, 0.0, 5), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    assert_eq!(
        t(-3.0, 2400.0, 5),
        ["-500", "0", "500", "1000", "1500", "2000", "2500"]
    );
    assert_eq!(nice_step(300.0, 15), 20.0);
    assert_eq!(num(0.6000000000000001, 0.2), "0.6");
}
