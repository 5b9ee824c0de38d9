//! Rooms over the mesh: three nodes keep the same room; attention set on one node and a
//! member joining on another reach every node's room actor within 2 s.

use std::time::{Duration, Instant};

use fieldmesh_actors::model::{AttentionLevel, SensorId};
use fieldmesh_actors::rooms::{RoomMsg, RoomState};
use fieldmesh_mesh::{MeshJoin, MeshTicket};

mod common;
use common::*;

async fn snapshot(m: &Member) -> RoomState {
    ractor::call!(room(m), RoomMsg::Snapshot).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_change_reaches_every_node_within_two_seconds() {
    let a = member(MeshJoin::Create, vec![]).await;
    let ticket: MeshTicket = a.mesh.ticket();
    let b = member(MeshJoin::Ticket(ticket.clone()), vec![]).await;
    let c = member(MeshJoin::Ticket(ticket), vec![]).await;
    // Let the documents' swarms form.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let sensor = SensorId::new("sdr-1").unwrap();
    let t0 = Instant::now();
    room(&a)
        .cast(RoomMsg::SetAttention {
            sensor: sensor.clone(),
            viewer: "alice@a".into(),
            level: AttentionLevel::High,
            ttl: Duration::from_secs(60),
        })
        .unwrap();
    room(&b).cast(RoomMsg::Join("bob".into())).unwrap();
    loop {
        let mut done = true;
        for m in [&b, &c] {
            let level = ractor::call!(room(m), RoomMsg::Effective, sensor.clone()).unwrap();
            done &= level == AttentionLevel::High;
        }
        for m in [&a, &c] {
            done &= snapshot(m).await.members.contains("bob");
        }
        if done {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "room changes did not reach every node within 2 s: b {:?}, c {:?}",
            snapshot(&b).await,
            snapshot(&c).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!("room change everywhere after {:?}", t0.elapsed());

    // The directory: every node lists all three, with role and room.
    let t0 = Instant::now();
    loop {
        let mut lists = Vec::new();
        for m in [&a, &b, &c] {
            lists.push(m.mesh.directory().members().await.unwrap());
        }
        if lists.iter().all(|l| l.len() == 3) {
            assert!(lists.windows(2).all(|w| w[0] == w[1]), "{lists:?}");
            assert!(
                lists[0]
                    .iter()
                    .all(|m| m.role == "test" && m.rooms == ["ward"])
            );
            assert!(lists[0].iter().any(|m| m.id == a.mesh.id().to_string()));
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "directory: {lists:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The room is listed with its document's ticket, which parses and names its namespace.
    let t0 = Instant::now();
    loop {
        let rooms = c.mesh.directory().rooms().await.unwrap();
        if let Some(r) = rooms.first() {
            assert_eq!((r.id.as_str(), r.name.as_str()), ("ward", "Ward"));
            let t: iroh_docs::DocTicket = r.ticket.parse().unwrap();
            assert!(matches!(t.capability, iroh_docs::Capability::Write(_)));
            assert!(!t.nodes.is_empty());
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "no room listed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for m in [a, b, c] {
        m.mesh.shutdown().await;
        m.runtime.shutdown().await;
    }
}
