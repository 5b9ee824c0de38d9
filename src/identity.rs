//! The node's identity: an ed25519 secret key created once in the data dir and kept, so a
//! restarted node is the same node. Its public key is the node id (and the mesh endpoint id).

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use fieldmesh_actors::model::NodeId;

/// File name of the secret key inside the data dir.
pub const KEY_FILE: &str = "node.key";

/// Loads the key from `data_dir`, creating it on first start.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<(SigningKey, NodeId)> {
    let path = data_dir.join(KEY_FILE);
    let secret: [u8; 32] = match fs::read(&path) {
        Ok(bytes) => match bytes.try_into() {
            Ok(b) => b,
            Err(b) => bail!(
                "{}: expected a 32-byte key, found {} bytes",
                path.display(),
                Vec::len(&b)
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let secret: [u8; 32] = rand::random();
            fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            let tmp = path.with_extension("tmp");
            let mut opts = fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts
                .open(&tmp)
                .with_context(|| format!("writing {}", tmp.display()))?;
            f.write_all(&secret)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            secret
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let key = SigningKey::from_bytes(&secret);
    let id = NodeId::from_bytes(key.verifying_key().to_bytes());
    Ok((key, id))
}

/// The secret key bytes of the node whose data dir this is, without creating anything.
pub fn secret_bytes(data_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = data_dir.join(KEY_FILE);
    let bytes = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!(
            "{}: expected a 32-byte key, found {} bytes",
            path.display(),
            b.len()
        )
    })
}

/// The id of the node whose data dir this is, without creating anything.
pub fn existing_id(data_dir: &Path) -> anyhow::Result<NodeId> {
    let secret = secret_bytes(data_dir)?;
    Ok(NodeId::from_bytes(
        SigningKey::from_bytes(&secret).verifying_key().to_bytes(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_survives_restart_and_bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_, a) = load_or_create(dir.path()).unwrap();
        let (_, b) = load_or_create(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(existing_id(dir.path()).unwrap(), a);
        fs::write(dir.path().join(KEY_FILE), b"short").unwrap();
        assert!(load_or_create(dir.path()).is_err());
    }
}
