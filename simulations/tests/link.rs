//! The shaped network under real iroh endpoints: latency, bandwidth, loss and partitions
//! are applied, and what each node sent and received is counted. (Times are checked as
//! lower bounds only: shaping can only make things slower, never faster.)

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fieldmesh_mesh::LinkNetwork;
use fieldmesh_sim::link::{LinkCounters, LinkProfile, ShapedNetwork};
use iroh::endpoint::{Connection, presets};
use iroh::protocol::{AcceptError, ProtocolHandler, Router};
use iroh::{Endpoint, EndpointAddr, SecretKey};

const ECHO: &[u8] = b"fieldmesh-sim/echo/0";

#[derive(Debug, Clone)]
struct Echo;

impl ProtocolHandler for Echo {
    async fn accept(&self, c: Connection) -> Result<(), AcceptError> {
        let (mut send, mut recv) = c.accept_bi().await?;
        tokio::io::copy(&mut recv, &mut send).await?;
        send.finish()?;
        c.closed().await;
        Ok(())
    }
}

async fn endpoint(
    net: &ShapedNetwork,
    seed: u8,
    link: LinkProfile,
) -> (Endpoint, Arc<LinkCounters>) {
    let key = SecretKey::from_bytes(&[seed; 32]);
    let counters = Arc::new(LinkCounters::default());
    net.attach(key.public(), link, counters.clone());
    let ep = Endpoint::builder(presets::Minimal)
        .secret_key(key.clone())
        .clear_ip_transports()
        .add_custom_transport(net.transport(key.public()))
        .bind()
        .await
        .expect("bind");
    ep.address_lookup().expect("open").add_boxed(net.lookup());
    (ep, counters)
}

/// Sends `bytes` to the echo server of `to` and reads them back; the time it took.
async fn echo(from: &Endpoint, to: &Endpoint, bytes: usize) -> anyhow::Result<Duration> {
    let t0 = Instant::now();
    let c = from.connect(EndpointAddr::new(to.id()), ECHO).await?;
    let (mut send, mut recv) = c.open_bi().await?;
    send.write_all(&vec![7u8; bytes]).await?;
    send.finish()?;
    let back = recv.read_to_end(bytes + 1).await?;
    anyhow::ensure!(back.len() == bytes, "echoed {} of {bytes}", back.len());
    c.close(0u32.into(), b"done");
    Ok(t0.elapsed())
}

fn profile(latency_ms: f64, kbps: Option<f64>, loss: f64) -> LinkProfile {
    LinkProfile {
        name: "test".into(),
        latency_ms,
        jitter_ms: 0.0,
        loss,
        kbps,
        queue_ms: 10_000.0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_and_bandwidth_are_applied_and_bytes_counted() {
    let net = ShapedNetwork::new(1);
    let (a, ca) = endpoint(&net, 1, profile(25.0, None, 0.0)).await;
    let (b, cb) = endpoint(&net, 2, profile(25.0, Some(64.0), 0.0)).await;
    let _router = Router::builder(b.clone()).accept(ECHO, Echo).spawn();
    // Handshake (1 RTT) + the echo (1 RTT), each RTT ≥ 2 × (25 + 25) ms.
    let small = echo(&a, &b, 100)
        .await
        .expect("echo over the shaped network");
    assert!(small >= Duration::from_millis(200), "{small:?}");
    // 16 KiB back through b's 64 kbit/s uplink alone takes ≥ 2 s.
    let big = echo(&a, &b, 16 * 1024).await.expect("echo 16 KiB");
    assert!(big >= Duration::from_secs(2), "{big:?}");
    let sent_b = cb.sent.load(Ordering::Relaxed);
    assert!(sent_b >= 16 * 1024, "b sent {sent_b}");
    assert!(ca.received.load(Ordering::Relaxed) >= 16 * 1024);
    assert!(
        cb.handshake.load(Ordering::Relaxed) > 0,
        "handshake bytes counted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_cuts_and_the_heal_restores() {
    let net = ShapedNetwork::new(2);
    let (a, ca) = endpoint(&net, 3, profile(1.0, None, 0.0)).await;
    let (b, _) = endpoint(&net, 4, profile(1.0, None, 0.0)).await;
    let _router = Router::builder(b.clone()).accept(ECHO, Echo).spawn();
    net.partition([b.id()]);
    let cut = tokio::time::timeout(Duration::from_secs(3), echo(&a, &b, 10)).await;
    assert!(!matches!(cut, Ok(Ok(_))), "nothing crosses a partition");
    assert!(ca.dropped.load(Ordering::Relaxed) > 0);
    net.heal();
    echo(&a, &b, 10).await.expect("through after the heal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_losing_everything_delivers_nothing() {
    let net = ShapedNetwork::new(3);
    let (a, ca) = endpoint(&net, 5, profile(1.0, None, 1.0)).await;
    let (b, cb) = endpoint(&net, 6, profile(1.0, None, 0.0)).await;
    let _router = Router::builder(b.clone()).accept(ECHO, Echo).spawn();
    let lost = tokio::time::timeout(Duration::from_secs(2), echo(&a, &b, 10)).await;
    assert!(!matches!(lost, Ok(Ok(_))));
    assert!(ca.dropped.load(Ordering::Relaxed) > 0);
    assert_eq!(cb.received.load(Ordering::Relaxed), 0);
}
