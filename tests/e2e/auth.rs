//! Who gets in: every page and API call needs a login token except `/healthz`, `/metrics`
//! and the login routes; tokens come from a password login, a one-time link, or the node's
//! key (`fieldmesh token`); device keys are created, listed and revoked from the CLI.

use crate::common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::*;

fn cli(args: &[&str], data: &std::path::Path, stdin: Option<&str>) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn get_with(url: &str, auth: &str) -> (u16, String) {
    let mut r = agent()
        .get(url)
        .header("authorization", auth)
        .call()
        .unwrap();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (r.status().as_u16(), body)
}

#[test]
fn every_route_but_the_open_ones_needs_a_valid_token() {
    let root = tempfile::tempdir().unwrap();
    let (da, db) = (root.path().join("a"), root.path().join("b"));
    std::fs::create_dir_all(&da).unwrap();
    std::fs::create_dir_all(&db).unwrap();
    let mut a = spawn_node(&write_config(&da, "[mesh]\nenabled = false\n"));
    let http = wait_for_node(&da.join("data"), &mut a);
    for open in ["/healthz", "/metrics", "/login"] {
        let (status, body) = get_anon(&format!("http://{http}{open}"));
        assert_eq!(status, 200, "{open}: {body}");
    }
    let other = {
        // A token minted from another node's key is no good here.
        let mut b = spawn_node(&write_config(&db, "[mesh]\nenabled = false\n"));
        wait_for_node(&db.join("data"), &mut b);
        let (code, out, _) = cli(&["token"], &db.join("data"), None);
        assert_eq!(code, 0);
        terminate(&b);
        wait_exit(&mut b, Duration::from_secs(10));
        out.trim().to_string()
    };
    for path in [
        "/",
        "/api/v1/node",
        "/api/v1/events",
        "/api/v1/keys",
        "/api/v1/sensors/hr-1/waterfall",
    ] {
        let url = format!("http://{http}{path}");
        let (status, body) = get_anon(&url);
        assert_eq!(status, 401, "{path} without a token: {body}");
        assert!(body.contains("log in"), "{body}");
        for (bad, why) in [
            ("Bearer garbage", "invalid token"),
            (&*format!("Bearer {other}"), "invalid token"),
        ] {
            let (status, body) = get_with(&url, bad);
            assert_eq!(status, 401, "{path} with {bad}");
            assert!(body.contains(why), "{body}");
        }
        let (status, _) = get(&url);
        assert_ne!(status, 401, "{path} with this node's token");
    }
    terminate(&a);
    assert!(wait_exit(&mut a, Duration::from_secs(10)).is_some());
}

#[test]
fn people_log_in_with_passwords_or_one_time_links_and_devices_get_keys() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let config = write_config(root.path(), "[mesh]\nenabled = false\n");
    // Before the node runs: straight into its store.
    let mut a = spawn_node(&config);
    wait_for_node(&data, &mut a);
    terminate(&a);
    wait_exit(&mut a, Duration::from_secs(10));
    let (code, out, err) = cli(&["keys", "create", "watch-1"], &data, None);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("fmk_"), "{out}");
    let (code, _, err) = cli(&["users", "add", "ada"], &data, Some("short\n"));
    assert_eq!(code, 2, "a short password is refused: {err}");

    let mut a = spawn_node(&config);
    let http = wait_for_node(&data, &mut a);
    // While it runs: through its API.
    let (code, _, err) = cli(
        &["users", "add", "ada"],
        &data,
        Some("correct horse battery\n"),
    );
    assert_eq!(code, 0, "{err}");
    let login = |password: &str| {
        let mut r = agent()
            .post(&format!("http://{http}/api/v1/login"))
            .send_json(serde_json::json!({ "username": "ada", "password": password }))
            .unwrap();
        let status = r.status().as_u16();
        (status, r.body_mut().read_to_string().unwrap_or_default())
    };
    let (status, body) = login("wrong horse");
    assert_eq!(status, 401, "{body}");
    let (status, body) = login("correct horse battery");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = v["token"].as_str().unwrap();
    let (status, body) = get_with(
        &format!("http://{http}/api/v1/node"),
        &format!("Bearer {token}"),
    );
    assert_eq!(status, 200, "{body}");

    // A one-time link sets a session cookie, once.
    let (code, link, err) = cli(&["login-link"], &data, None);
    assert_eq!(code, 0, "{err}");
    let link = link.trim();
    let no_redirects = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .new_agent();
    let r = no_redirects.get(link).call().unwrap();
    assert_eq!(r.status().as_u16(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let pair = cookie.split(';').next().unwrap();
    let mut page = agent()
        .get(&format!("http://{http}/"))
        .header("cookie", pair)
        .call()
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.body_mut()
            .read_to_string()
            .unwrap()
            .contains("fieldmesh")
    );
    assert_eq!(
        no_redirects.get(link).call().unwrap().status().as_u16(),
        401,
        "used once"
    );

    // Device keys: created, listed, revoked — while the node runs.
    let (code, out, err) = cli(&["keys", "create", "strap-2"], &data, None);
    assert_eq!(code, 0, "{err}");
    let id = out
        .split("(id ")
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .to_string();
    let (_, list, _) = cli(&["keys", "list"], &data, None);
    let keys: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
    assert_eq!(keys.len(), 2, "{list}");
    let (code, out, err) = cli(&["keys", "revoke", &id], &data, None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revoked"));
    let (_, list, _) = cli(&["keys", "list"], &data, None);
    let keys: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
    let k = keys.iter().find(|k| k["id"] == id.as_str()).unwrap();
    assert!(k["revoked_us"].is_u64(), "{list}");
    let (code, _, err) = cli(&["keys", "revoke", "0000000000000000"], &data, None);
    assert_ne!(code, 0);
    assert!(err.contains("no key"), "{err}");
    terminate(&a);
    assert!(wait_exit(&mut a, Duration::from_secs(10)).is_some());
}
