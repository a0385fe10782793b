//! Fresh databases for tests: a SQLite file in its own temporary folder, or a new
//! PostgreSQL database on the server named by `TWOSTEP_TEST_POSTGRES_URL`. Each is
//! removed when dropped, so tests can run in parallel and leave nothing behind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::Rng;
use std::path::PathBuf;

pub const POSTGRES_ENV: &str = "TWOSTEP_TEST_POSTGRES_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named test once on SQLite (in module `$sqlite`) and once on PostgreSQL (in
/// `$postgres`), for this crate's tests and the server's.
///
/// With `|backend| $start`, `$start` makes what the test takes from `backend`; when it is
/// `None` (PostgreSQL without `TWOSTEP_TEST_POSTGRES_URL`) the test passes as skipped. With
/// `|backend, test| $run`, `$run` is given the test function itself and runs it as it likes
/// (say, on a store it opens and closes around it).
///
/// ```ignore
/// on_both_databases!(sqlite, postgres; #[tokio::test] |backend| TestApp::spawn(backend).await; a_test, another);
/// on_both_databases!(sqlite, postgres; #[tokio::test] |backend, test| run(backend, test).await; a_test);
/// ```
#[macro_export]
macro_rules! on_both_databases {
    ($sqlite:ident, $postgres:ident; #[$attr:meta] |$backend:ident| $start:expr; $($name:ident),* $(,)?) => {
        $crate::on_both_databases!($sqlite, $postgres; #[$attr] |$backend, test| {
            if let Some(given) = $start { test(given).await }
        }; $($name),*);
    };
    ($sqlite:ident, $postgres:ident; #[$attr:meta] |$backend:ident, $test:ident| $run:expr; $($name:ident),* $(,)?) => {
        mod $sqlite {
            #[allow(unused_imports)]
            use super::*;
            $( #[$attr]
               async fn $name() {
                   let $backend = $crate::testing::Backend::Sqlite;
                   let $test = super::$name;
                   $run
               } )*
        }
        mod $postgres {
            #[allow(unused_imports)]
            use super::*;
            $( #[$attr]
               async fn $name() {
                   let $backend = $crate::testing::Backend::Postgres;
                   let $test = super::$name;
                   $run
               } )*
        }
    };
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    dir: Option<PathBuf>,
    pg: Option<(String, String)>,
}

fn unique_name() -> String {
    let n: u64 = rand::thread_rng().r#gen();
    format!("twostep_test_{}_{n:016x}", std::process::id())
}

impl TestDb {
    /// `None` (with a note on stderr) when PostgreSQL was asked for but
    /// `TWOSTEP_TEST_POSTGRES_URL` is not set.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(unique_name());
                std::fs::create_dir_all(&dir).unwrap();
                let url = format!("sqlite://{}", dir.join("twostep.db").display());
                Some(Self { url, dir: Some(dir), pg: None })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
                    eprintln!("skipped: PostgreSQL test (set {POSTGRES_ENV} to run it)");
                    return None;
                };
                let name = unique_name();
                let admin = sqlx::PgPool::connect(&admin_url).await.expect("connect to TWOSTEP_TEST_POSTGRES_URL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
                admin.close().await;
                let mut url = url::Url::parse(&admin_url).unwrap();
                url.set_path(&name);
                Some(Self { url: url.to_string(), dir: None, pg: Some((admin_url, name)) })
            }
        }
    }

    /// The migrations recorded in the database, `(version, success)` in version order.
    pub async fn applied_migrations(&self) -> Vec<(i64, bool)> {
        let sql = "SELECT version, success FROM _sqlx_migrations ORDER BY version";
        if self.pg.is_some() {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        } else {
            let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
            let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            rows
        }
    }

    /// The SQLite file (for tests that read raw bytes).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join("twostep.db"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some((admin_url, name)) = self.pg.take() {
            // Drop runs inside the test's runtime: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    if let Ok(admin) = sqlx::PgPool::connect(&admin_url).await {
                        let _ =
                            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
                                .execute(&admin)
                                .await;
                        admin.close().await;
                    }
                });
            })
            .join();
        }
    }
}
