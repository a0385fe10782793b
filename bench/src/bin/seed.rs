//! Seeds a Twostep database for the benchmark with direct SQL, in batches inside
//! transactions (a million accounts and sessions in seconds, not hours of sign-ins).
//!
//! - `create-db` / `drop-db`: the PostgreSQL database of the run;
//! - `sessions`: accounts `u1…uN` (all sharing one precomputed argon2id hash) with one live
//!   session each, token `bench-session-<i>` (stored, like every token, as its SHA-256), last
//!   seen at moments spread over the past minute — the steady state of sessions in use, whose
//!   `last_seen_at` is written at most once a minute each, so those writes come evenly and
//!   not all at once a minute after seeding — plus
//!   a file of sampled tokens for the load and a file of sign-in bodies;
//! - `two-step`: fresh accounts with an authenticator app (one shared secret), one recovery
//!   code each and two prepared sign-in flows each, plus the request files for
//!   `POST /api/v1/login/verify` (every flow and code is single-use, so each line is too).
//!
//! The formats written here are Twostep's own: see the migrations and
//! `twostep_core::{crypto, credential}`; the TOTP secret's associated data is
//! `totp:<account id>` as in the server's `service::codes::totp_aad`.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sha2::{Digest, Sha256};
use sqlx::{AssertSqlSafe, Connection, Executor, PgPool, QueryBuilder, Row, SqlitePool};
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;
use twostep_core::credential::{password, recovery, totp};
use twostep_core::crypto::SecretKey;
use twostep_core::domain::Password;

/// The password of every seeded account.
const PASSWORD: &str = "bench-password-1234";
/// The authenticator secret every two-step account shares, so one code serves them all.
const TOTP_SECRET: &[u8; 20] = b"twostep-bench-secret";
const ORG: &str = "bench";
const BATCH: usize = 2000;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates a PostgreSQL database (dropping an old one of the same name).
    CreateDb {
        admin_url: String,
        name: String,
    },
    DropDb {
        admin_url: String,
        name: String,
    },
    /// Grows the session-check population to `total` accounts with one session each.
    Sessions {
        #[arg(long)]
        db: String,
        #[arg(long)]
        total: u64,
        /// How many tokens, drawn at random over the whole population, the load uses.
        #[arg(long, default_value_t = 10_000)]
        sample: u64,
        #[arg(long)]
        tokens: PathBuf,
        /// Sign-in bodies for accounts u1…u<logins>.
        #[arg(long, default_value_t = 0)]
        logins: u64,
        #[arg(long)]
        logins_out: Option<PathBuf>,
    },
    /// Adds `count` accounts with TOTP and a recovery code, and two flows each.
    TwoStep {
        #[arg(long)]
        db: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        count: u64,
        #[arg(long)]
        totp_out: PathBuf,
        #[arg(long)]
        recovery_out: PathBuf,
    },
}

enum Db {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// Runs `$body` with `$pool` bound to the backend's pool and `$D` to its sqlx database type.
macro_rules! on_db {
    ($db:expr, |$pool:ident, $D:ident| $body:block) => {
        match $db {
            Db::Sqlite($pool) => {
                #[allow(dead_code)]
                type $D = sqlx::Sqlite;
                $body
            }
            Db::Pg($pool) => {
                #[allow(dead_code)]
                type $D = sqlx::Postgres;
                $body
            }
        }
    };
}

impl Db {
    async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(if url.starts_with("sqlite:") {
            let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true);
            Db::Sqlite(sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect_with(options).await?)
        } else {
            Db::Pg(sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(url).await?)
        })
    }

    /// The query text in the backend's parameter spelling (`$N` → `?N` on SQLite).
    /// Every text here is a constant of this file, so it is safe to run as SQL.
    fn sql(&self, pg: &str) -> AssertSqlSafe<String> {
        AssertSqlSafe(match self {
            Db::Sqlite(_) => pg.replace('$', "?"),
            Db::Pg(_) => pg.to_owned(),
        })
    }

    async fn scalar(&self, text: &str, binds: &[i64]) -> anyhow::Result<i64> {
        let text = self.sql(text);
        on_db!(self, |pool, D| {
            let mut q = sqlx::query_scalar::<D, i64>(text);
            for b in binds {
                q = q.bind(*b);
            }
            Ok(q.fetch_one(pool).await?)
        })
    }

    /// The benchmark organisation and its profile, created once.
    async fn org_and_profile(&self) -> anyhow::Result<(i64, i64)> {
        let org = self.sql("INSERT INTO organizations (slug, name) VALUES ($1, 'Bench') ON CONFLICT (slug) DO NOTHING");
        let profile = self.sql(
            "INSERT INTO profiles (org_id, slug, name, admin, mandatory) \
             SELECT id, 'member', 'Member', FALSE, FALSE FROM organizations WHERE slug = $1 \
             ON CONFLICT (org_id, slug) DO NOTHING",
        );
        let ids = self.sql(
            "SELECT o.id, p.id FROM organizations o JOIN profiles p ON p.org_id = o.id \
             WHERE o.slug = $1 AND p.slug = 'member'",
        );
        on_db!(self, |pool, D| {
            sqlx::query::<D>(org).bind(ORG).execute(pool).await?;
            sqlx::query::<D>(profile).bind(ORG).execute(pool).await?;
            let row = sqlx::query::<D>(ids).bind(ORG).fetch_one(pool).await?;
            Ok((row.try_get(0)?, row.try_get(1)?))
        })
    }

    /// Inserts accounts `<prefix><from>…<prefix><to>` in one statement and returns
    /// `(id, index)` of each.
    async fn add_accounts(&self, prefix: &str, from: u64, to: u64, phc: &str) -> anyhow::Result<Vec<(i64, u64)>> {
        let (org_id, profile_id) = self.org_and_profile().await?;
        let now = now();
        let before = self.scalar("SELECT COALESCE(MAX(id), 0) FROM accounts", &[]).await?;
        let insert = match self {
            Db::Sqlite(_) => "INSERT INTO accounts (org_id, username, username_key, kind, profile_id, password_hash, \
                 created_at) WITH RECURSIVE seq(i) AS (SELECT ?1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?2) \
                 SELECT ?3, ?4 || i, ?4 || i, 'user', ?5, ?6, ?7 FROM seq"
                .to_owned(),
            Db::Pg(_) => "INSERT INTO accounts (org_id, username, username_key, kind, profile_id, password_hash, \
                 created_at) SELECT $3, $4 || i, $4 || i, 'user', $5, $6, $7 FROM generate_series($1::bigint, $2::bigint) i"
                .to_owned(),
        };
        let select = self.sql("SELECT id, username FROM accounts WHERE id > $1 AND username LIKE $2 ORDER BY id");
        let like = format!("{prefix}%");
        let rows: Vec<(i64, String)> = on_db!(self, |pool, D| {
            sqlx::query::<D>(AssertSqlSafe(insert))
                .bind(from as i64)
                .bind(to as i64)
                .bind(org_id)
                .bind(prefix)
                .bind(profile_id)
                .bind(phc)
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query_as::<D, (i64, String)>(select).bind(before).bind(&like).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(id, name)| Ok((id, name[prefix.len()..].parse().context("a seeded username")?)))
            .collect()
    }

    async fn count_accounts(&self, prefix: &str) -> anyhow::Result<u64> {
        let text = self.sql("SELECT COUNT(*) FROM accounts WHERE username LIKE $1");
        let like = format!("{prefix}%");
        let n: i64 = on_db!(self, |pool, D| { sqlx::query_scalar::<D, i64>(text).bind(&like).fetch_one(pool).await? });
        Ok(n as u64)
    }

    /// Settles the database after a bulk load: on SQLite the write-ahead log folded into the
    /// main file; on PostgreSQL vacuum and statistics, as autovacuum would soon do.
    async fn settle(&self) -> anyhow::Result<()> {
        match self {
            // No ANALYZE on SQLite: Twostep never runs it, and with its STAT4 samples every
            // bound lookup re-prepares its statement (half the session check's time).
            Db::Sqlite(pool) => {
                pool.execute("PRAGMA wal_checkpoint(TRUNCATE)").await?;
            }
            Db::Pg(pool) => {
                pool.execute("VACUUM ANALYZE accounts, sessions, flows, methods, recovery_codes").await?;
            }
        }
        Ok(())
    }
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn sha256(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

fn session_token(i: u64) -> String {
    format!("bench-session-{i:029}")
}

/// A deterministic recovery code for account `i`, in the codes' own alphabet.
fn recovery_code(i: u64) -> String {
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555;
    let mut s = String::new();
    for k in 0..10 {
        if k == 5 {
            s.push('-');
        }
        s.push(ALPHABET[(x % ALPHABET.len() as u64) as usize] as char);
        x /= ALPHABET.len() as u64;
        x ^= x << 13;
    }
    s
}

/// xorshift64*: a reproducible sample, no dependency needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn writer(path: &PathBuf) -> anyhow::Result<std::io::BufWriter<std::fs::File>> {
    let file = std::fs::File::create(path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(std::io::BufWriter::new(file))
}

async fn sessions(
    db: &Db,
    total: u64,
    sample: u64,
    tokens: &PathBuf,
    logins: u64,
    logins_out: Option<&PathBuf>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let have = db.count_accounts("u").await?;
    if have < total {
        let phc = password::hash(&Password::new(PASSWORD))?;
        let accounts = db.add_accounts("u", have + 1, total, &phc).await?;
        let (org_id, _) = db.org_and_profile().await?;
        let now = now();
        let expires = now + 12 * 3600;
        if let Db::Pg(pool) = db {
            // PostgreSQL hashes the tokens itself, in one statement (same tokens as
            // `session_token`).
            let first = accounts.first().map(|a| a.0 - 1).unwrap_or(i64::MAX);
            sqlx::query(
                "INSERT INTO sessions (token_hash, org_id, account_id, client, two_step_verified, created_at, \
                 last_seen_at, expires_at) \
                 SELECT sha256(convert_to('bench-session-' || lpad(substr(a.username, 2), 29, '0'), 'UTF8')), \
                   a.org_id, a.id, 'web', FALSE, $2, $2 - a.id % 60, $3 FROM accounts a \
                 WHERE a.id > $1 AND a.username LIKE 'u%'",
            )
            .bind(first)
            .bind(now)
            .bind(expires)
            .execute(pool)
            .await?;
        }
        on_db!(db, |pool, D| {
            for chunk in accounts.chunks(BATCH).filter(|_| matches!(db, Db::Sqlite(_))) {
                let mut tx = pool.begin().await?;
                let mut q = QueryBuilder::<D>::new(
                    "INSERT INTO sessions (token_hash, org_id, account_id, client, two_step_verified, created_at, \
                     last_seen_at, expires_at) ",
                );
                q.push_values(chunk, |mut b, (id, i)| {
                    b.push_bind(sha256(&session_token(*i)))
                        .push_bind(org_id)
                        .push_bind(*id)
                        .push_bind("web")
                        .push_bind(false)
                        .push_bind(now)
                        .push_bind(now - id % 60)
                        .push_bind(expires);
                });
                q.build().execute(&mut *tx).await?;
                tx.commit().await?;
            }
        });
        db.settle().await?;
    }
    let mut out = writer(tokens)?;
    if sample >= total {
        for i in 1..=total {
            writeln!(out, "{}", session_token(i))?;
        }
    } else {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D ^ total);
        for _ in 0..sample {
            writeln!(out, "{}", session_token(1 + rng.next() % total))?;
        }
    }
    out.flush()?;
    if let Some(path) = logins_out {
        let mut out = writer(path)?;
        for i in 1..=logins.min(total) {
            writeln!(
                out,
                "-\t{{\"organization\":\"{ORG}\",\"username\":\"u{i}\",\"password\":\"{PASSWORD}\",\"client\":\"web\"}}"
            )?;
        }
        out.flush()?;
    }
    eprintln!(
        "seeded {} accounts with sessions ({} new) in {:.1?}",
        total,
        total.saturating_sub(have),
        started.elapsed()
    );
    Ok(())
}

async fn two_step(
    db: &Db,
    key: &SecretKey,
    count: u64,
    totp_out: &PathBuf,
    recovery_out: &PathBuf,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let have = db.count_accounts("t").await?;
    let phc = password::hash(&Password::new(PASSWORD))?;
    let accounts = db.add_accounts("t", have + 1, have + count, &phc).await?;
    let (org_id, _) = db.org_and_profile().await?;
    let now = now();
    struct Prepared {
        id: i64,
        sealed: Vec<u8>,
        code_hash: Vec<u8>,
        code: String,
        totp_flow: String,
        recovery_flow: String,
    }
    let mut prepared = Vec::with_capacity(accounts.len());
    for (id, i) in accounts {
        let code = recovery_code(i);
        prepared.push(Prepared {
            id,
            sealed: key.seal(TOTP_SECRET, format!("totp:{id}").as_bytes())?,
            code_hash: recovery::hash(id, &code),
            code,
            totp_flow: format!("bench-flow-totp-{i:027}"),
            recovery_flow: format!("bench-flow-code-{i:027}"),
        });
    }
    let key_id = key.id().to_owned();
    on_db!(db, |pool, D| {
        for chunk in prepared.chunks(BATCH) {
            let mut tx = pool.begin().await?;
            let mut q =
                QueryBuilder::<D>::new("INSERT INTO methods (account_id, kind, name, sealed, key_id, enabled_at) ");
            q.push_values(chunk, |mut b, p| {
                b.push_bind(p.id)
                    .push_bind("totp")
                    // Methods are named since SPEC §14 (migration 0007).
                    .push_bind("Authenticator app")
                    .push_bind(p.sealed.clone())
                    .push_bind(key_id.clone())
                    .push_bind(now);
            });
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<D>::new("INSERT INTO recovery_codes (account_id, code_hash) ");
            q.push_values(chunk, |mut b, p| {
                b.push_bind(p.id).push_bind(p.code_hash.clone());
            });
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<D>::new(
                "INSERT INTO flows (token_hash, kind, org_id, account_id, client, created_at, expires_at) ",
            );
            q.push_values(
                chunk.iter().flat_map(|p| [(p, &p.totp_flow), (p, &p.recovery_flow)]),
                |mut b, (p, token)| {
                    b.push_bind(sha256(token))
                        .push_bind("two_step")
                        .push_bind(org_id)
                        .push_bind(p.id)
                        .push_bind("web")
                        .push_bind(now)
                        .push_bind(now + 600);
                },
            );
            q.build().execute(&mut *tx).await?;
            tx.commit().await?;
        }
    });
    // One code for every account: the shared secret's code now, accepted through the
    // next step too (RFC 6238 §5.2 window), so for at least 30 seconds.
    let totp_code = totp::code_at(TOTP_SECRET, now);
    let mut out = writer(totp_out)?;
    for p in &prepared {
        writeln!(out, "{}\t{{\"method\":\"totp\",\"code\":\"{totp_code}\"}}", p.totp_flow)?;
    }
    out.flush()?;
    let mut out = writer(recovery_out)?;
    for p in &prepared {
        writeln!(out, "{}\t{{\"method\":\"recovery_code\",\"code\":\"{}\"}}", p.recovery_flow, p.code)?;
    }
    out.flush()?;
    eprintln!("prepared {count} two-step accounts and {} flows in {:.1?}", 2 * count, started.elapsed());
    Ok(())
}

async fn admin(admin_url: &str, statement: String) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    conn.execute(AssertSqlSafe(statement)).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::CreateDb { admin_url, name } => {
            admin(&admin_url, format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await?;
            admin(&admin_url, format!("CREATE DATABASE \"{name}\"")).await
        }
        Command::DropDb { admin_url, name } => {
            admin(&admin_url, format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await
        }
        Command::Sessions { db, total, sample, tokens, logins, logins_out } => {
            let db = Db::connect(&db).await?;
            sessions(&db, total, sample, &tokens, logins, logins_out.as_ref()).await
        }
        Command::TwoStep { db, key, count, totp_out, recovery_out } => {
            let text = std::fs::read_to_string(&key).with_context(|| format!("cannot read {}", key.display()))?;
            let key = SecretKey::from_hex(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", key.display()))?;
            let db = Db::connect(&db).await?;
            two_step(&db, &key, count, &totp_out, &recovery_out).await
        }
    }
}
