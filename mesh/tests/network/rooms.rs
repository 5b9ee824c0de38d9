//! Rooms over the mesh: three nodes keep the same room; attention set on one node and a
//! member joining on another reach every node's room actor within 2 s.

use std::time::{Duration, Instant};

use fieldmesh_actors::model::{AttentionLevel, SensorId};
use fieldmesh_actors::rooms::{RoomMsg, RoomState};
use fieldmesh_mesh::{MeshJoin, MeshTicket};

use crate::common;
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
    let alice_watches = || {
        let hint = RoomMsg::SetAttention {
            sensor: sensor.clone(),
            viewer: "alice@a".into(),
            level: AttentionLevel::High,
            ttl: Duration::from_secs(60),
        };
        room(&a).cast(hint).unwrap();
    };
    let t0 = Instant::now();
    alice_watches();
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

    // A refresh moves the hint's expiry on every node; each node dates it as `a` did (the
    // entry carries its time to live in whole seconds).
    let expiry =
        |r: &fieldmesh_actors::rooms::RoomState| r.attention[&sensor]["alice@a"].expires_us as i64;
    let first = expiry(&snapshot(&a).await);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    alice_watches();
    let t0 = Instant::now();
    let refreshed = loop {
        let at_a = expiry(&snapshot(&a).await);
        let (at_b, at_c) = (expiry(&snapshot(&b).await), expiry(&snapshot(&c).await));
        if at_a > first && at_b > first + 500_000 && at_c > first + 500_000 {
            break [at_a, at_b, at_c];
        }
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "refresh not seen: {first} → a {at_a}, b {at_b}, c {at_c}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for at in &refreshed[1..] {
        assert!(
            (at - refreshed[0]).abs() <= 600_000,
            "expiries differ by more than the rounding: {refreshed:?}"
        );
    }

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

/// A room created on one node while it runs is listed in the directory with its ticket;
/// another node joins it (by the id the ticket is listed under) and a hint set on the
/// first reaches the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_created_while_running_is_listed_and_joined() {
    use fieldmesh_actors::model::RoomId;
    use fieldmesh_actors::rooms::RoomConfig;
    let a = member(MeshJoin::Create, vec![]).await;
    let b = member(MeshJoin::Ticket(a.mesh.ticket()), vec![]).await;
    let id = RoomId::new("ward-2").unwrap();
    let cfg = RoomConfig {
        id: id.clone(),
        name: "Ward 2".into(),
    };
    a.runtime.room_keeper().add(cfg.clone()).await.unwrap();
    let again = a.runtime.room_keeper().add(cfg.clone()).await.unwrap_err();
    assert!(again.contains("already"), "{again}");

    // Listed (with a ticket) where b can see it, and a's entry names it.
    let t0 = Instant::now();
    let entry = loop {
        let rooms = b.mesh.directory().rooms().await.unwrap();
        if let Some(r) = rooms.iter().find(|r| r.id == "ward-2") {
            break r.clone();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "not listed: {rooms:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(entry.name, "Ward 2");
    assert!(entry.ticket.parse::<iroh_docs::DocTicket>().is_ok());
    let t0 = Instant::now();
    loop {
        let members = b.mesh.directory().members().await.unwrap();
        let me = a.mesh.id().to_string();
        if members
            .iter()
            .any(|m| m.id == me && m.rooms.contains(&"ward-2".to_string()))
        {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(5), "{members:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    b.runtime.room_keeper().add(cfg).await.unwrap();
    let on = |m: &Member| m.runtime.rooms()[&id].current().expect("room actor");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sensor = SensorId::new("sdr-9").unwrap();
    on(&a)
        .cast(RoomMsg::SetAttention {
            sensor: sensor.clone(),
            viewer: "alice@a".into(),
            level: AttentionLevel::Medium,
            ttl: Duration::from_secs(60),
        })
        .unwrap();
    let t0 = Instant::now();
    while ractor::call!(on(&b), RoomMsg::Effective, sensor.clone()).unwrap()
        != AttentionLevel::Medium
    {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the hint never reached b"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for m in [a, b] {
        m.mesh.shutdown().await;
        m.runtime.shutdown().await;
    }
}
