//! Scenarios as plans: from (scenario, sizes, seed) a fixed list of virtual nodes (role,
//! link, sensors) and timed actions (faults, churn, room changes, viewers). Plain data, no
//! I/O: the same seed gives the same workload and fault schedule.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

use crate::link::LinkProfile;

/// The scenarios the harness runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Sensors at their rates; some viewers watching some sensors.
    Steady,
    /// 30 % of nodes cut off, then healed.
    Partition,
    /// Nodes leave and come back with the same identity and data; new nodes join by ticket.
    Churn,
    /// 10 % packet loss on a share of links.
    LossyUplink,
    /// A few nodes on ~10 kbit/s links.
    KbpsIsland,
    /// Datacenter nodes pull candidate IQ from sensor nodes.
    DatacenterPull,
}

impl Scenario {
    /// Its name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Steady => "steady",
            Self::Partition => "partition",
            Self::Churn => "churn",
            Self::LossyUplink => "lossy-uplink",
            Self::KbpsIsland => "kbps-island",
            Self::DatacenterPull => "datacenter-pull",
        }
    }
}

/// What a virtual node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Sensor node: a heart-rate sensor (local batches) and heartbeats.
    Edge,
    /// Sensor node with a simulated radio in full mode (candidates with IQ evidence).
    Radio,
    /// kbps island: constrained role, a band-energy radio (compact alerts).
    Island,
    /// Datacenter: no sensors, pulls candidate IQ.
    Datacenter,
}

/// One virtual node of the plan.
#[derive(Clone, Debug)]
pub struct NodePlan {
    /// Index (0 creates the mesh).
    pub index: usize,
    /// What it runs.
    pub kind: Kind,
    /// Its access link.
    pub link: LinkProfile,
    /// Starts with the run (`false`: joins by ticket later, see [`Action::Join`]).
    pub at_start: bool,
}

/// Something the harness does at a time.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Cut these nodes off from the rest.
    Partition(Vec<usize>),
    /// End the partition.
    Heal,
    /// The node stops (its data stays).
    Leave(usize),
    /// The node starts again with the same identity and data.
    Return(usize),
    /// A node not started yet joins by ticket.
    Join(usize),
    /// A person joins room `room` on node `node`.
    RoomChange {
        /// Where the change is made.
        node: usize,
        /// Room index.
        room: usize,
        /// Member name (unique per change).
        member: String,
    },
    /// A viewer on `node` watches the sensors of `sensor_node` (attention hint, refreshed).
    Watch {
        /// The viewer's node.
        node: usize,
        /// Whose sensor.
        sensor_node: usize,
    },
}

/// A whole run, before it runs.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The nodes.
    pub nodes: Vec<NodePlan>,
    /// Timed actions, in time order.
    pub actions: Vec<(Duration, Action)>,
}

/// Sizes of a run.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Virtual nodes, datacenters included.
    pub nodes: usize,
    /// Datacenter nodes among them.
    pub datacenters: usize,
    /// Rooms every node keeps.
    pub rooms: usize,
    /// Workload time.
    pub duration: Duration,
}

/// The plan of `scenario` for `sizes` with `seed`.
pub fn plan(scenario: Scenario, sizes: Sizes, seed: u64) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = sizes.nodes.max(2);
    let dc = match scenario {
        Scenario::DatacenterPull => sizes.datacenters.max(1),
        _ => sizes.datacenters,
    }
    .min(n - 1);
    let t = sizes.duration.as_secs_f64();
    let at = |s: f64| Duration::from_secs_f64(s.clamp(0.0, t));
    // Node 0 (the mesh's first node) and the datacenters sit on LANs; the rest on WAN links.
    let mut nodes: Vec<NodePlan> = (0..n)
        .map(|index| {
            let datacenter = index >= 1 && index <= dc;
            NodePlan {
                index,
                kind: if datacenter {
                    Kind::Datacenter
                } else {
                    Kind::Edge
                },
                link: if index == 0 || datacenter {
                    LinkProfile::lan()
                } else {
                    LinkProfile::wan()
                },
                at_start: true,
            }
        })
        .collect();
    let mut others: Vec<usize> = (dc + 1..n).collect();
    others.shuffle(&mut rng);
    let mut actions = Vec::new();
    match scenario {
        Scenario::Steady => {}
        Scenario::Partition => {
            let cut = (n * 3).div_ceil(10).min(others.len());
            let start = t * 0.2;
            let end = start + (t * 0.5).min(30.0);
            actions.push((at(start), Action::Partition(sorted(&others[..cut]))));
            actions.push((at(end), Action::Heal));
        }
        Scenario::Churn => {
            let leaving = (n / 10).max(1).min(others.len());
            for &i in &others[..leaving] {
                let leave = rng.random_range(t * 0.1..t * 0.5);
                let back = leave + rng.random_range(3.0..(t * 0.3).max(3.5));
                actions.push((at(leave), Action::Leave(i)));
                actions.push((at(back), Action::Return(i)));
            }
            let late = (n / 20).max(1).min(others.len() - leaving);
            for &i in &others[leaving..leaving + late] {
                nodes[i].at_start = false;
                actions.push((at(rng.random_range(t * 0.1..t * 0.6)), Action::Join(i)));
            }
        }
        Scenario::LossyUplink => {
            let lossy = (n * 3).div_ceil(10).min(others.len());
            for &i in &others[..lossy] {
                nodes[i].link = LinkProfile::lossy();
            }
        }
        Scenario::KbpsIsland => {
            let islands = (n / 50).clamp(1, 3).min(others.len());
            for &i in &others[..islands] {
                nodes[i].kind = Kind::Island;
                nodes[i].link = LinkProfile::island();
            }
        }
        Scenario::DatacenterPull => {
            let radios = (n / 10).clamp(1, 4).min(others.len());
            for &i in &others[..radios] {
                nodes[i].kind = Kind::Radio;
            }
        }
    }
    // Every scenario: a room change every ~10 s (at least three), and viewers on ~5 % of
    // nodes watching one sensor node each.
    let changes = ((t / 10.0) as usize).max(3);
    for c in 0..changes {
        let when = t * (c as f64 + 0.5) / changes as f64;
        let node = pick_up(&mut rng, &nodes, &actions);
        actions.push((
            at(when),
            Action::RoomChange {
                node,
                room: rng.random_range(0..sizes.rooms.max(1)),
                member: format!("person-{c}"),
            },
        ));
    }
    let sensor_nodes: Vec<usize> = nodes
        .iter()
        .filter(|p| p.kind != Kind::Datacenter)
        .map(|p| p.index)
        .collect();
    for _ in 0..(n / 20).max(1) {
        let node = pick_up(&mut rng, &nodes, &actions);
        let sensor_node = sensor_nodes[rng.random_range(0..sensor_nodes.len())];
        actions.push((at(1.0), Action::Watch { node, sensor_node }));
    }
    actions.sort_by_key(|(t, _)| *t);
    Plan { nodes, actions }
}

fn sorted(v: &[usize]) -> Vec<usize> {
    let mut v = v.to_vec();
    v.sort_unstable();
    v
}

/// A node that is up the whole run (started at the beginning, never away or cut off).
fn pick_up(rng: &mut StdRng, nodes: &[NodePlan], actions: &[(Duration, Action)]) -> usize {
    let away = |i: usize| {
        actions.iter().any(|(_, a)| match a {
            Action::Leave(j) | Action::Join(j) => *j == i,
            Action::Partition(cut) => cut.contains(&i),
            _ => false,
        })
    };
    let up: Vec<usize> = nodes
        .iter()
        .filter(|p| p.at_start && !away(p.index))
        .map(|p| p.index)
        .collect();
    up.get(rng.random_range(0..up.len().max(1)))
        .copied()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(nodes: usize) -> Sizes {
        Sizes {
            nodes,
            datacenters: 1,
            rooms: 2,
            duration: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
        let a = plan(Scenario::Churn, sizes(100), 7);
        let b = plan(Scenario::Churn, sizes(100), 7);
        let c = plan(Scenario::Churn, sizes(100), 8);
        assert_eq!(a.actions, b.actions);
        assert_ne!(a.actions, c.actions);
    }

    #[test]
    fn a_partition_cuts_thirty_percent_then_heals() {
        let p = plan(Scenario::Partition, sizes(100), 1);
        let cut = p.actions.iter().find_map(|(t, a)| match a {
            Action::Partition(c) => Some((*t, c.clone())),
            _ => None,
        });
        let (start, cut) = cut.expect("a partition");
        assert_eq!(cut.len(), 30);
        assert!(
            !cut.contains(&0) && !cut.contains(&1),
            "first node and dc stay"
        );
        let heal = p.actions.iter().find(|(_, a)| *a == Action::Heal);
        assert_eq!(heal.map(|(t, _)| *t - start), Some(Duration::from_secs(30)));
    }

    #[test]
    fn churned_nodes_come_back_and_late_nodes_join() {
        let p = plan(Scenario::Churn, sizes(100), 3);
        for (t, a) in &p.actions {
            if let Action::Leave(i) = a {
                let back = p.actions.iter().find(|(_, b)| *b == Action::Return(*i));
                assert!(back.is_some_and(|(tb, _)| tb > t), "node {i} returns");
            }
        }
        let late = p.nodes.iter().filter(|n| !n.at_start).count();
        let joins = p
            .actions
            .iter()
            .filter(|(_, a)| matches!(a, Action::Join(_)))
            .count();
        assert_eq!((late, joins), (5, 5));
    }

    #[test]
    fn room_changes_are_made_on_nodes_that_are_up() {
        let p = plan(Scenario::Partition, sizes(30), 5);
        let cut: Vec<usize> = p
            .actions
            .iter()
            .find_map(|(_, a)| match a {
                Action::Partition(c) => Some(c.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let changes: Vec<usize> = p
            .actions
            .iter()
            .filter_map(|(_, a)| match a {
                Action::RoomChange { node, .. } => Some(*node),
                _ => None,
            })
            .collect();
        assert!(changes.len() >= 3);
        assert!(changes.iter().all(|n| !cut.contains(n)));
    }

    #[test]
    fn islands_get_island_links() {
        let p = plan(Scenario::KbpsIsland, sizes(100), 2);
        let islands: Vec<&NodePlan> = p.nodes.iter().filter(|n| n.kind == Kind::Island).collect();
        assert_eq!(islands.len(), 2);
        assert!(islands.iter().all(|n| n.link.kbps == Some(10.0)));
    }
}
