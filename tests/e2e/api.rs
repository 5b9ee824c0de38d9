//! The REST API as documented: `/api/openapi.json` (open) lists every route, each logged-in
//! route answers 401 without a token, and the sensor endpoints (list, activity,
//! capabilities) say what the node runs and does.

use crate::common;

use std::time::Duration;

use common::*;
use fieldmesh_ui::{Access, ROUTES};

fn call(method: &str, url: &str, auth: Option<&str>) -> (u16, String) {
    let a = agent();
    let mut r = match (method, auth) {
        ("get", Some(t)) => a.get(url).header("authorization", t).call(),
        ("get", None) => a.get(url).call(),
        ("delete", Some(t)) => a.delete(url).header("authorization", t).call(),
        ("delete", None) => a.delete(url).call(),
        ("post", Some(t)) => a.post(url).header("authorization", t).send_empty(),
        (_, _) => a.post(url).send_empty(),
    }
    .unwrap();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (r.status().as_u16(), body)
}

#[test]
fn the_document_matches_the_router_and_sensors_report_what_they_do() {
    let root = tempfile::tempdir().unwrap();
    let config = write_config(
        root.path(),
        "[mesh]\nenabled = false\n[[rooms]]\nid = \"ward\"\n",
    );
    let mut node = spawn_node(&config);
    let http = wait_for_node(&root.path().join("data"), &mut node);

    let (status, body) = get_anon(&format!("http://{http}/api/openapi.json"));
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path, access, _, _) in ROUTES {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} undocumented"
        );
        let url = format!(
            "http://{http}{}",
            path.replace("{id}", "hr-1")
                .replace("{hash}", &"ab".repeat(32))
                .replace("{name}", "live.js")
                .replace("{page}", "events")
        );
        let (status, body) = call(method, &url, None);
        match access {
            Access::Login => assert_eq!(status, 401, "{method} {path}: {body}"),
            Access::Open if *method == "get" && !path.starts_with("/ws") => {
                assert_eq!(status, 200, "{method} {path}: {body}")
            }
            _ => assert_ne!(status, 404, "{method} {path} is routed"),
        }
    }

    std::thread::sleep(Duration::from_millis(600));
    let (status, body) = get(&format!("http://{http}/api/v1/sensors"));
    assert_eq!(status, 200, "{body}");
    let sensors: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sensors[0]["id"], "hr-1");
    assert_eq!(sensors[0]["kind"], "heart_rate");
    let (status, body) = get(&format!(
        "http://{http}/api/v1/sensors/hr-1/activity?window_s=30"
    ));
    assert_eq!(status, 200, "{body}");
    let act: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        act["per_s"]["measurement_batch"].as_f64().unwrap() > 0.0,
        "{act}"
    );
    for bad in ["hr-1/activity?window_s=0", "bad%20id/activity"] {
        let (status, body) = get(&format!("http://{http}/api/v1/sensors/{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = get(&format!("http://{http}/api/v1/capabilities"));
    assert_eq!(status, 200, "{body}");
    let caps: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(caps["colormaps"].as_array().unwrap().len(), 5, "{caps}");
    assert_eq!(caps["attention"]["high"]["batch_window_ms"], 50);

    // A room created while the node runs is kept after a restart; joining by ticket needs
    // a mesh, and says so.
    let made = post_json(
        &format!("http://{http}/api/v1/rooms"),
        serde_json::json!({"id": "night-shift", "name": "Night shift"}),
    );
    assert_eq!(made.0, 201, "{made:?}");
    let join = post_json(
        &format!("http://{http}/api/v1/rooms/join"),
        serde_json::json!({"ticket": "anything"}),
    );
    assert_eq!(join.0, 503, "{join:?}");
    terminate(&node);
    assert!(wait_exit(&mut node, Duration::from_secs(10)).is_some());
    let mut node = spawn_node(&config);
    let http = wait_for_node(&root.path().join("data"), &mut node);
    let (_, body) = get(&format!("http://{http}/api/v1/rooms"));
    assert!(
        body.contains("night-shift") && body.contains("Night shift"),
        "{body}"
    );
    assert!(body.contains("\"ward\""), "the configured room too: {body}");
    terminate(&node);
    assert!(wait_exit(&mut node, Duration::from_secs(10)).is_some());
}
