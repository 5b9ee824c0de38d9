//! `fieldmesh demo`: a small mesh in one process — the dev node (simulated sensors, web
//! page, `node.json`) plus two edge nodes and a datacenter node joined by its ticket over
//! loopback; prints where to look and a live summary.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use figment::Figment;
use figment::providers::Env;

use crate::cli::DemoArgs;
use crate::config::{self, Config};
use crate::node::{Node, PortChoice};

/// The demo's built-in configuration.
pub const DEV_CONFIG: &str = include_str!("../config/dev.toml");
const EDGE_CONFIG: &str = include_str!("../config/edge.toml");
const DATACENTER_CONFIG: &str = include_str!("../config/datacenter.toml");

/// The peers the demo starts beside its main node: (name, config text).
fn peer_configs() -> Vec<(String, String)> {
    vec![
        ("edge-1".into(), EDGE_CONFIG.to_string()),
        // A second edge node: the same config with its own names.
        ("edge-2".into(), EDGE_CONFIG.replace("edge-1", "edge-2")),
        ("dc-1".into(), DATACENTER_CONFIG.to_string()),
    ]
}

/// A peer's config: built-in text, its own data dir under the main one, any free port.
fn peer_config(name: &str, text: &str, main: &Config) -> Result<Config, config::ConfigError> {
    let figment = Figment::new().merge(config::named_toml(text, format!("built-in {name} config")));
    let mut c = config::extract(&figment)?;
    c.data_dir = main.data_dir.join("peers").join(name);
    c.ui.port = 0;
    c.mesh = main.mesh.clone();
    Ok(c)
}

/// The demo config: built-in dev config, `FIELDMESH_*` overrides, the given data dir.
pub fn demo_config(args: &DemoArgs) -> Result<Config, config::ConfigError> {
    let figment = Figment::new()
        .merge(config::named_toml(
            DEV_CONFIG,
            "built-in config/dev.toml".into(),
        ))
        .merge(Env::prefixed(config::ENV_PREFIX).split("__"));
    let mut config = config::extract(&figment)?;
    config.data_dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("fieldmesh-demo-{}", std::process::id())),
    };
    Ok(config)
}

/// Runs the demo.
pub async fn run(config: Config, duration: Option<u64>) -> anyhow::Result<()> {
    let node = Node::start(&config, PortChoice::FallBackToAny).await?;
    let mut peers = Vec::new();
    if let Some(mesh) = node.mesh() {
        let ticket = mesh.ticket();
        for (name, text) in peer_configs() {
            let c = peer_config(&name, &text, &config)?;
            let peer = Node::start_joining(&c, PortChoice::Exact, Some(ticket.clone())).await?;
            peers.push((name, peer));
        }
    }
    let dir = config.data_dir.display().to_string();
    println!(
        "fieldmesh demo: node {} ({} sensors){}",
        node.id().short(),
        config.sensors.len(),
        if peers.is_empty() {
            String::new()
        } else {
            format!(
                " in a mesh with {}",
                peers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if let Some(mesh) = node.mesh() {
        println!(
            "  mesh:     fieldmesh node --config FILE --join {}",
            mesh.ticket()
        );
    }
    println!(
        "  web:      {}   (a one-time login link; later: fieldmesh login-link --data-dir {dir})",
        node.login_url()
    );
    println!("  data dir: {dir}");
    println!("  events:   fieldmesh events --data-dir {dir} --json");
    match duration {
        Some(s) => println!("  stopping after {s} s (Ctrl-C stops sooner)"),
        None => println!("  Ctrl-C stops it"),
    }
    let metrics = node.runtime().metrics().clone();
    let summary = async move {
        let started = Instant::now();
        let mut last: BTreeMap<String, u64> = BTreeMap::new();
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        tick.tick().await;
        loop {
            tick.tick().await;
            let m = metrics.snapshot();
            let rates: Vec<String> = m
                .events_by_sensor
                .iter()
                .map(|(s, n)| {
                    format!(
                        "{s} {:.1}/s",
                        (n - last.get(s).copied().unwrap_or(0)) as f64 / 2.0
                    )
                })
                .collect();
            println!(
                "[{:>4}s] {} events stored · {} · restarts {} · store commit {} µs",
                started.elapsed().as_secs(),
                m.stored_events,
                rates.join(" · "),
                m.restarts,
                m.store_write_mean_us
            );
            last = m.events_by_sensor;
        }
    };
    let until = async move {
        match duration {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending::<()>().await,
        }
    };
    let run = node.run_until(until);
    tokio::pin!(run);
    let result = tokio::select! {
        r = &mut run => r,
        _ = summary => unreachable!("the summary loop never ends"),
    };
    for (_, peer) in peers {
        peer.stop().await;
    }
    result?;
    println!("demo stopped cleanly; events are in {dir}");
    Ok(())
}
