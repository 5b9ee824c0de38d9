//! What the mesh offers the HTTP API: the mesh view (directory, cluster sessions,
//! counters), artifact fetches and refines on the heavy-compute group, as closures.

use std::sync::Arc;

use fieldmesh_actors::store::Store;
use fieldmesh_mesh::{MeshCounters, MeshNode};
use fieldmesh_ui::{ArtifactFetch, ArtifactRefine, MeshApi, MeshStats, MeshStatsFn, MeshView};
use serde_json::json;

/// The API's handle on `mesh` (and on `store`, for the sync lag).
pub fn mesh_api(mesh: &MeshNode, store: Store) -> MeshApi {
    MeshApi {
        view: view(mesh),
        fetch: fetch(mesh),
        refine: refine(mesh),
        stats: stats(mesh, store),
    }
}

fn stats(m: &MeshNode, store: Store) -> MeshStatsFn {
    let (counters, members) = (m.counters().clone(), m.members().clone());
    let cluster = m.cluster_peers().cloned();
    Arc::new(move || {
        let get = MeshCounters::get;
        let missing = store
            .origins()
            .map(|o| {
                o.values()
                    .map(|s| s.max_seen - s.contiguous.min(s.max_seen))
                    .sum()
            })
            .unwrap_or(0);
        MeshStats {
            members: members.len() as u64,
            cluster_up: cluster
                .as_ref()
                .map_or(0, |c| c.snapshot().0.iter().filter(|p| p.up).count() as u64),
            received: get(&counters.received),
            caught_up: get(&counters.caught_up),
            forged: get(&counters.forged),
            malformed: get(&counters.malformed),
            refused: get(&counters.refused),
            missing_events: missing,
            live_out: get(&counters.live_out),
            live_in: get(&counters.live_in),
        }
    })
}

fn view(m: &MeshNode) -> MeshView {
    let (dir, counters, id) = (m.directory().clone(), m.counters().clone(), m.id());
    let cluster = m.cluster_peers().cloned();
    Arc::new(move || {
        let (dir, c, cluster) = (dir.clone(), counters.clone(), cluster.clone());
        Box::pin(async move {
            let members = dir.members().await.map_err(|e| e.to_string())?;
            let rooms = dir.rooms().await.map_err(|e| e.to_string())?;
            let get = MeshCounters::get;
            let cluster = cluster.map(|p| {
                let (peers, ups, downs) = p.snapshot();
                json!({ "peers": peers, "ups": ups, "downs": downs })
            });
            Ok(json!({
                "id": id.to_string(),
                "members": members,
                "rooms": rooms,
                "cluster": cluster,
                "counters": {
                    "received": get(&c.received),
                    "broadcast": get(&c.broadcast),
                    "caught_up": get(&c.caught_up),
                    "forged": get(&c.forged),
                    "malformed": get(&c.malformed),
                    "refused": get(&c.refused),
                    "join_refused": get(&c.join_refused),
                    "live_out": get(&c.live_out),
                    "live_in": get(&c.live_in),
                },
            }))
        })
    })
}

fn fetch(m: &MeshNode) -> ArtifactFetch {
    let share = m.artifacts().clone();
    Arc::new(move |hash| {
        let share = share.clone();
        Box::pin(async move { share.fetch(hash).await.map_err(|e| e.to_string()) })
    })
}

fn refine(m: &MeshNode) -> ArtifactRefine {
    let refiner = m.refiner();
    Arc::new(move |hash, nfft| {
        let refiner = refiner.clone();
        Box::pin(async move {
            let Some(r) = refiner else {
                return Err("this node runs without the cluster (mesh.cluster = false)".into());
            };
            let reply = r.refine(hash, nfft).await.map_err(|e| e.to_string())?;
            serde_json::to_value(reply).map_err(|e| e.to_string())
        })
    })
}
