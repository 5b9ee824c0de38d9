//! Who may use a node: people (name + argon2 password hash) and devices (API keys, kept as
//! BLAKE3 hashes of their secrets; revoked keys stay listed). In the store's redb file;
//! blocking calls (argon2 is slow on purpose) — run them off the async runtime.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use super::{StoreError, db_err, now_us};

/// name → MessagePack [`UserRecord`].
const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users-1");
/// key id → MessagePack [`DeviceKey`].
const DEVICE_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("device-keys-1");
/// Prefix of every device API key (`fmk_<id>_<secret>`).
pub const KEY_PREFIX: &str = "fmk_";

/// A person who may log in.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UserRecord {
    /// Login name.
    pub name: String,
    /// Argon2id hash in PHC form.
    pub hash: String,
    /// When added, µs since the Unix epoch.
    pub created_us: u64,
}

/// A device's API key, as kept (never the secret itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKey {
    /// Public id (16 hex digits), the middle of the key.
    pub id: String,
    /// Which device it is for.
    pub device: String,
    /// BLAKE3 of the whole key.
    pub hash: [u8; 32],
    /// When created, µs since the Unix epoch.
    pub created_us: u64,
    /// When revoked, if it was.
    pub revoked_us: Option<u64>,
}

/// The accounts side of a store.
#[derive(Clone)]
pub struct Accounts {
    db: Arc<Database>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, StoreError> {
    rmp_serde::to_vec_named(v).map_err(|e| StoreError::Db(e.to_string()))
}

fn invalid(msg: impl Into<String>) -> StoreError {
    StoreError::Model(crate::model::ModelError::Invalid(msg.into()))
}

impl Accounts {
    pub(crate) fn open(db: Arc<Database>) -> Result<Self, StoreError> {
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(USERS).map_err(db_err)?;
        txn.open_table(DEVICE_KEYS).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(Self { db })
    }

    /// Adds a person, or sets a new password for one.
    pub fn set_user(&self, name: &str, password: &str) -> Result<(), StoreError> {
        if name.is_empty() || name.len() > 64 || name.chars().any(|c| c.is_control()) {
            return Err(invalid("a user name is 1 to 64 printable characters"));
        }
        if password.len() < 8 {
            return Err(invalid("a password has at least 8 characters"));
        }
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| invalid(e.to_string()))?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| invalid(e.to_string()))?
            .to_string();
        let rec = UserRecord {
            name: name.into(),
            hash,
            created_us: now_us(),
        };
        let txn = self.db.begin_write().map_err(db_err)?;
        txn.open_table(USERS)
            .map_err(db_err)?
            .insert(name, encode(&rec)?.as_slice())
            .map_err(db_err)?;
        txn.commit().map_err(db_err)
    }

    /// Whether `password` is `name`'s (false for unknown names, after the same work).
    pub fn check_password(&self, name: &str, password: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(USERS).map_err(db_err)?;
        let rec: Option<UserRecord> = match t.get(name).map_err(db_err)? {
            Some(v) => rmp_serde::from_slice(v.value()).ok(),
            None => None,
        };
        // Unknown names cost an argon2 run too, so timing does not tell them apart.
        const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0ZXO2PdDTyl5JaytSXo6ovCtgFKhEAvmxQ3UjDK5JsE";
        let hash = rec.as_ref().map_or(DUMMY, |r| r.hash.as_str());
        let ok = PasswordHash::new(hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
        Ok(ok && rec.is_some())
    }

    /// Every person's name.
    pub fn users(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(USERS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (k, _) = row.map_err(db_err)?;
            out.push(k.value().to_string());
        }
        Ok(out)
    }

    /// A new API key for `device`: the key (shown once) and its record.
    pub fn create_key(&self, device: &str) -> Result<(String, DeviceKey), StoreError> {
        if device.is_empty() || device.len() > 64 || device.chars().any(|c| c.is_control()) {
            return Err(invalid("a device name is 1 to 64 printable characters"));
        }
        let id: String = rand::random::<[u8; 8]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let secret: String = rand::random::<[u8; 24]>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let key = format!("{KEY_PREFIX}{id}_{secret}");
        let rec = DeviceKey {
            id: id.clone(),
            device: device.into(),
            hash: *blake3::hash(key.as_bytes()).as_bytes(),
            created_us: now_us(),
            revoked_us: None,
        };
        let txn = self.db.begin_write().map_err(db_err)?;
        txn.open_table(DEVICE_KEYS)
            .map_err(db_err)?
            .insert(id.as_str(), encode(&rec)?.as_slice())
            .map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok((key, rec))
    }

    /// Revokes key `id`; returns whether it existed (revoking twice is fine).
    pub fn revoke_key(&self, id: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let found = {
            let mut t = txn.open_table(DEVICE_KEYS).map_err(db_err)?;
            let rec: Option<DeviceKey> = match t.get(id).map_err(db_err)? {
                Some(v) => rmp_serde::from_slice(v.value()).ok(),
                None => None,
            };
            match rec {
                Some(mut r) => {
                    r.revoked_us.get_or_insert_with(now_us);
                    t.insert(id, encode(&r)?.as_slice()).map_err(db_err)?;
                    true
                }
                None => false,
            }
        };
        txn.commit().map_err(db_err)?;
        Ok(found)
    }

    /// Every key, revoked ones included.
    pub fn keys(&self) -> Result<Vec<DeviceKey>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(DEVICE_KEYS).map_err(db_err)?;
        let mut out = Vec::new();
        for row in t.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            if let Ok(k) = rmp_serde::from_slice(v.value()) {
                out.push(k);
            }
        }
        Ok(out)
    }

    /// The live (not revoked) key record that `key` is, if any.
    pub fn check_key(&self, key: &str) -> Result<Option<DeviceKey>, StoreError> {
        let Some(id) = key
            .strip_prefix(KEY_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .filter(|id| id.len() == 16)
        else {
            return Ok(None);
        };
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(DEVICE_KEYS).map_err(db_err)?;
        let rec: Option<DeviceKey> = match t.get(id).map_err(db_err)? {
            Some(v) => rmp_serde::from_slice(v.value()).ok(),
            None => None,
        };
        let hash = blake3::hash(key.as_bytes());
        // Constant-time comparison of the hashes (blake3's Hash implements it).
        Ok(rec.filter(|r| r.revoked_us.is_none() && hash == blake3::Hash::from_bytes(r.hash)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts() -> (tempfile::TempDir, Accounts) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::create(dir.path().join("a.redb")).unwrap();
        (dir, Accounts::open(Arc::new(db)).unwrap())
    }

    #[test]
    fn passwords_are_checked_against_their_hash() {
        let (_d, a) = accounts();
        a.set_user("ada", "correct horse").unwrap();
        assert!(a.check_password("ada", "correct horse").unwrap());
        assert!(!a.check_password("ada", "wrong horse!").unwrap());
        assert!(!a.check_password("bob", "correct horse").unwrap());
        assert!(a.set_user("ada", "short").is_err());
        assert!(a.set_user("", "long enough").is_err());
        a.set_user("ada", "battery staple").unwrap();
        assert!(!a.check_password("ada", "correct horse").unwrap());
        assert!(a.check_password("ada", "battery staple").unwrap());
        assert_eq!(a.users().unwrap(), ["ada"]);
    }

    #[test]
    fn device_keys_work_until_revoked() {
        let (_d, a) = accounts();
        let (key, rec) = a.create_key("watch-7").unwrap();
        assert!(key.starts_with(KEY_PREFIX));
        assert_eq!(a.check_key(&key).unwrap(), Some(rec.clone()));
        let mut forged = key.clone();
        forged.pop();
        forged.push('x');
        assert_eq!(a.check_key(&forged).unwrap(), None);
        assert_eq!(a.check_key("fmk_nope").unwrap(), None);
        assert_eq!(a.check_key("").unwrap(), None);
        assert!(a.revoke_key(&rec.id).unwrap());
        assert!(!a.revoke_key("0000000000000000").unwrap());
        assert_eq!(a.check_key(&key).unwrap(), None);
        let keys = a.keys().unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].revoked_us.is_some());
    }
}
