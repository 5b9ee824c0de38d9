//! What the mesh offers the HTTP API: the mesh view (directory, cluster sessions,
//! counters), artifact fetches and refines on the heavy-compute group, as closures.

use std::sync::Arc;

use fieldmesh_mesh::{MeshCounters, MeshNode};
use fieldmesh_ui::{ArtifactFetch, ArtifactRefine, MeshApi, MeshView};
use serde_json::json;

/// The API's handle on `mesh`.
pub fn mesh_api(mesh: &MeshNode) -> MeshApi {
    MeshApi {
        view: view(mesh),
        fetch: fetch(mesh),
        refine: refine(mesh),
    }
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
