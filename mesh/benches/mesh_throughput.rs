//! Mesh speed on loopback, one process: replicated events/s between 2 and across 10 nodes
//! (~100-byte events), end-to-end latency at 1,000 events/s, and plain loopback TCP as the
//! ceiling, all in one run. `cargo bench -p fieldmesh-mesh --bench mesh_throughput`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fieldmesh_actors::metrics::NodeMetrics;
use fieldmesh_actors::model::{EventDraft, NodeId, Payload, encode_event};
use fieldmesh_actors::store::{Store, StoreConfig, now_us};
use fieldmesh_mesh::{MeshConfig, MeshJoin, MeshLocal, MeshNode};
use iroh::SecretKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Bench {
    store: Store,
    mesh: MeshNode,
    _dir: tempfile::TempDir,
}

async fn node(how: MeshJoin) -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let key: [u8; 32] = rand::random();
    let id = NodeId::from_bytes(*SecretKey::from_bytes(&key).public().as_bytes());
    let store = Store::open(
        dir.path(),
        id,
        StoreConfig::default(),
        Arc::new(NodeMetrics::default()),
    )
    .expect("store");
    let cfg = MeshConfig {
        catchup_every: Duration::from_millis(500),
        ..MeshConfig::default()
    };
    let mesh = MeshNode::start(&cfg, key, store.clone(), how, MeshLocal::default())
        .await
        .expect("mesh");
    Bench {
        store,
        mesh,
        _dir: dir,
    }
}

async fn mesh_of(n: usize) -> Vec<Bench> {
    let first = node(MeshJoin::Create).await;
    let ticket = first.mesh.ticket();
    let mut all = vec![first];
    for _ in 1..n {
        all.push(node(MeshJoin::Ticket(ticket.clone())).await);
    }
    let t0 = Instant::now();
    while all.iter().any(|b| b.mesh.members().len() < n) && t0.elapsed() < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    all
}

/// A ~100-byte event.
fn small(i: u64) -> EventDraft {
    EventDraft {
        ts_us: now_us(),
        sensor: None,
        room: None,
        body: Payload::Heartbeat {
            role: "bench".into(),
            uptime_s: i,
            sensors: 1,
            events_stored: i,
            restarts: 0,
            battery: None,
        },
    }
}

/// Appends `n` events on `nodes[0]` in batches; events/s until every other node has them.
async fn throughput(nodes: &[Bench], n: u64) -> f64 {
    let before: Vec<u64> = nodes.iter().map(|b| b.store.count().unwrap_or(0)).collect();
    let t0 = Instant::now();
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        nodes[0]
            .store
            .append_local(chunk.iter().map(|i| small(*i)).collect())
            .await
            .expect("append");
    }
    loop {
        let done = nodes[1..]
            .iter()
            .zip(&before[1..])
            .all(|(b, was)| b.store.count().unwrap_or(0) >= was + n);
        if done || t0.elapsed() > Duration::from_secs(120) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

/// Origin timestamp → committed on `nodes[1]`, at `rate` events/s for `secs`.
async fn latency(nodes: &[Bench], rate: u64, secs: u64) -> (f64, f64, f64, usize) {
    let mut rx = nodes[1].store.subscribe();
    let origin = nodes[0].store.local();
    let collect = tokio::spawn(async move {
        let mut lat = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(secs + 5);
        while let Ok(Ok(batch)) = tokio::time::timeout_at(deadline.into(), rx.recv()).await {
            let now = now_us();
            lat.extend(
                batch
                    .iter()
                    .filter(|e| e.origin == origin)
                    .map(|e| (now.saturating_sub(e.ts_us)) as f64 / 1e3),
            );
        }
        lat
    });
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    for i in 0..rate * secs {
        tick.tick().await;
        nodes[0]
            .store
            .append_local(vec![small(i)])
            .await
            .expect("append");
    }
    let mut lat = collect.await.unwrap_or_default();
    lat.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        lat.get(((lat.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    (
        pick(0.5),
        pick(0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        lat.len(),
    )
}

/// A `mb`-MB artifact made on `nodes[0]`, fetched by `nodes[1]` once it has heard of it:
/// MB/s (timed from the request to the verified copy stored).
async fn artifact_transfer(nodes: &[Bench], mb: usize) -> f64 {
    use fieldmesh_actors::model::ArtifactKind;
    let bytes: Vec<u8> = (0..mb << 20).map(|i| (i * 31 % 251) as u8).collect();
    let origin = nodes[0].store.local();
    let ptr = nodes[0]
        .store
        .artifacts()
        .put(ArtifactKind::IqWindow, None, &bytes, origin, now_us())
        .expect("put");
    let before = nodes[1].store.count().unwrap_or(0);
    nodes[0]
        .store
        .append_local(vec![EventDraft {
            ts_us: now_us(),
            sensor: None,
            room: None,
            body: Payload::ArtifactAvailable(ptr.clone()),
        }])
        .await
        .expect("announce");
    let t0 = Instant::now();
    while nodes[1].store.count().unwrap_or(0) == before && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The origin offers it once its announcement is committed; give that a moment.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t0 = Instant::now();
    nodes[1]
        .mesh
        .artifacts()
        .fetch(ptr.hash)
        .await
        .expect("fetch");
    (bytes.len() as f64 / 1e6) / t0.elapsed().as_secs_f64()
}

/// Plain loopback TCP, MB/s.
async fn tcp_ceiling(mb: usize) -> f64 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0usize;
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
            got += n;
        }
        got
    });
    let mut c = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let chunk = vec![7u8; 1 << 16];
    let t0 = Instant::now();
    for _ in 0..(mb << 4) {
        c.write_all(&chunk).await.expect("write");
    }
    c.shutdown().await.expect("shutdown");
    let got = server.await.unwrap_or(0);
    got as f64 / 1e6 / t0.elapsed().as_secs_f64()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let size = encode_event(&fieldmesh_actors::model::Event::seal(
            NodeId::from_bytes([1; 32]),
            1,
            small(1),
        ))
        .map(|b| b.len())
        .unwrap_or(0);
        println!("mesh on loopback, one process, 2 cores; events of {size} bytes encoded");
        let tcp = tcp_ceiling(512).await;
        println!(
            "{:<46} {:>12.0} MB/s",
            "loopback TCP, one stream (ceiling)", tcp
        );

        let two = mesh_of(2).await;
        let eps2 = throughput(&two, 20_000).await;
        println!(
            "{:<46} {:>12.0} events/s  ({:.2} MB/s of events)",
            "2 nodes: replicated",
            eps2,
            eps2 * size as f64 / 1e6
        );
        let (p50, p99, max, n) = latency(&two, 1_000, 3).await;
        println!(
            "{:<46} p50 {p50:.1} ms · p99 {p99:.1} ms · max {max:.1} ms ({n} events)",
            "2 nodes: latency at 1,000 events/s"
        );
        let mbs = artifact_transfer(&two, 64).await;
        println!(
            "{:<46} {:>12.0} MB/s  ({:.2} of the TCP ceiling)",
            "2 nodes: 64 MB artifact fetched (iroh-blobs)",
            mbs,
            mbs / tcp
        );
        for b in two {
            b.mesh.shutdown().await;
            b.store.close().await;
        }

        let ten = mesh_of(10).await;
        let eps10 = throughput(&ten, 10_000).await;
        println!(
            "{:<46} {:>12.0} events/s  (to each of 9 peers)",
            "10 nodes: replicated", eps10
        );
        for b in ten {
            b.mesh.shutdown().await;
            b.store.close().await;
        }
    });
}
