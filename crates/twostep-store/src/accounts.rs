//! [`AccountStore`]: accounts, the admin user list, the enrollment report, setup links and
//! temporary access codes (SPEC §12).

use crate::SqlStore;
use crate::methods::method_kind;
use twostep_core::Timestamp;
use twostep_core::domain::AccountKind;
use twostep_core::store::*;

/// The columns [`AccountRow`] reads, from `accounts a LEFT JOIN profiles p` (a literal, for
/// `concat!`).
macro_rules! account_columns {
    () => {
        "a.id, a.org_id, a.username, a.kind, a.password_hash, a.phone_hint, a.locked_until, \
         a.email, a.display_name, a.disabled, a.access_code_required, a.enroll_by, \
         p.id AS p_id, p.slug AS p_slug, p.name AS p_name, p.admin AS p_admin, p.mandatory AS p_mandatory"
    };
}
pub(crate) use account_columns;

/// An account with its profile; a condition follows.
macro_rules! account_select {
    () => {
        concat!("SELECT ", account_columns!(), " FROM accounts a LEFT JOIN profiles p ON p.id = a.profile_id ")
    };
}

#[derive(sqlx::FromRow)]
pub(crate) struct AccountRow {
    id: i64,
    org_id: i64,
    username: String,
    kind: String,
    password_hash: String,
    phone_hint: Option<String>,
    locked_until: Option<i64>,
    email: Option<String>,
    display_name: String,
    disabled: bool,
    access_code_required: bool,
    enroll_by: Option<i64>,
    p_id: Option<i64>,
    p_slug: Option<String>,
    p_name: Option<String>,
    p_admin: Option<bool>,
    p_mandatory: Option<bool>,
}

impl From<AccountRow> for Account {
    fn from(r: AccountRow) -> Self {
        let profile = match (r.p_id, r.p_slug, r.p_name) {
            (Some(id), Some(slug), Some(name)) => Some(Profile {
                id,
                org_id: r.org_id,
                slug,
                name,
                admin: r.p_admin.unwrap_or(false),
                mandatory: r.p_mandatory.unwrap_or(false),
            }),
            _ => None,
        };
        Self {
            id: r.id,
            org_id: r.org_id,
            username: r.username,
            kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Contact),
            profile,
            password_hash: r.password_hash,
            phone_hint: r.phone_hint,
            locked_until: r.locked_until,
            email: r.email,
            display_name: r.display_name,
            disabled: r.disabled,
            access_code_required: r.access_code_required,
            enroll_by: r.enroll_by,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: i64,
    username: String,
    kind: String,
    profile_slug: Option<String>,
    profile_mandatory: bool,
    last_two_step_at: Option<i64>,
    enroll_by: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    username: String,
    username_key: String,
    display_name: String,
    email: Option<String>,
    kind: String,
    profile_slug: Option<String>,
    profile_mandatory: bool,
    disabled: bool,
    access_code_required: bool,
    last_sign_in_at: Option<i64>,
    last_two_step_at: Option<i64>,
}

// The admin user list: $1 org, $2 text pattern (lower case, with %), $3 profile id,
// $4 enrollment filter, $5 after this username_key, $6 limit, $7 one account id.
const LIST_ACCOUNTS: &str = "SELECT a.id, a.username, a.username_key, a.display_name, a.email, a.kind, \
       p.slug AS profile_slug, COALESCE(p.mandatory, FALSE) AS profile_mandatory, a.disabled, \
       a.access_code_required, a.last_sign_in_at, a.last_two_step_at \
     FROM accounts a LEFT JOIN profiles p ON p.id = a.profile_id JOIN organizations o ON o.id = a.org_id \
     WHERE a.org_id = $1 \
       AND (CAST($2 AS TEXT) IS NULL OR LOWER(a.username) LIKE $2 OR LOWER(a.display_name) LIKE $2 \
            OR LOWER(COALESCE(a.email, '')) LIKE $2) \
       AND (CAST($3 AS BIGINT) IS NULL OR a.profile_id = $3) \
       AND (CAST($4 AS TEXT) IS NULL \
            OR ($4 = 'enrolled' AND a.kind = 'user' AND EXISTS (SELECT 1 FROM methods m WHERE m.account_id = a.id)) \
            OR ($4 = 'not_enrolled' AND a.kind = 'user' \
                AND NOT EXISTS (SELECT 1 FROM methods m WHERE m.account_id = a.id)) \
            OR ($4 = 'required_not_enrolled' AND a.kind = 'user' AND COALESCE(p.mandatory, FALSE) = TRUE \
                AND o.two_step_enabled = TRUE AND o.addon = 'connected' \
                AND NOT EXISTS (SELECT 1 FROM methods m WHERE m.account_id = a.id))) \
       AND (CAST($5 AS TEXT) IS NULL OR a.username_key > $5) \
       AND (CAST($7 AS BIGINT) IS NULL OR a.id = $7) \
     ORDER BY a.username_key LIMIT $6";

#[async_trait::async_trait]
impl AccountStore for SqlStore {
    async fn create_account(&self, a: NewAccount) -> StoreResult<i64> {
        // The lookup form every caller searches by (SPEC §11.9: NFKC and case folding):
        // plain lower case would file "Straße" where "STRASSE" is never looked for.
        let key = twostep_core::domain::Username::parse(&a.username)
            .map(|u| u.key())
            .unwrap_or_else(|_| a.username.to_lowercase());
        on!(self, |pool, sql| {
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO accounts (org_id, username, username_key, kind, profile_id, password_hash, \
                   phone_sealed, phone_hint, phone_key_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            ))
            .bind(a.org_id)
            .bind(&a.username)
            .bind(&key)
            .bind(a.kind.as_str())
            .bind(a.profile_id)
            .bind(&a.password_hash)
            .bind(&a.phone_sealed)
            .bind(&a.phone_hint)
            .bind(&a.key_id)
            .bind(a.created_at)
            .fetch_one(pool)
            .await?;
            // Created under a mandatory profile: the enrollment period starts now (§14).
            sqlx::query(sql("UPDATE accounts SET enroll_by = created_at + 86400 * (SELECT o.enrollment_period_days \
                   FROM organizations o WHERE o.id = accounts.org_id) \
                 WHERE id = $1 AND kind = 'user' AND EXISTS (SELECT 1 FROM profiles p WHERE p.id = accounts.profile_id \
                   AND p.mandatory = TRUE) AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = accounts.org_id \
                   AND o.two_step_enabled = TRUE AND o.enrollment_period_days > 0)"))
            .bind(id)
            .execute(pool)
            .await?;
            Ok(id)
        })
    }

    async fn account_by_username(&self, org_id: i64, username_key: &str) -> StoreResult<Option<Account>> {
        on!(read self, |pool, sql| {
            let row: Option<AccountRow> =
                sqlx::query_as(sql(concat!(account_select!(), "WHERE a.org_id = $1 AND a.username_key = $2")))
            .bind(org_id)
            .bind(username_key)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(Into::into))
        })
    }

    async fn account_by_id(&self, id: i64) -> StoreResult<Account> {
        on!(read self, |pool, sql| {
            let row: AccountRow = sqlx::query_as(sql(concat!(account_select!(), "WHERE a.id = $1")))
            .bind(id)
            .fetch_one(pool)
            .await?;
            Ok(row.into())
        })
    }

    async fn account_report(&self, org_id: i64) -> StoreResult<Vec<AccountReport>> {
        on!(read self, |pool, sql| {
            let rows: Vec<ReportRow> = sqlx::query_as(sql("SELECT a.id, a.username, a.kind, p.slug AS profile_slug, \
                   COALESCE(p.mandatory, FALSE) AS profile_mandatory, a.last_two_step_at, a.enroll_by \
                 FROM accounts a LEFT JOIN profiles p ON p.id = a.profile_id \
                 WHERE a.org_id = $1 ORDER BY a.username_key"))
            .bind(org_id)
            .fetch_all(pool)
            .await?;
            let methods: Vec<(i64, String, String)> = sqlx::query_as(sql(
                "SELECT m.account_id, m.kind, m.name FROM methods m JOIN accounts a ON a.id = m.account_id \
                 WHERE a.org_id = $1 ORDER BY m.kind, m.id",
            ))
            .bind(org_id)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mut kinds = Vec::new();
                let mut named = Vec::new();
                for (account_id, kind, name) in &methods {
                    if *account_id == r.id {
                        let kind = method_kind(kind)?;
                        if !kinds.contains(&kind) {
                            kinds.push(kind);
                        }
                        named.push((kind, name.clone()));
                    }
                }
                out.push(AccountReport {
                    account_id: r.id,
                    username: r.username,
                    kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Contact),
                    profile_slug: r.profile_slug,
                    profile_mandatory: r.profile_mandatory,
                    methods: kinds,
                    named_methods: named,
                    last_two_step_at: r.last_two_step_at,
                    enroll_by: r.enroll_by,
                });
            }
            Ok(out)
        })
    }

    async fn update_account(&self, account_id: i64, u: AccountUpdate) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            if let Some(profile_id) = u.profile_id {
                sqlx::query(sql("UPDATE accounts SET profile_id = $2 WHERE id = $1"))
                    .bind(account_id)
                    .bind(profile_id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(email) = &u.email {
                sqlx::query(sql("UPDATE accounts SET email = $2 WHERE id = $1"))
                    .bind(account_id)
                    .bind(email)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(name) = &u.display_name {
                sqlx::query(sql("UPDATE accounts SET display_name = $2 WHERE id = $1"))
                    .bind(account_id)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn set_disabled(&self, account_id: i64, disabled: bool) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE accounts SET disabled = $2 WHERE id = $1"))
                .bind(account_id)
                .bind(disabled)
                .execute(&mut *tx)
                .await?;
            if disabled {
                for statement in [
                    "DELETE FROM sessions WHERE account_id = $1",
                    "DELETE FROM flows WHERE account_id = $1",
                    "DELETE FROM setup_links WHERE account_id = $1",
                ] {
                    sqlx::query(sql(statement)).bind(account_id).execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn delete_account(&self, account_id: i64) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("DELETE FROM accounts WHERE id = $1")).bind(account_id).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn set_password(&self, account_id: i64, password_hash: &str, keep_session: Option<i64>) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE accounts SET password_hash = $2 WHERE id = $1"))
                .bind(account_id)
                .bind(password_hash)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql("DELETE FROM sessions WHERE account_id = $1 AND id <> $2"))
                .bind(account_id)
                .bind(keep_session.unwrap_or(-1))
                .execute(&mut *tx)
                .await?;
            for statement in [
                "DELETE FROM flows WHERE account_id = $1",
                "DELETE FROM setup_links WHERE account_id = $1 AND used_at IS NULL",
                // SPEC §14: a new password forgets the remembered devices.
                "DELETE FROM remembered_devices WHERE account_id = $1",
            ] {
                sqlx::query(sql(statement)).bind(account_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn list_accounts(&self, org_id: i64, q: AccountQuery) -> StoreResult<Vec<AccountSummary>> {
        let pattern = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(|t| {
            let escaped: String = t.to_lowercase().chars().filter(|c| *c != '%' && *c != '_').collect();
            format!("%{escaped}%")
        });
        let filter = q.two_step.map(|f| match f {
            TwoStepFilter::Enrolled => "enrolled",
            TwoStepFilter::NotEnrolled => "not_enrolled",
            TwoStepFilter::RequiredNotEnrolled => "required_not_enrolled",
        });
        on!(read self, |pool, sql| {
            let rows: Vec<SummaryRow> = sqlx::query_as(sql(LIST_ACCOUNTS))
                .bind(org_id)
                .bind(&pattern)
                .bind(q.profile_id)
                .bind(filter)
                .bind(&q.after)
                .bind(q.limit)
                .bind(q.account_id)
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let kinds: Vec<String> = sqlx::query_scalar(sql(
                    "SELECT DISTINCT kind FROM methods WHERE account_id = $1 ORDER BY kind DESC",
                ))
                .bind(r.id)
                .fetch_all(pool)
                .await?;
                out.push(AccountSummary {
                    account_id: r.id,
                    username: r.username,
                    username_key: r.username_key,
                    display_name: r.display_name,
                    email: r.email,
                    kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Contact),
                    profile_slug: r.profile_slug,
                    profile_mandatory: r.profile_mandatory,
                    disabled: r.disabled,
                    access_code_required: r.access_code_required,
                    methods: kinds.iter().map(|k| method_kind(k)).collect::<Result<_, _>>()?,
                    last_sign_in_at: r.last_sign_in_at,
                    last_two_step_at: r.last_two_step_at,
                });
            }
            Ok(out)
        })
    }

    async fn set_access_code_required(&self, account_id: i64, required: bool) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE accounts SET access_code_required = $2 WHERE id = $1"))
                .bind(account_id)
                .bind(required)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn create_setup_link(
        &self,
        account_id: i64,
        token_hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        // One live link per account: a new one replaces the last.
        self.replace_for_account(
            "DELETE FROM setup_links WHERE account_id = $1",
            "INSERT INTO setup_links (account_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            account_id,
            token_hash,
            now,
            expires_at,
        )
        .await
    }

    async fn setup_link_account(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<i64>> {
        on!(read self, |pool, sql| {
            let id: Option<i64> = sqlx::query_scalar(sql(
                "SELECT account_id FROM setup_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            ))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(id)
        })
    }

    async fn claim_setup_link(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let id: Option<i64> = sqlx::query_scalar(sql("UPDATE setup_links SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING account_id"))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(id)
        })
    }

    async fn create_access_code(
        &self,
        account_id: i64,
        code_hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        // Earlier unused codes of the account die.
        self.replace_for_account(
            "DELETE FROM access_codes WHERE account_id = $1",
            "INSERT INTO access_codes (account_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            account_id,
            code_hash,
            now,
            expires_at,
        )
        .await
    }

    async fn claim_access_code(
        &self,
        account_id: i64,
        flow_id: Option<i64>,
        code_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let used = sqlx::query(sql("UPDATE access_codes SET used_at = $3 \
                 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL AND expires_at > $3"))
            .bind(account_id)
            .bind(code_hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() != 1 {
                return Ok(false);
            }
            let unlocked = match flow_id {
                Some(flow_id) => {
                    sqlx::query(sql("UPDATE flows SET access_code_ok = TRUE WHERE id = $1 AND account_id = $2"))
                        .bind(flow_id)
                        .bind(account_id)
                        .execute(&mut *tx)
                        .await?
                }
                None => {
                    sqlx::query(sql("UPDATE accounts SET access_code_required = FALSE WHERE id = $1"))
                        .bind(account_id)
                        .execute(&mut *tx)
                        .await?
                }
            };
            if unlocked.rows_affected() != 1 {
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn account_phone(&self, account_id: i64) -> StoreResult<Option<(Vec<u8>, String)>> {
        on!(read self, |pool, sql| {
            let row: Option<(Option<Vec<u8>>, Option<String>)> =
                sqlx::query_as(sql("SELECT phone_sealed, phone_key_id FROM accounts WHERE id = $1"))
                    .bind(account_id)
                    .fetch_optional(pool)
                    .await?;
            Ok(match row {
                Some((Some(sealed), Some(key_id))) => Some((sealed, key_id)),
                _ => None,
            })
        })
    }
}

impl SqlStore {
    /// In one transaction, `delete` (`$1` the account) and then `insert` (`$1` the account,
    /// `$2` the hash, `$3` now, `$4` the expiry): an account's one live setup link or
    /// access code.
    async fn replace_for_account(
        &self,
        delete: &'static str,
        insert: &'static str,
        account_id: i64,
        hash: &[u8],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql(delete)).bind(account_id).execute(&mut *tx).await?;
            sqlx::query(sql(insert)).bind(account_id).bind(hash).bind(now).bind(expires_at).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        })
    }
}
