//! What the harness reads off the running nodes: delivery (from each store's per-origin
//! contiguous sequence numbers), latency (from each store's commits), room state, process
//! memory and CPU.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldmesh_actors::model::{NodeId, RoomId};
use fieldmesh_actors::rooms::RoomMsg;
use fieldmesh_actors::store::{Store, now_us};
use tokio::task::JoinHandle;

use crate::fleet::Fleet;

/// Local-only events are numbered from here up; they never replicate.
const LOCAL_ONLY_SEQ: u64 = fieldmesh_actors::model::LOCAL_SEQ_BASE;

/// Latency samples (ms), shared by the commit watchers, of events made since the workload
/// began (what start-up made is the start-up's backlog, measured by `startup_s`).
#[derive(Clone, Default)]
pub struct Latencies(Arc<Mutex<Vec<f64>>>, Arc<AtomicU64>);

impl Latencies {
    /// Counts events made from now on.
    pub fn begin(&self) {
        self.1.store(now_us(), Ordering::Relaxed);
    }

    /// Watches `store`'s commits and records, for every replicated event of another origin
    /// made since [`Self::begin`], the time from its origin timestamp to its commit here.
    pub fn watch(&self, store: &Store) -> JoinHandle<()> {
        let me = store.local();
        let mut rx = store.subscribe();
        let sink = self.0.clone();
        let since = self.1.clone();
        tokio::spawn(async move {
            loop {
                let events = match rx.recv().await {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return,
                };
                let now = now_us();
                let from = since.load(Ordering::Relaxed);
                let mut v = sink.lock().unwrap_or_else(|p| p.into_inner());
                for e in events.iter() {
                    if e.origin != me && e.seq < LOCAL_ONLY_SEQ && e.ts_us >= from {
                        v.push(now.saturating_sub(e.ts_us) as f64 / 1000.0);
                    }
                }
            }
        })
    }

    /// Every sample so far.
    pub fn take(&self) -> Vec<f64> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Each running node's `origin → contiguous seq` (blocking reads, off the runtime).
pub async fn contiguous(fleet: &Fleet) -> Vec<(usize, HashMap<NodeId, u64>)> {
    let stores: Vec<(usize, Store)> = fleet
        .running()
        .into_iter()
        .filter_map(|i| {
            let node = fleet.nodes[i].node.as_ref()?;
            Some((i, node.runtime().store().clone()))
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        stores
            .into_iter()
            .map(|(i, s)| {
                let map = s
                    .origins()
                    .map(|o| o.into_iter().map(|(k, v)| (k, v.contiguous)).collect())
                    .unwrap_or_default();
                (i, map)
            })
            .collect()
    })
    .await
    .unwrap_or_default()
}

/// Replicated events each node has made (its own contiguous seq), updating `known` (nodes
/// that are away keep their last count).
pub async fn originated(fleet: &Fleet, known: &mut HashMap<NodeId, u64>) {
    for (i, map) in contiguous(fleet).await {
        let id = fleet.nodes[i].id;
        let own = map.get(&id).copied().unwrap_or(0);
        let k = known.entry(id).or_default();
        *k = (*k).max(own);
    }
}

/// Delivery of `expected` (origin → events made) to every node of the fleet: delivered
/// pairs, expected pairs, and per origin the share of other nodes holding all of it.
pub async fn delivery(
    fleet: &Fleet,
    expected: &HashMap<NodeId, u64>,
) -> (u64, u64, HashMap<NodeId, f64>) {
    let views = contiguous(fleet).await;
    let (mut got, mut want) = (0u64, 0u64);
    let mut complete: HashMap<NodeId, (u64, u64)> = HashMap::new();
    for v in &fleet.nodes {
        let view = views.iter().find(|(i, _)| *i == v.plan.index).map(|x| &x.1);
        for (origin, &made) in expected {
            if *origin == v.id {
                continue;
            }
            let have = view.and_then(|m| m.get(origin)).copied().unwrap_or(0);
            got += have.min(made);
            want += made;
            let c = complete.entry(*origin).or_default();
            c.1 += 1;
            if have >= made {
                c.0 += 1;
            }
        }
    }
    let shares = complete
        .into_iter()
        .map(|(o, (full, all))| (o, full as f64 / all.max(1) as f64))
        .collect();
    (got, want, shares)
}

/// Whether every running node's room `room` lists `member`.
pub async fn room_has_everywhere(fleet: &Fleet, room: &RoomId, member: &str) -> bool {
    for i in fleet.running() {
        let Some(node) = fleet.nodes[i].node.as_ref() else {
            continue;
        };
        let Some(actor) = node
            .runtime()
            .room_registry()
            .get(room)
            .and_then(|s| s.current())
        else {
            return false;
        };
        let snap = ractor::call_t!(actor, RoomMsg::Snapshot, 2000);
        match snap {
            Ok(state) if state.members.contains(member) => {}
            _ => return false,
        }
    }
    true
}

/// Resident memory of this process, MiB.
pub fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU time (user + system) this process used so far.
pub fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// Raises this process's open-file limit to its hard limit (hundreds of endpoints, stores
/// and sockets); returns the limit now in force.
pub fn raise_open_files() -> u64 {
    // SAFETY: get/setrlimit only read and write the struct we pass.
    unsafe {
        let mut l: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            return 0;
        }
        if l.rlim_cur < l.rlim_max {
            let want = libc::rlimit {
                rlim_cur: l.rlim_max,
                rlim_max: l.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
        l.rlim_cur
    }
}
