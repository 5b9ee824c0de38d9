//! One simulation run: start the fleet, play the plan's actions on time, sample delivery,
//! wait for catch-up, and turn what was measured into a [`Report`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fieldmesh_actors::model::{AttentionLevel, NodeId, RoomId, SensorId};
use fieldmesh_actors::rooms::RoomMsg;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::fleet::{Fleet, FleetSettings, room_id};
use crate::measure::{self, Latencies};
use crate::report::{Mark, Report};
use crate::scenario::{self, Action, Scenario, Sizes};
use crate::summary::Seen;

/// What to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Scenario.
    pub scenario: Scenario,
    /// Sizes.
    pub sizes: Sizes,
    /// Seed.
    pub seed: u64,
    /// Longest wait after the workload for delivery to complete.
    pub settle: Duration,
    /// Heartbeat interval, ms.
    pub heartbeat_ms: u64,
    /// Anti-entropy period, ms.
    pub catchup_every_ms: u64,
    /// Where the nodes keep their data (a temporary folder inside it, removed after).
    pub data_root: PathBuf,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// Nodes started at once while the fleet comes up.
const START_CONCURRENCY: usize = 8;
/// How often the clock of the run ticks (actions, room checks).
const TICK: Duration = Duration::from_millis(250);
/// Longest wait for the fleet to stop once measured.
const STOP_LIMIT: Duration = Duration::from_secs(20);
/// How often delivery over time is sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// Runs `opts` to a report.
pub async fn run(opts: &RunOptions) -> anyhow::Result<Report> {
    measure::raise_open_files();
    let wall = Instant::now();
    let cpu0 = measure::cpu_time();
    let plan = scenario::plan(opts.scenario, opts.sizes, opts.seed);
    let root = opts.data_root.join(format!(
        "fieldmesh-sim-{}-{}",
        std::process::id(),
        opts.seed
    ));
    let settings = FleetSettings {
        rooms: opts.sizes.rooms.max(1),
        heartbeat_ms: opts.heartbeat_ms,
        catchup_every_ms: opts.catchup_every_ms,
    };
    let mut fleet = Fleet::new(&plan.nodes, &root, settings, opts.seed)?;
    let result = drive(&mut fleet, &plan, opts, wall).await;
    // The report is made by now: a node that does not stop in time must not lose it.
    if tokio::time::timeout(STOP_LIMIT, fleet.stop_all())
        .await
        .is_err()
    {
        eprintln!(
            "fieldmesh-sim: the fleet did not stop within {} s; writing the report anyway",
            STOP_LIMIT.as_secs()
        );
    }
    let _ = std::fs::remove_dir_all(&root);
    let mut r = result?;
    r.cpu_s = (measure::cpu_time() - cpu0).as_secs_f64();
    r.wall_s = wall.elapsed().as_secs_f64();
    Ok(r)
}

/// A room change waiting to reach every node.
struct PendingChange {
    room: RoomId,
    member: String,
    since: Instant,
}

async fn drive(
    fleet: &mut Fleet,
    plan: &scenario::Plan,
    opts: &RunOptions,
    wall: Instant,
) -> anyhow::Result<Report> {
    let latencies = Latencies::default();
    let mut watchers = Vec::new();
    // Bring the fleet up: node 0 creates the mesh, the rest join by tickets of nodes
    // already in, a few at a time.
    fleet.start(0, None).await?;
    let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x5eed);
    let first: Vec<usize> = (1..fleet.nodes.len())
        .filter(|&i| plan.nodes[i].at_start)
        .collect();
    let starting = start_bar(opts, first.len() + 1);
    for chunk in first.chunks(START_CONCURRENCY) {
        let running = fleet.running();
        let mut jobs = FuturesUnordered::new();
        for &i in chunk {
            let via = running[rng.random_range(0..running.len())];
            jobs.push(start_job(fleet, i, fleet.ticket(via)));
        }
        let mut started = Vec::new();
        while let Some(r) = jobs.next().await {
            started.push(r?);
        }
        drop(jobs);
        for (i, node) in started {
            fleet.nodes[i].node = Some(node);
        }
        if let Some(b) = &starting {
            b.set_position(fleet.running().len() as u64);
        }
    }
    if let Some(b) = starting {
        b.finish_and_clear();
    }
    for i in fleet.running() {
        if let Some(n) = &fleet.nodes[i].node {
            watchers.push(latencies.watch(n.runtime().store()));
        }
    }
    let startup_s = wall.elapsed().as_secs_f64();
    latencies.begin();
    let bar = progress_bar(opts);

    let t0 = Instant::now();
    let cpu_at_t0 = measure::cpu_time();
    let mut workload_cpu = (0.0, 0.0);
    let sent_at_t0 = total_sent(fleet);
    let duration = opts.sizes.duration;
    let mut actions = plan.actions.iter().peekable();
    let mut marks = Vec::new();
    let mut pending: Vec<PendingChange> = Vec::new();
    let mut convergence: Vec<f64> = Vec::new();
    let mut watches: Vec<(usize, usize)> = Vec::new();
    let mut originated: HashMap<NodeId, u64> = HashMap::new();
    let mut over_time = Vec::new();
    let mut heal: Option<(Instant, HashMap<NodeId, u64>)> = None;
    let mut heal_s = None;
    let mut last_sample = t0;
    let mut last_watch = t0;
    let mut final_expected: Option<HashMap<NodeId, u64>> = None;
    let mut settle_start = None;
    loop {
        let now = Instant::now();
        let t = now - t0;
        while let Some((at, action)) = actions.next_if(|(at, _)| *at <= t) {
            let label = apply(fleet, action, &mut watches, &mut pending, &mut rng).await?;
            if let Action::Heal = action {
                let mut made = HashMap::new();
                measure::originated(fleet, &mut made).await;
                heal = Some((Instant::now(), made));
            }
            if let Action::Return(i) | Action::Join(i) = action
                && let Some(node) = &fleet.nodes[*i].node
            {
                watchers.push(latencies.watch(node.runtime().store()));
            }
            if let Some(label) = label {
                marks.push(Mark {
                    t_s: at.as_secs_f64(),
                    label,
                });
            }
        }
        if now - last_watch >= Duration::from_secs(3) {
            last_watch = now;
            refresh_watches(fleet, &watches);
        }
        let mut still = Vec::new();
        for p in pending.drain(..) {
            if measure::room_has_everywhere(fleet, &p.room, &p.member).await {
                convergence.push(p.since.elapsed().as_secs_f64());
            } else {
                still.push(p);
            }
        }
        pending = still;
        if let Some((since, made)) = &heal
            && heal_s.is_none()
        {
            let (got, want, _) = measure::delivery(fleet, made).await;
            if got == want {
                heal_s = Some(since.elapsed().as_secs_f64());
            }
        }
        if now - last_sample >= SAMPLE_EVERY {
            last_sample = now;
            measure::originated(fleet, &mut originated).await;
            let expected = final_expected.as_ref().unwrap_or(&originated);
            let (got, want, _) = measure::delivery(fleet, expected).await;
            over_time.push((t.as_secs_f64(), got as f64 / want.max(1) as f64));
            if let Some(b) = &bar {
                b.set_message(format!("delivery {:.4}", got as f64 / want.max(1) as f64));
            }
        }
        if let Some(b) = &bar {
            b.set_position(t.as_secs().min(duration.as_secs()));
        }
        if t >= duration && final_expected.is_none() {
            let mut made = HashMap::new();
            measure::originated(fleet, &mut made).await;
            final_expected = Some(made);
            workload_cpu = (
                (measure::cpu_time() - cpu_at_t0).as_secs_f64(),
                t.as_secs_f64(),
            );
            settle_start = Some(Instant::now());
            if let Some(b) = &bar {
                b.set_prefix("catching up");
            }
        }
        if let (Some(expected), Some(s)) = (&final_expected, settle_start) {
            let (got, want, _) = measure::delivery(fleet, expected).await;
            let done = got == want && pending.is_empty() && (heal.is_none() || heal_s.is_some());
            if done || s.elapsed() >= opts.settle {
                over_time.push((t.as_secs_f64(), got as f64 / want.max(1) as f64));
                break;
            }
        }
        tokio::time::sleep(TICK).await;
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let samples = latencies.take();
    for w in watchers {
        w.abort();
    }
    let seen = Seen {
        settle_s: settle_start.map_or(0.0, |s| s.elapsed().as_secs_f64()),
        expected: final_expected.unwrap_or_default(),
        samples,
        run_s: t0.elapsed().as_secs_f64(),
        sent_since_t0: total_sent(fleet) - sent_at_t0,
        convergence,
        heal_s,
        over_time,
        marks,
        startup_s,
        workload_cpu,
    };
    Ok(crate::summary::summarize(fleet, plan, opts, seen).await)
}

fn total_sent(fleet: &Fleet) -> u64 {
    let sent = fleet.nodes.iter().map(|v| &v.counters.sent);
    sent.map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
        .sum()
}

/// Starts node `i` without holding the fleet (so several start at once).
fn start_job(
    fleet: &Fleet,
    i: usize,
    ticket: Option<fieldmesh_mesh::MeshTicket>,
) -> impl std::future::Future<Output = anyhow::Result<(usize, fieldmesh::node::Node)>> + use<> {
    let job = fleet.start_job(i, ticket);
    async move { Ok((i, job.await?)) }
}

/// Plays one action; a label for the timeline when it is a fault or churn.
async fn apply(
    fleet: &mut Fleet,
    action: &Action,
    watches: &mut Vec<(usize, usize)>,
    pending: &mut Vec<PendingChange>,
    rng: &mut StdRng,
) -> anyhow::Result<Option<String>> {
    Ok(match action {
        Action::Partition(cut) => {
            fleet
                .net
                .partition(cut.iter().map(|&i| fleet.nodes[i].endpoint));
            let share = 100.0 * cut.len() as f64 / fleet.nodes.len() as f64;
            Some(format!("partition {share:.0}% of nodes"))
        }
        Action::Heal => {
            fleet.net.heal();
            Some("heal".into())
        }
        Action::Leave(i) => {
            fleet.stop(*i).await;
            Some(format!("node {i} leaves"))
        }
        Action::Return(i) => {
            fleet.start(*i, None).await?;
            Some(format!("node {i} back"))
        }
        Action::Join(i) => {
            let running = fleet.running();
            let via = running[rng.random_range(0..running.len())];
            let ticket = fleet.ticket(via);
            fleet.start(*i, ticket).await?;
            Some(format!("node {i} joins"))
        }
        Action::RoomChange { node, room, member } => {
            let room = RoomId::new(room_id(*room))?;
            if let Some(actor) = fleet.nodes[*node].node.as_ref().and_then(|n| {
                n.runtime()
                    .room_registry()
                    .get(&room)
                    .and_then(|s| s.current())
            }) {
                let _ = actor.cast(RoomMsg::Join(member.clone()));
                pending.push(PendingChange {
                    room,
                    member: member.clone(),
                    since: Instant::now(),
                });
            }
            None
        }
        Action::Watch { node, sensor_node } => {
            watches.push((*node, *sensor_node));
            refresh_watches(fleet, &[(*node, *sensor_node)]);
            None
        }
    })
}

/// Viewers' attention hints, as a dashboard refreshes them (10 s TTL, every 3 s).
fn refresh_watches(fleet: &Fleet, watches: &[(usize, usize)]) {
    for &(node, sensor_node) in watches {
        let Some(n) = fleet.nodes[node].node.as_ref() else {
            continue;
        };
        let s = &fleet.nodes[sensor_node];
        let Ok(sensor) = SensorId::new(crate::fleet::sensor_id(&s.plan)) else {
            continue;
        };
        for (_, _, slot) in n.runtime().room_registry().list() {
            if let Some(actor) = slot.current() {
                let _ = actor.cast(RoomMsg::SetAttention {
                    sensor: sensor.clone(),
                    viewer: format!("viewer@{node}"),
                    level: AttentionLevel::High,
                    ttl: Duration::from_secs(10),
                });
            }
        }
    }
}

/// Nodes started so far, while the fleet comes up.
fn start_bar(opts: &RunOptions, nodes: usize) -> Option<indicatif::ProgressBar> {
    if !opts.progress {
        return None;
    }
    let bar = indicatif::ProgressBar::new(nodes as u64);
    let style =
        indicatif::ProgressStyle::with_template("starting [{bar:40}] {pos}/{len} nodes {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_position(1);
    Some(bar)
}

fn progress_bar(opts: &RunOptions) -> Option<indicatif::ProgressBar> {
    if !opts.progress {
        return None;
    }
    let bar = indicatif::ProgressBar::new(opts.sizes.duration.as_secs());
    let style = indicatif::ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} s  {msg}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_prefix(opts.scenario.name());
    Some(bar)
}
