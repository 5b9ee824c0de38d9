//! The waterfall display stream through the real binary: a viewer of an SDR sensor gets
//! live binary rows over HTTP; a sensor without one is a clear 404 and the node keeps going.

use crate::common;

use std::io::Read;
use std::time::Duration;

use common::*;

#[test]
fn a_viewer_streams_waterfall_rows_and_a_wrong_sensor_is_a_clear_404() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        r#"
[[sensors]]
id = "sdr-1"
kind = "sdr"
[sensors.rf]
sample_rate_hz = 600000.0
window_samples = 16384
[sensors.rf.waterfall]
width = 512
rows_per_s = 40.0
"#,
    );
    let mut child = spawn_node(&config);
    let addr = wait_for_node(&dir.path().join("data"), &mut child);

    let (status, body) = get(&format!("http://{addr}/api/v1/sensors/hr-1/waterfall"));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("hr-1"), "{body}");

    let mut resp = agent()
        .get(&format!("http://{addr}/api/v1/sensors/sdr-1/waterfall"))
        .header("authorization", &bearer(&addr))
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let mut reader = resp.body_mut().as_reader();
    let mut buf = Vec::new();
    let mut frames = Vec::new();
    let mut chunk = [0u8; 4096];
    while frames.len() < 10 {
        let n = reader.read(&mut chunk).unwrap();
        assert!(n > 0, "the stream ended early");
        buf.extend_from_slice(&chunk[..n]);
        while let Some((f, len)) = fieldmesh_ui::decode_waterfall(&buf) {
            frames.push(f);
            buf.drain(..len);
        }
    }
    drop(reader);
    for f in &frames {
        assert_eq!(f.values.len(), 512);
        assert_eq!(f.span_hz, 600e3);
    }
    assert!(frames.windows(2).all(|w| w[1].row_index > w[0].row_index));

    // The node still serves after the viewer left.
    let (status, _) = get(&format!("http://{addr}/healthz"));
    assert_eq!(status, 200);
    terminate(&child);
    let exit = wait_exit(&mut child, Duration::from_secs(10)).expect("stops on SIGTERM");
    assert!(exit.success());
}
