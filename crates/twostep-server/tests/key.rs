//! `twostep key generate | status | rotate` as an operator runs them, following
//! docs/deploy.md "Rotating the secret key", on SQLite and PostgreSQL.

mod operator;

use operator::Operator;
use std::path::Path;
use std::process::Output;
use twostep_core::crypto::SecretKey;
use twostep_core::domain::Username;
use twostep_core::store::prelude::*;
use twostep_store::testing::Backend;
use twostep_store::{DbOptions, SqlStore};

trait KeyCommands {
    fn run(&self, key: &str, previous: &[&str], args: &[&str]) -> Output;
    fn ok(&self, key: &str, previous: &[&str], args: &[&str]) -> String;
    fn fails(&self, key: &str, previous: &[&str], args: &[&str]) -> String;
}

impl KeyCommands for Operator {
    /// Runs `twostep` with `secret_key_file` and `previous_key_files` set as given.
    fn run(&self, key: &str, previous: &[&str], args: &[&str]) -> Output {
        let previous: Vec<String> = previous.iter().map(|p| self.path(p).display().to_string()).collect();
        self.command(args)
            .env("TWOSTEP_SECRET_KEY_FILE", self.path(key))
            .env("TWOSTEP_PREVIOUS_KEY_FILES", previous.join(","))
            .output()
            .unwrap()
    }

    fn ok(&self, key: &str, previous: &[&str], args: &[&str]) -> String {
        let out = self.run(key, previous, args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{args:?} failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        stdout
    }

    fn fails(&self, key: &str, previous: &[&str], args: &[&str]) -> String {
        let out = self.run(key, previous, args);
        assert!(!out.status.success(), "{args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }
}

fn key_in(path: &Path) -> SecretKey {
    SecretKey::from_hex(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The count `twostep key status` shows for `id`.
fn secrets_under(status: &str, id: &str) -> u64 {
    let line = status.lines().find(|l| l.starts_with(&format!("key {id} "))).unwrap_or_else(|| panic!("{status}"));
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

async fn a_key_rotates_in_the_documented_steps(backend: Backend) {
    let Some(op) = Operator::new(backend).await else { return };
    let old = "twostep.key";
    op.ok(old, &[], &["org", "create", "acme", "--name", "Acme"]);
    op.ok(old, &[], &["profile", "create", "--org", "acme", "tech", "--name", "Technician"]);
    op.ok(old, &[], &["user", "create", "--org", "acme", "Maria", "--profile", "tech", "--phone", "+351912345678"]);
    let old_key = key_in(&op.path(old));

    // Step 1: a new key, readable next to the old one.
    let out = op.ok(old, &[], &["key", "generate", "--out", "twostep-2.key"]);
    let new_key = key_in(&op.path("twostep-2.key"));
    assert!(out.contains(new_key.id()), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(op.path("twostep-2.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let err = op.fails(old, &[], &["key", "generate", "--out", "twostep-2.key"]);
    assert!(err.contains("twostep-2.key"), "an existing key file must not be overwritten: {err}");
    let status = op.ok(old, &[], &["key", "status"]);
    assert_eq!(secrets_under(&status, old_key.id()), 1, "{status}");
    // Rotating to a key the replicas cannot open yet is refused, and changes nothing.
    let err = op.fails(old, &[], &["key", "rotate", "--new-key-file", "twostep-2.key"]);
    assert!(err.contains("previous_key_files"), "{err}");
    assert_eq!(secrets_under(&op.ok(old, &[], &["key", "status"]), old_key.id()), 1);
    let err = op.fails(old, &["missing.key"], &["key", "status"]);
    assert!(err.contains("missing.key"), "{err}");

    // Step 2 and 3: seal with the new key, re-encrypt.
    let new = "twostep-2.key";
    let out = op.ok(new, &[old], &["key", "rotate", "--new-key-file", new, "--batch-size", "1"]);
    assert!(out.contains("re-encrypted 1 secrets") && out.contains("every secret is now under key"), "{out}");
    let status = op.ok(new, &[old], &["key", "status"]);
    assert_eq!((secrets_under(&status, new_key.id()), secrets_under(&status, old_key.id())), (1, 0), "{status}");
    let out = op.ok(new, &[old], &["key", "rotate", "--new-key-file", new]);
    assert!(out.contains("re-encrypted 0 secrets"), "running it again is harmless: {out}");

    // Step 4: the new key alone opens the phone number given at creation.
    let status = op.ok(new, &[], &["key", "status"]);
    assert_eq!(secrets_under(&status, new_key.id()), 1, "{status}");
    let store = SqlStore::connect(&op.database_url, &DbOptions::default()).await.unwrap();
    let org = store.org_by_slug("acme").await.unwrap().unwrap();
    let maria = store.account_by_username(org.id, "maria").await.unwrap().unwrap();
    let (sealed, key_id) = store.account_phone(maria.id).await.unwrap().unwrap();
    assert_eq!(key_id, new_key.id());
    let username_key = Username::parse("Maria").unwrap().key();
    let aad = twostep_core::aad::Aad::AccountPhone { org_id: org.id, username_key: &username_key }.bytes();
    assert_eq!(new_key.open(&sealed, &aad).unwrap().as_slice(), b"+351912345678");
    assert!(old_key.open(&sealed, &aad).is_err());
    store.close().await;
}

#[tokio::test]
async fn sqlite_a_key_rotates_in_the_documented_steps() {
    a_key_rotates_in_the_documented_steps(Backend::Sqlite).await
}

#[tokio::test]
async fn postgres_a_key_rotates_in_the_documented_steps() {
    a_key_rotates_in_the_documented_steps(Backend::Postgres).await
}
