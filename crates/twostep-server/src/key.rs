//! The secret key files: 64 hex characters, created with mode 0600. A replica holds the
//! primary key (`secret_key_file`) and, during and after a rotation, previous keys that
//! only open what they sealed (`previous_key_files`).

use crate::config::Config;
use std::io::Write;
use std::path::Path;
use twostep_core::crypto::{Keyring, SecretKey};

/// The primary key, created on first start when missing.
pub fn load_or_create(path: &Path) -> anyhow::Result<SecretKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => SecretKey::from_hex(&text).map_err(|e| anyhow::anyhow!("secret key file {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = create(path)?;
            tracing::info!(path = %path.display(), "created a new secret key file (mode 0600); back it up");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("cannot read secret key file {}: {e}", path.display())),
    }
}

/// A key file that must exist (a previous or a new key is never made up).
pub fn load(path: &Path) -> anyhow::Result<SecretKey> {
    let text =
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read key file {}: {e}", path.display()))?;
    SecretKey::from_hex(&text).map_err(|e| anyhow::anyhow!("key file {}: {e}", path.display()))
}

/// `primary` with every key of `previous_key_files`.
pub fn keyring(primary: SecretKey, config: &Config) -> anyhow::Result<Keyring> {
    let previous = config.previous_key_files.iter().map(|p| load(p)).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Keyring::new(primary, previous))
}

/// Writes a fresh key to a new file (mode 0600); never overwrites one.
pub fn create(path: &Path) -> anyhow::Result<SecretKey> {
    let key = SecretKey::generate();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| anyhow::anyhow!("cannot create key file {}: {e}", path.display()))?;
    file.write_all(key.to_hex().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/twostep.key");
        let key = load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(load_or_create(&path).unwrap().id(), key.id());
        std::fs::write(&path, "not hex").unwrap();
        assert!(load_or_create(&path).is_err());
    }

    #[test]
    fn previous_keys_must_exist_and_join_the_keyring() {
        let dir = tempfile::tempdir().unwrap();
        let old = create(&dir.path().join("old.key")).unwrap();
        assert!(create(&dir.path().join("old.key")).is_err(), "a key file was overwritten");
        let primary = SecretKey::generate();
        let config = Config { previous_key_files: vec![dir.path().join("old.key")], ..Config::default() };
        let ring = keyring(primary.clone(), &config).unwrap();
        assert_eq!(ring.ids(), [primary.id(), old.id()]);
        let missing = Config { previous_key_files: vec![dir.path().join("gone.key")], ..Config::default() };
        let err = keyring(primary, &missing).unwrap_err().to_string();
        assert!(err.contains("gone.key"), "{err}");
        assert!(!dir.path().join("gone.key").exists());
    }
}
