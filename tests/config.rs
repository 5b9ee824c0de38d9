//! Configuration: the shipped files load; wrong types, unknown keys and out-of-range values
//! from a file or from the environment fail with the key, the value and the source, exit 2.
#![allow(clippy::result_large_err)] // figment::Jail closures return figment::Error

#[path = "e2e/common/mod.rs"]
mod common;

use std::path::Path;

use fieldmesh::config::{ConfigError, Problem, Role, load};
use figment::Jail;

fn problems(e: ConfigError) -> Vec<Problem> {
    match e {
        ConfigError::Invalid(p) => p,
        other => panic!("expected invalid config, got {other}"),
    }
}

const BASE: &str = "role = \"dev\"\ndata_dir = \"d\"\n";

#[test]
fn shipped_configs_load() {
    Jail::expect_with(|_| {
        for (name, role) in [
            ("dev", Role::Dev),
            ("edge", Role::Edge),
            ("constrained", Role::Constrained),
            ("datacenter", Role::Datacenter),
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("config")
                .join(format!("{name}.toml"));
            let c = load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.role, role);
        }
        Ok(())
    });
}

#[test]
fn env_overrides_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file("c.toml", &format!("{BASE}[ui]\nport = 8080\n"))?;
        jail.set_env("FIELDMESH_UI__PORT", "9000");
        jail.set_env("FIELDMESH_STORE__HOT_PER_SENSOR", "7");
        let c = load(Path::new("c.toml")).unwrap();
        assert_eq!(c.ui.port, 9000);
        assert_eq!(c.store.hot_per_sensor, 7);
        Ok(())
    });
}

#[test]
fn wrong_type_in_file_names_key_value_and_file() {
    Jail::expect_with(|jail| {
        jail.create_file("c.toml", &format!("{BASE}[ui]\nport = \"eighty\"\n"))?;
        let p = problems(load(Path::new("c.toml")).unwrap_err());
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, "ui.port");
        assert_eq!(p[0].value.as_deref(), Some("string \"eighty\""));
        assert_eq!(p[0].origin, "file c.toml");
        Ok(())
    });
}

#[test]
fn wrong_type_in_env_names_the_variable() {
    Jail::expect_with(|jail| {
        jail.create_file("c.toml", BASE)?;
        jail.set_env("FIELDMESH_UI__PORT", "abc");
        let p = problems(load(Path::new("c.toml")).unwrap_err());
        assert_eq!(p[0].key, "ui.port");
        assert_eq!(p[0].origin, "env FIELDMESH_UI__PORT");
        assert!(p[0].value.as_deref().unwrap().contains("abc"));
        Ok(())
    });
}

#[test]
fn unknown_keys_fail_from_file_and_env() {
    Jail::expect_with(|jail| {
        jail.create_file("c.toml", &format!("{BASE}[ui]\nprot = 1\n"))?;
        let p = problems(load(Path::new("c.toml")).unwrap_err());
        assert_eq!(
            (
                p[0].key.as_str(),
                p[0].message.as_str(),
                p[0].origin.as_str()
            ),
            ("ui.prot", "unknown key", "file c.toml")
        );

        jail.create_file("c.toml", BASE)?;
        jail.set_env("FIELDMESH_STORE__HOT", "3");
        let p = problems(load(Path::new("c.toml")).unwrap_err());
        assert_eq!(
            (p[0].key.as_str(), p[0].origin.as_str()),
            ("store.hot", "env FIELDMESH_STORE__HOT")
        );
        Ok(())
    });
}

#[test]
fn out_of_range_values_fail_with_their_source() {
    Jail::expect_with(|jail| {
        jail.create_file("c.toml", &format!("{BASE}[store]\ncommit_max_batch = 0\n"))?;
        jail.set_env("FIELDMESH_HEARTBEAT__INTERVAL_MS", "5");
        let p = problems(load(Path::new("c.toml")).unwrap_err());
        let find = |k: &str| {
            p.iter()
                .find(|x| x.key == k)
                .unwrap_or_else(|| panic!("no problem for {k}: {p:?}"))
        };
        let batch = find("store.commit_max_batch");
        assert_eq!(
            (batch.value.as_deref(), batch.origin.as_str()),
            (Some("0"), "file c.toml")
        );
        let hb = find("heartbeat.interval_ms");
        assert_eq!(
            (hb.value.as_deref(), hb.origin.as_str()),
            (Some("5"), "env FIELDMESH_HEARTBEAT__INTERVAL_MS")
        );
        Ok(())
    });
}

#[test]
fn sensors_and_rooms_are_checked() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "c.toml",
            &format!("{BASE}[[sensors]]\nid = \"a\"\nkind = \"heart_rate\"\nroom = \"nowhere\"\n[[sensors]]\nid = \"a\"\nkind = \"imu\"\nrate_hz = -1\n[[sensors]]\nid = \"b\"\nkind = \"radar\"\n"),
        )?;
        let p = problems(load(Path::new("c.toml")).unwrap_err());
        assert!(
            p.iter()
                .any(|x| x.key.starts_with("sensors") && x.message.contains("unknown value")),
            "{p:?}"
        );
        jail.create_file(
            "c.toml",
            &format!("{BASE}[[sensors]]\nid = \"a\"\nkind = \"heart_rate\"\nroom = \"nowhere\"\n[[sensors]]\nid = \"a\"\nkind = \"imu\"\nrate_hz = -1\n"),
        )?;
        let keys: Vec<String> = problems(load(Path::new("c.toml")).unwrap_err())
            .into_iter()
            .map(|x| x.key)
            .collect();
        for k in ["sensors.0.room", "sensors.1.id", "sensors.1.rate_hz"] {
            assert!(keys.iter().any(|x| x == k), "missing {k} in {keys:?}");
        }
        Ok(())
    });
}

#[test]
fn the_binary_refuses_bad_config_with_exit_code_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, format!("{BASE}[ui]\nport = 70000\n")).unwrap();
    let out = common::bin()
        .args(["node", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ui.port") && err.contains("70000") && err.contains("bad.toml"),
        "{err}"
    );
    assert!(
        !dir.path().join("d").exists(),
        "nothing started, nothing written"
    );

    let out = common::bin()
        .args(["node", "--config"])
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    std::fs::write(&path, BASE).unwrap();
    let out = common::bin()
        .args(["node", "--config"])
        .arg(&path)
        .env("FIELDMESH_UI__PORT", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("env FIELDMESH_UI__PORT"));
}

#[test]
fn the_mesh_section_takes_a_network_and_refuses_an_unknown_one() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "c.toml",
            &format!("{BASE}[mesh]\nnetwork = \"n0\"\nbind = \"0.0.0.0:4433\"\n"),
        )?;
        let c = load(Path::new("c.toml")).unwrap();
        assert_eq!(c.mesh.network, fieldmesh_mesh::MeshNetwork::N0);
        assert_eq!(c.mesh.bind.port(), 4433);
        jail.set_env("FIELDMESH_MESH__NETWORK", "carrier-pigeon");
        let p = problems(load(Path::new("c.toml")).unwrap_err());
        assert_eq!(p[0].key, "mesh.network");
        assert_eq!(p[0].origin, "env FIELDMESH_MESH__NETWORK");
        Ok(())
    });
}
