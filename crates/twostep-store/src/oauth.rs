//! [`OAuthStore`]: registered apps, signing keys, authorization requests, grants and
//! refresh tokens (SPEC §13), with their SQL. Every single-use rule (a code, a refresh
//! token) is one conditional `UPDATE`, so it holds across replicas.

use crate::SqlStore;
use crate::sessions::{SESSION_SELECT, SessionRow};
use twostep_core::Timestamp;
use twostep_core::oauth::*;
use twostep_core::store::{SessionView, StoreResult};

#[derive(sqlx::FromRow)]
struct AppRow {
    id: i64,
    org_id: i64,
    client_id: String,
    slug: String,
    name: String,
    secret_hash: Option<Vec<u8>>,
    two_step: bool,
    redirect_uris: String,
    created_at: i64,
}

impl From<AppRow> for App {
    fn from(r: AppRow) -> Self {
        Self {
            id: r.id,
            org_id: r.org_id,
            client_id: r.client_id,
            slug: r.slug,
            name: r.name,
            secret_hash: r.secret_hash,
            two_step: r.two_step,
            redirect_uris: r.redirect_uris.lines().map(str::to_owned).collect(),
            created_at: r.created_at,
        }
    }
}

const APP_COLUMNS: &str = "id, org_id, client_id, slug, name, secret_hash, two_step, redirect_uris, created_at";

#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    sealed: Vec<u8>,
    key_id: String,
    public_jwk: String,
    created_at: i64,
    retired_at: Option<i64>,
}

impl From<KeyRow> for SigningKey {
    fn from(r: KeyRow) -> Self {
        Self {
            kid: r.kid,
            alg: r.alg,
            sealed: r.sealed,
            key_id: r.key_id,
            public_jwk: r.public_jwk,
            created_at: r.created_at,
            retired_at: r.retired_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: i64,
    app_id: i64,
    session_id: i64,
    account_id: i64,
    scope: String,
    nonce: Option<String>,
    auth_time: i64,
    amr: String,
    acr: String,
    redirect_uri: String,
    code_challenge: Option<String>,
    revoked_at: Option<i64>,
    created_at: i64,
}

impl From<GrantRow> for Grant {
    fn from(r: GrantRow) -> Self {
        Self {
            id: r.id,
            app_id: r.app_id,
            session_id: r.session_id,
            account_id: r.account_id,
            scope: r.scope,
            nonce: r.nonce,
            auth_time: r.auth_time,
            amr: r.amr,
            acr: r.acr,
            redirect_uri: r.redirect_uri,
            code_challenge: r.code_challenge,
            revoked_at: r.revoked_at,
            created_at: r.created_at,
        }
    }
}

const GRANT_COLUMNS: &str = "g.id, g.app_id, g.session_id, g.account_id, g.scope, g.nonce, g.auth_time, g.amr, \
     g.acr, g.redirect_uri, g.code_challenge, g.revoked_at, g.created_at";

/// `SELECT … FROM oauth_grants g` with `tail`, built once per call site.
macro_rules! grant_select {
    ($tail:literal) => {{
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        TEXT.get_or_init(|| format!("SELECT {GRANT_COLUMNS} FROM oauth_grants g {}", $tail)).as_str()
    }};
}

#[async_trait::async_trait]
impl OAuthStore for SqlStore {
    async fn create_app(&self, a: NewApp) -> StoreResult<App> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT
            .get_or_init(|| {
                format!(
                    "INSERT INTO apps (org_id, client_id, slug, name, secret_hash, two_step, redirect_uris, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {APP_COLUMNS}"
                )
            })
            .as_str();
        on!(self, |pool, sql| {
            let row: AppRow = sqlx::query_as(sql(text))
                .bind(a.org_id)
                .bind(&a.client_id)
                .bind(&a.slug)
                .bind(&a.name)
                .bind(&a.secret_hash)
                .bind(a.two_step)
                .bind(a.redirect_uris.join("\n"))
                .bind(a.created_at)
                .fetch_one(pool)
                .await?;
            Ok(row.into())
        })
    }

    async fn apps(&self, org_id: i64) -> StoreResult<Vec<App>> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text =
            TEXT.get_or_init(|| format!("SELECT {APP_COLUMNS} FROM apps WHERE org_id = $1 ORDER BY slug")).as_str();
        on!(read self, |pool, sql| {
            let rows: Vec<AppRow> = sqlx::query_as(sql(text)).bind(org_id).fetch_all(pool).await?;
            Ok(rows.into_iter().map(Into::into).collect())
        })
    }

    async fn app_by_client_id(&self, client_id: &str) -> StoreResult<Option<App>> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| format!("SELECT {APP_COLUMNS} FROM apps WHERE client_id = $1")).as_str();
        on!(read self, |pool, sql| {
            let row: Option<AppRow> = sqlx::query_as(sql(text)).bind(client_id).fetch_optional(pool).await?;
            Ok(row.map(Into::into))
        })
    }

    async fn delete_app(&self, org_id: i64, client_id: &str) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("DELETE FROM apps WHERE org_id = $1 AND client_id = $2"))
                .bind(org_id)
                .bind(client_id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn set_app_secret(&self, org_id: i64, client_id: &str, secret_hash: &[u8]) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql(
                "UPDATE apps SET secret_hash = $3 WHERE org_id = $1 AND client_id = $2 AND secret_hash IS NOT NULL",
            ))
            .bind(org_id)
            .bind(client_id)
            .bind(secret_hash)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn signing_keys(&self, listed_after: Timestamp) -> StoreResult<Vec<SigningKey>> {
        on!(read self, |pool, sql| {
            let rows: Vec<KeyRow> = sqlx::query_as(sql(
                "SELECT kid, alg, sealed, key_id, public_jwk, created_at, retired_at FROM signing_keys \
                 WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, kid",
            ))
            .bind(listed_after)
            .fetch_all(pool)
            .await?;
            Ok(rows.into_iter().map(Into::into).collect())
        })
    }

    async fn add_signing_key(&self, k: SigningKey) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE signing_keys SET retired_at = $2 WHERE alg = $1 AND retired_at IS NULL"))
                .bind(&k.alg)
                .bind(k.created_at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("INSERT INTO signing_keys (kid, alg, sealed, key_id, public_jwk, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)"))
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(&k.sealed)
            .bind(&k.key_id)
            .bind(&k.public_jwk)
            .bind(k.created_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn reseal_signing_key(&self, kid: &str, old: &[u8], sealed: &[u8], key_id: &str) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done =
                sqlx::query(sql("UPDATE signing_keys SET sealed = $3, key_id = $4 WHERE kid = $1 AND sealed = $2"))
                    .bind(kid)
                    .bind(old)
                    .bind(sealed)
                    .bind(key_id)
                    .execute(pool)
                    .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn add_first_signing_key(&self, k: SigningKey) -> StoreResult<bool> {
        // The partial unique index on (alg) WHERE retired_at IS NULL makes a second
        // replica's first key a no-op.
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("INSERT INTO signing_keys (kid, alg, sealed, key_id, public_jwk, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"))
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(&k.sealed)
            .bind(&k.key_id)
            .bind(&k.public_jwk)
            .bind(k.created_at)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn create_request(&self, handle_hash: &[u8], app_id: i64, params: &str, now: Timestamp) -> StoreResult<i64> {
        on!(self, |pool, sql| {
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO oauth_requests (handle_hash, app_id, params, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            ))
            .bind(handle_hash)
            .bind(app_id)
            .bind(params)
            .bind(now)
            .bind(now + REQUEST_TTL)
            .fetch_one(pool)
            .await?;
            Ok(id)
        })
    }

    async fn request_by_handle(&self, handle_hash: &[u8], now: Timestamp) -> StoreResult<Option<PendingRequest>> {
        on!(read self, |pool, sql| {
            let row: Option<(i64, i64, String, i64, i64)> =
                sqlx::query_as(sql("SELECT id, app_id, params, created_at, expires_at FROM oauth_requests \
                 WHERE handle_hash = $1 AND expires_at > $2"))
                .bind(handle_hash)
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|(id, app_id, params, created_at, expires_at)| PendingRequest {
                id,
                app_id,
                params,
                created_at,
                expires_at,
            }))
        })
    }

    async fn delete_request(&self, id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("DELETE FROM oauth_requests WHERE id = $1")).bind(id).execute(pool).await?;
            Ok(())
        })
    }

    async fn create_grant(&self, g: NewGrant) -> StoreResult<i64> {
        on!(self, |pool, sql| {
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO oauth_grants (app_id, session_id, account_id, scope, nonce, auth_time, amr, acr, \
                   redirect_uri, code_challenge, code_hash, code_expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
            ))
            .bind(g.app_id)
            .bind(g.session_id)
            .bind(g.account_id)
            .bind(&g.scope)
            .bind(&g.nonce)
            .bind(g.auth_time)
            .bind(&g.amr)
            .bind(&g.acr)
            .bind(&g.redirect_uri)
            .bind(&g.code_challenge)
            .bind(&g.code_hash)
            .bind(g.code_expires_at)
            .bind(g.created_at)
            .fetch_one(pool)
            .await?;
            Ok(id)
        })
    }

    async fn redeem_code(&self, code_hash: &[u8], now: Timestamp) -> StoreResult<Redeemed> {
        on!(self, |pool, sql| {
            let used = sqlx::query(sql(
                "UPDATE oauth_grants SET code_used_at = $2 WHERE code_hash = $1 AND code_used_at IS NULL \
                 AND code_expires_at > $2 AND revoked_at IS NULL",
            ))
            .bind(code_hash)
            .bind(now)
            .execute(pool)
            .await?;
            if used.rows_affected() == 1 {
                let row: Option<GrantRow> = sqlx::query_as(sql(grant_select!("WHERE g.code_hash = $1")))
                    .bind(code_hash)
                    .fetch_optional(pool)
                    .await?;
                return Ok(row.map_or(Redeemed::Invalid, |r| Redeemed::Fresh(Box::new(r.into()))));
            }
            // Used before: whatever it issued is revoked (RFC 6749 §4.1.2).
            let replayed = sqlx::query(sql(
                "UPDATE oauth_grants SET revoked_at = $2 WHERE code_hash = $1 AND code_used_at IS NOT NULL \
                 AND revoked_at IS NULL",
            ))
            .bind(code_hash)
            .bind(now)
            .execute(pool)
            .await?;
            let seen: Option<i64> = sqlx::query_scalar(sql("SELECT id FROM oauth_grants WHERE code_hash = $1 \
                 AND code_used_at IS NOT NULL"))
            .bind(code_hash)
            .fetch_optional(pool)
            .await?;
            Ok(if replayed.rows_affected() == 1 || seen.is_some() { Redeemed::Replayed } else { Redeemed::Invalid })
        })
    }

    async fn grant_by_id(&self, id: i64) -> StoreResult<Option<Grant>> {
        on!(read self, |pool, sql| {
            let row: Option<GrantRow> =
                sqlx::query_as(sql(grant_select!("WHERE g.id = $1"))).bind(id).fetch_optional(pool).await?;
            Ok(row.map(Into::into))
        })
    }

    async fn revoke_grant(&self, id: i64, now: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"))
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn add_refresh_token(&self, grant_id: i64, token_hash: &[u8], expires_at: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("INSERT INTO refresh_tokens (grant_id, token_hash, expires_at) VALUES ($1, $2, $3)"))
                .bind(grant_id)
                .bind(token_hash)
                .bind(expires_at)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn rotate_refresh_token(
        &self,
        token_hash: &[u8],
        next_hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<Refreshed> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let used: Option<i64> = sqlx::query_scalar(sql(
                "UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL \
                 AND expires_at > $2 RETURNING grant_id",
            ))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(grant_id) = used else {
                // Reuse of a rotated token: the whole family goes (OAuth 2.0 Security BCP §4.14).
                let reused: Option<i64> = sqlx::query_scalar(sql(
                    "SELECT grant_id FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL",
                ))
                .bind(token_hash)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(grant_id) = reused {
                    sqlx::query(sql("UPDATE oauth_grants SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL"))
                        .bind(grant_id)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(Refreshed::Reused);
                }
                return Ok(Refreshed::Invalid);
            };
            let grant: Option<GrantRow> =
                sqlx::query_as(sql(grant_select!("WHERE g.id = $1 AND g.revoked_at IS NULL")))
                    .bind(grant_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some(grant) = grant else { return Ok(Refreshed::Invalid) };
            sqlx::query(sql("INSERT INTO refresh_tokens (grant_id, token_hash, expires_at) VALUES ($1, $2, $3)"))
                .bind(grant_id)
                .bind(next_hash)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Refreshed::Rotated(Box::new(grant.into())))
        })
    }

    async fn grant_of_refresh_token(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Grant>> {
        on!(read self, |pool, sql| {
            let row: Option<GrantRow> = sqlx::query_as(sql(grant_select!(
                "JOIN refresh_tokens t ON t.grant_id = g.id WHERE t.token_hash = $1 AND t.used_at IS NULL \
                 AND t.expires_at > $2 AND g.revoked_at IS NULL"
            )))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(Into::into))
        })
    }

    async fn session_by_id(&self, id: i64) -> StoreResult<Option<SessionView>> {
        static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text = TEXT.get_or_init(|| format!("{SESSION_SELECT} WHERE s.id = $1")).as_str();
        on!(read self, |pool, sql| {
            let row: Option<SessionRow> = sqlx::query_as(sql(text)).bind(id).fetch_optional(pool).await?;
            Ok(row.map(Into::into))
        })
    }

    async fn session_second_factor(&self, session_id: i64) -> StoreResult<Option<String>> {
        on!(read self, |pool, sql| {
            let factor: Option<Option<String>> =
                sqlx::query_scalar(sql("SELECT second_factor FROM sessions WHERE id = $1"))
                    .bind(session_id)
                    .fetch_optional(pool)
                    .await?;
            Ok(factor.flatten())
        })
    }

    async fn set_session_second_factor(&self, session_id: i64, factor: &str) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE sessions SET second_factor = $2 WHERE id = $1"))
                .bind(session_id)
                .bind(factor)
                .execute(pool)
                .await?;
            Ok(())
        })
    }
}
