//! An operator's working directory and database for the tests that run the `twostep`
//! binary itself (`cli.rs`, `key.rs`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use twostep_store::testing::{Backend, TestDb};

pub struct Operator {
    pub dir: tempfile::TempDir,
    pub database_url: String,
    _db: Option<TestDb>,
}

impl Operator {
    /// A fresh directory, with a SQLite file in it or a fresh PostgreSQL database (`None`
    /// when PostgreSQL tests are switched off).
    pub async fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let (database_url, db) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.path().join("twostep.db").display()), None),
            Backend::Postgres => {
                let db = TestDb::new(Backend::Postgres).await?;
                (db.url.clone(), Some(db))
            }
        };
        Some(Self { dir, database_url, _db: db })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `twostep ARGS` in the directory, on the database, with no config file and quiet
    /// logs; the caller adds the key files and anything else.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_twostep"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("TWOSTEP_CONFIG")
            .env("TWOSTEP_DATABASE_URL", &self.database_url)
            .env("TWOSTEP_LOG", "warn")
            .stdin(Stdio::null());
        cmd
    }
}
