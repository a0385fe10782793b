//! The `Store` methods: one SQL text for both backends (see `sqlite_sql`).

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::domain::{AccountKind, AddonState, Language, MethodKind};
use twostep_core::flow::{FlowKind, lockout};
use twostep_core::store::*;

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: i64,
    slug: String,
    name: String,
    addon: String,
    two_step_enabled: bool,
    mandatory_all: bool,
    language: String,
    enrollment_period_days: i64,
    remember_device_days: i64,
}

impl From<OrgRow> for Organization {
    fn from(r: OrgRow) -> Self {
        Self {
            id: r.id,
            slug: r.slug,
            name: r.name,
            addon: AddonState::parse(&r.addon).unwrap_or(AddonState::Unavailable),
            two_step_enabled: r.two_step_enabled,
            mandatory_for_organization: r.mandatory_all,
            language: Language::parse(&r.language).unwrap_or_default(),
            enrollment_period_days: r.enrollment_period_days,
            remember_device_days: r.remember_device_days,
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProfileRow {
    id: i64,
    org_id: i64,
    slug: String,
    name: String,
    admin: bool,
    mandatory: bool,
}

impl From<ProfileRow> for Profile {
    fn from(r: ProfileRow) -> Self {
        Self { id: r.id, org_id: r.org_id, slug: r.slug, name: r.name, admin: r.admin, mandatory: r.mandatory }
    }
}

#[derive(sqlx::FromRow)]
struct ProfileStatsRow {
    #[sqlx(flatten)]
    profile: ProfileRow,
    users: i64,
    enrolled: i64,
}

#[derive(sqlx::FromRow)]
struct AccountRow {
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

#[derive(sqlx::FromRow, Clone)]
pub(crate) struct SessionRow {
    id: i64,
    org_id: i64,
    org_slug: String,
    account_id: i64,
    username: String,
    kind: String,
    profile_slug: Option<String>,
    admin: bool,
    client: String,
    two_step_verified: bool,
    last_two_step_at: Option<i64>,
    created_at: i64,
    last_seen_at: i64,
    expires_at: i64,
    revoke_at: Option<i64>,
    ip: Option<String>,
    user_agent: Option<String>,
}

impl From<SessionRow> for SessionView {
    fn from(r: SessionRow) -> Self {
        Self {
            id: r.id,
            org_id: r.org_id,
            org_slug: r.org_slug,
            account_id: r.account_id,
            username: r.username,
            kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Contact),
            profile_slug: r.profile_slug,
            admin: r.admin,
            client: r.client,
            two_step_verified: r.two_step_verified,
            last_two_step_at: r.last_two_step_at,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            revoke_at: r.revoke_at,
            ip: r.ip,
            user_agent: r.user_agent,
        }
    }
}

/// Sessions per `touch_sessions` statement (two parameters each, far below both
/// databases' limits).
const TOUCH_BATCH: usize = 1000;

pub(crate) const SESSION_SELECT: &str = "SELECT s.id, s.org_id, o.slug AS org_slug, s.account_id, a.username, a.kind, \
     p.slug AS profile_slug, COALESCE(p.admin, FALSE) AS admin, s.client, s.two_step_verified, \
     s.last_two_step_at, s.created_at, s.last_seen_at, s.expires_at, s.revoke_at, s.ip, s.user_agent \
     FROM sessions s JOIN accounts a ON a.id = s.account_id JOIN organizations o ON o.id = s.org_id \
     LEFT JOIN profiles p ON p.id = a.profile_id";

#[derive(sqlx::FromRow)]
struct FlowRow {
    id: i64,
    kind: String,
    org_id: i64,
    account_id: i64,
    client: String,
    failures: i64,
    expires_at: i64,
    access_code_ok: bool,
}

#[derive(sqlx::FromRow)]
struct MethodRow {
    id: i64,
    kind: String,
    name: String,
    sealed: Option<Vec<u8>>,
    key_id: Option<String>,
    phone_hint: Option<String>,
    enabled_at: i64,
    last_used_at: Option<i64>,
    credential: Option<String>,
}

impl TryFrom<MethodRow> for Method {
    type Error = sqlx::Error;

    fn try_from(r: MethodRow) -> Result<Self, sqlx::Error> {
        Ok(Method {
            id: r.id,
            kind: method_kind(&r.kind)?,
            name: r.name,
            sealed: r.sealed.unwrap_or_default(),
            key_id: r.key_id.unwrap_or_default(),
            phone_hint: r.phone_hint,
            enabled_at: r.enabled_at,
            last_used_at: r.last_used_at,
            credential: r.credential,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CeremonyRow {
    id: String,
    account_id: i64,
    purpose: String,
    name: Option<String>,
    state: String,
    expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    account_id: i64,
    owner: String,
    kind: String,
    name: Option<String>,
    sealed: Vec<u8>,
    key_id: String,
    phone_hint: Option<String>,
    expires_at: i64,
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

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    org_id: Option<i64>,
    at: i64,
    kind: String,
    actor: Option<String>,
    subject: Option<String>,
    client: Option<String>,
    ip: Option<String>,
    outcome: String,
}

#[derive(sqlx::FromRow)]
struct SealedRow {
    source: String,
    account_id: i64,
    kind: String,
    org_id: i64,
    username_key: String,
    sealed: Vec<u8>,
    key_id: Option<String>,
}

// Every sealed secret not under key $1, at most $2, in a stable order. A record that
// cannot be opened stops the rotation (its key must be configured), so the order never
// needs to skip past one.
const SEALED_NOT_UNDER: &str = "SELECT source, account_id, kind, org_id, username_key, sealed, key_id FROM ( \
       SELECT 'method' AS source, m.account_id, m.kind, a.org_id, a.username_key, m.sealed, m.key_id \
         FROM methods m JOIN accounts a ON a.id = m.account_id WHERE m.sealed IS NOT NULL AND m.key_id <> $1 \
       UNION ALL \
       SELECT 'pending' AS source, p.account_id, p.kind, a.org_id, a.username_key, p.sealed, p.key_id \
         FROM pending_methods p JOIN accounts a ON a.id = p.account_id WHERE p.key_id <> $1 \
       UNION ALL \
       SELECT 'phone' AS source, a.id AS account_id, 'phone' AS kind, a.org_id, a.username_key, \
         a.phone_sealed AS sealed, a.phone_key_id AS key_id \
         FROM accounts a WHERE a.phone_sealed IS NOT NULL AND (a.phone_key_id IS NULL OR a.phone_key_id <> $1) \
     ) AS sealed ORDER BY source, account_id, kind LIMIT $2";

// Statements shared by several transactions, written once. Macros rather than functions:
// they run on either backend's transaction inside `on!`.

/// A write to the account row first: PostgreSQL locks the row and SQLite takes the write
/// lock, so a concurrent removal waits here and then sees this one's result before it
/// counts (SPEC §11.6).
macro_rules! lock_account {
    ($tx:expr, $sql:ident, $account_id:expr) => {
        sqlx::query($sql("UPDATE accounts SET second_step_locks = second_step_locks WHERE id = $1"))
            .bind($account_id)
            .execute(&mut *$tx)
            .await?
    };
}

/// After a method is removed: remembered devices are forgotten (SPEC §14) and the
/// recovery codes go with the last method.
macro_rules! after_removal {
    ($tx:expr, $sql:ident, $account_id:expr) => {
        sqlx::query($sql("DELETE FROM remembered_devices WHERE account_id = $1"))
            .bind($account_id)
            .execute(&mut *$tx)
            .await?;
        sqlx::query($sql(
            "DELETE FROM recovery_codes WHERE account_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM methods WHERE account_id = $1)",
        ))
        .bind($account_id)
        .execute(&mut *$tx)
        .await?;
    };
}

/// Replaces an account's recovery codes with these hashes.
macro_rules! store_recovery_codes {
    ($tx:expr, $sql:ident, $account_id:expr, $hashes:expr) => {
        sqlx::query($sql("DELETE FROM recovery_codes WHERE account_id = $1"))
            .bind($account_id)
            .execute(&mut *$tx)
            .await?;
        for hash in $hashes {
            sqlx::query($sql("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)"))
                .bind($account_id)
                .bind(hash)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

fn method_kind(s: &str) -> Result<MethodKind, sqlx::Error> {
    MethodKind::parse(s).ok_or_else(|| sqlx::Error::Decode(format!("unknown method kind {s:?}").into()))
}

// Sessions of the users of mandatory profiles that did not pass 2SV.
// $1 org, $2 revoke_at, $3 optional profile id.
//
// A user with an enrollment deadline (SPEC §14) keeps them until that deadline.
const REVOKE_UNVERIFIED: &str = "UPDATE sessions SET revoke_at = (SELECT CASE WHEN a.enroll_by > $2 \
       THEN a.enroll_by ELSE $2 END FROM accounts a WHERE a.id = sessions.account_id) \
     WHERE revoke_at IS NULL AND two_step_verified = FALSE AND account_id IN ( \
       SELECT a.id FROM accounts a JOIN profiles p ON p.id = a.profile_id \
       WHERE p.org_id = $1 AND p.mandatory = TRUE AND a.kind = 'user' \
         AND ($3 IS NULL OR p.id = $3)) \
     AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = $1 AND o.two_step_enabled = TRUE)";

// SPEC §14: users whom 2SV has just become mandatory for, who have no method yet, get
// the organisation's enrollment period (when it has one). $1 org, $2 now, $3 optional
// profile id.
const START_ENROLLMENT_PERIOD: &str = "UPDATE accounts SET enroll_by = $2 + 86400 * \
       (SELECT o.enrollment_period_days FROM organizations o WHERE o.id = $1) \
     WHERE org_id = $1 AND kind = 'user' AND enroll_by IS NULL \
       AND profile_id IN (SELECT p.id FROM profiles p WHERE p.org_id = $1 AND p.mandatory = TRUE \
         AND ($3 IS NULL OR p.id = $3)) \
       AND NOT EXISTS (SELECT 1 FROM methods m WHERE m.account_id = accounts.id) \
       AND EXISTS (SELECT 1 FROM organizations o WHERE o.id = $1 AND o.two_step_enabled = TRUE \
         AND o.enrollment_period_days > 0)";

// Deadlines of users for whom 2SV is no longer mandatory. $1 org.
const CLEAR_ENROLLMENT_PERIOD: &str = "UPDATE accounts SET enroll_by = NULL \
     WHERE org_id = $1 AND enroll_by IS NOT NULL AND (profile_id IS NULL OR profile_id IN \
       (SELECT p.id FROM profiles p WHERE p.org_id = $1 AND p.mandatory = FALSE) \
       OR NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = $1 AND o.two_step_enabled = TRUE))";

// Pending revocations of users whose profile is no longer mandatory. $1 org, $2 now.
const CLEAR_REVOCATIONS: &str = "UPDATE sessions SET revoke_at = NULL \
     WHERE revoke_at > $2 AND account_id IN ( \
       SELECT a.id FROM accounts a LEFT JOIN profiles p ON p.id = a.profile_id \
       WHERE a.org_id = $1 AND (COALESCE(p.mandatory, FALSE) = FALSE \
         OR NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = $1 AND o.two_step_enabled = TRUE)))";

#[async_trait::async_trait]
impl Store for SqlStore {
    fn pool_stats(&self) -> (u32, u32) {
        match &self.pool {
            crate::Pool::Sqlite(p) => (p.size(), p.num_idle() as u32),
            crate::Pool::Postgres(p) => (p.size(), p.num_idle() as u32),
        }
    }

    fn pool_acquire_waits(&self) -> twostep_core::store::WaitHistogram {
        self.waits.snapshot()
    }

    async fn ping(&self) -> StoreResult<()> {
        on!(read self, |pool, sql| {
            sqlx::query(sql("SELECT 1")).execute(pool).await?;
            Ok(())
        })
    }

    async fn create_org(&self, slug: &str, name: &str, language: Language) -> StoreResult<Organization> {
        on!(self, |pool, sql| {
            let row: OrgRow =
                sqlx::query_as(sql("INSERT INTO organizations (slug, name, language) VALUES ($1, $2, $3) \
                 RETURNING id, slug, name, addon, two_step_enabled, mandatory_all, language, enrollment_period_days, remember_device_days"))
                .bind(slug)
                .bind(name)
                .bind(language.as_str())
                .fetch_one(pool)
                .await?;
            Ok(row.into())
        })
    }

    async fn org_by_slug(&self, slug: &str) -> StoreResult<Option<Organization>> {
        on!(read self, |pool, sql| {
            let row: Option<OrgRow> = sqlx::query_as(sql(
                "SELECT id, slug, name, addon, two_step_enabled, mandatory_all, language, enrollment_period_days, remember_device_days \
                 FROM organizations WHERE slug = $1",
            ))
            .bind(slug)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(Into::into))
        })
    }

    async fn org_by_id(&self, id: i64) -> StoreResult<Organization> {
        on!(read self, |pool, sql| {
            let row: OrgRow = sqlx::query_as(sql(
                "SELECT id, slug, name, addon, two_step_enabled, mandatory_all, language, enrollment_period_days, remember_device_days \
                 FROM organizations WHERE id = $1",
            ))
            .bind(id)
            .fetch_one(pool)
            .await?;
            Ok(row.into())
        })
    }

    async fn set_addon_state(&self, org_id: i64, addon: AddonState) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE organizations SET addon = $2 WHERE id = $1"))
                .bind(org_id)
                .bind(addon.as_str())
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn set_two_step_enabled(
        &self,
        org_id: i64,
        enabled: bool,
        now: Timestamp,
        revoke_at: Timestamp,
    ) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("UPDATE organizations SET two_step_enabled = $2 WHERE id = $1"))
                .bind(org_id)
                .bind(enabled)
                .execute(&mut *tx)
                .await?;
            if enabled {
                sqlx::query(sql(START_ENROLLMENT_PERIOD))
                    .bind(org_id)
                    .bind(now)
                    .bind(None::<i64>)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql(REVOKE_UNVERIFIED))
                    .bind(org_id)
                    .bind(revoke_at)
                    .bind(None::<i64>)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query(sql(CLEAR_REVOCATIONS)).bind(org_id).bind(now).execute(&mut *tx).await?;
                sqlx::query(sql(CLEAR_ENROLLMENT_PERIOD)).bind(org_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn create_profile(&self, org_id: i64, slug: &str, name: &str, admin: bool) -> StoreResult<Profile> {
        on!(self, |pool, sql| {
            let row: ProfileRow = sqlx::query_as(sql("INSERT INTO profiles (org_id, slug, name, admin, mandatory) \
                 SELECT o.id, $2, $3, $4, o.mandatory_all FROM organizations o WHERE o.id = $1 \
                 RETURNING id, org_id, slug, name, admin, mandatory"))
            .bind(org_id)
            .bind(slug)
            .bind(name)
            .bind(admin)
            .fetch_one(pool)
            .await?;
            Ok(row.into())
        })
    }

    async fn profile_by_slug(&self, org_id: i64, slug: &str) -> StoreResult<Option<Profile>> {
        on!(read self, |pool, sql| {
            let row: Option<ProfileRow> = sqlx::query_as(sql(
                "SELECT id, org_id, slug, name, admin, mandatory FROM profiles WHERE org_id = $1 AND slug = $2",
            ))
            .bind(org_id)
            .bind(slug)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(Into::into))
        })
    }

    async fn profile_stats(&self, org_id: i64) -> StoreResult<Vec<ProfileStats>> {
        on!(read self, |pool, sql| {
            let rows: Vec<ProfileStatsRow> =
                sqlx::query_as(sql("SELECT p.id, p.org_id, p.slug, p.name, p.admin, p.mandatory, \
                   (SELECT COUNT(*) FROM accounts a WHERE a.profile_id = p.id AND a.kind = 'user') AS users, \
                   (SELECT COUNT(*) FROM accounts a WHERE a.profile_id = p.id AND a.kind = 'user' \
                      AND EXISTS (SELECT 1 FROM methods m WHERE m.account_id = a.id)) AS enrolled \
                 FROM profiles p WHERE p.org_id = $1 ORDER BY p.slug"))
                .bind(org_id)
                .fetch_all(pool)
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| ProfileStats { profile: r.profile.into(), users: r.users, enrolled: r.enrolled })
                .collect())
        })
    }

    async fn set_mandatory(
        &self,
        org_id: i64,
        profile_id: Option<i64>,
        mandatory: bool,
        now: Timestamp,
        revoke_at: Timestamp,
    ) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            match profile_id {
                Some(id) => {
                    sqlx::query(sql("UPDATE profiles SET mandatory = $3 WHERE org_id = $1 AND id = $2"))
                        .bind(org_id)
                        .bind(id)
                        .bind(mandatory)
                        .execute(&mut *tx)
                        .await?;
                    if !mandatory {
                        // One profile made optional: the organisation is no longer fully mandatory.
                        sqlx::query(sql("UPDATE organizations SET mandatory_all = FALSE WHERE id = $1"))
                            .bind(org_id)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                None => {
                    sqlx::query(sql("UPDATE organizations SET mandatory_all = $2 WHERE id = $1"))
                        .bind(org_id)
                        .bind(mandatory)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query(sql("UPDATE profiles SET mandatory = $2 WHERE org_id = $1"))
                        .bind(org_id)
                        .bind(mandatory)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            if mandatory {
                sqlx::query(sql(START_ENROLLMENT_PERIOD))
                    .bind(org_id)
                    .bind(now)
                    .bind(profile_id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql(REVOKE_UNVERIFIED))
                    .bind(org_id)
                    .bind(revoke_at)
                    .bind(profile_id)
                    .execute(&mut *tx)
                    .await?;
            } else {
                sqlx::query(sql(CLEAR_REVOCATIONS)).bind(org_id).bind(now).execute(&mut *tx).await?;
                sqlx::query(sql(CLEAR_ENROLLMENT_PERIOD)).bind(org_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

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

    async fn set_remember_device_days(&self, org_id: i64, days: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let old: i64 = sqlx::query_scalar(sql("SELECT remember_device_days FROM organizations WHERE id = $1"))
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
            sqlx::query(sql("UPDATE organizations SET remember_device_days = $2 WHERE id = $1"))
                .bind(org_id)
                .bind(days)
                .execute(&mut *tx)
                .await?;
            if days < old {
                sqlx::query(sql("DELETE FROM remembered_devices WHERE account_id IN \
                     (SELECT id FROM accounts WHERE org_id = $1)"))
                .bind(org_id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn remember_device(
        &self,
        account_id: i64,
        token_hash: &[u8],
        user_agent: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("INSERT INTO remembered_devices (account_id, token_hash, user_agent, created_at, \
                 last_used_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)"))
            .bind(account_id)
            .bind(token_hash)
            .bind(user_agent)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn use_device(&self, account_id: i64, token_hash: &[u8], now: Timestamp) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("UPDATE remembered_devices SET last_used_at = $3 \
                 WHERE account_id = $1 AND token_hash = $2 AND expires_at > $3"))
            .bind(account_id)
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn devices(&self, account_id: i64, now: Timestamp) -> StoreResult<Vec<RememberedDevice>> {
        on!(read self, |pool, sql| {
            let rows: Vec<(i64, Option<String>, i64, i64, i64)> = sqlx::query_as(sql(
                "SELECT id, user_agent, created_at, last_used_at, expires_at FROM remembered_devices \
                 WHERE account_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC, id DESC",
            ))
            .bind(account_id)
            .bind(now)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, user_agent, created_at, last_used_at, expires_at)| RememberedDevice {
                    id,
                    user_agent,
                    created_at,
                    last_used_at,
                    expires_at,
                })
                .collect())
        })
    }

    async fn forget_device(&self, account_id: i64, id: i64) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("DELETE FROM remembered_devices WHERE account_id = $1 AND id = $2"))
                .bind(account_id)
                .bind(id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn forget_devices(&self, account_id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("DELETE FROM remembered_devices WHERE account_id = $1"))
                .bind(account_id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn device_counts(&self, org_id: i64, now: Timestamp) -> StoreResult<Vec<(i64, i64)>> {
        on!(read self, |pool, sql| {
            let rows: Vec<(i64, i64)> = sqlx::query_as(sql(
                "SELECT d.account_id, COUNT(*) FROM remembered_devices d JOIN accounts a ON a.id = d.account_id \
                 WHERE a.org_id = $1 AND d.expires_at > $2 GROUP BY d.account_id",
            ))
            .bind(org_id)
            .bind(now)
            .fetch_all(pool)
            .await?;
            Ok(rows)
        })
    }

    async fn set_session_revoke_at(&self, session_id: i64, at: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE sessions SET revoke_at = $2 WHERE id = $1"))
                .bind(session_id)
                .bind(at)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn set_enrollment_period(&self, org_id: i64, days: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE organizations SET enrollment_period_days = $2 WHERE id = $1"))
                .bind(org_id)
                .bind(days)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn account_by_username(&self, org_id: i64, username_key: &str) -> StoreResult<Option<Account>> {
        on!(read self, |pool, sql| {
            let row: Option<AccountRow> = sqlx::query_as(sql(
                "SELECT a.id, a.org_id, a.username, a.kind, a.password_hash, a.phone_hint, a.locked_until, \
                   a.email, a.display_name, a.disabled, a.access_code_required, a.enroll_by, \
                   p.id AS p_id, p.slug AS p_slug, p.name AS p_name, p.admin AS p_admin, p.mandatory AS p_mandatory \
                 FROM accounts a LEFT JOIN profiles p ON p.id = a.profile_id \
                 WHERE a.org_id = $1 AND a.username_key = $2",
            ))
            .bind(org_id)
            .bind(username_key)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(Into::into))
        })
    }

    async fn account_by_id(&self, id: i64) -> StoreResult<Account> {
        on!(read self, |pool, sql| {
            let row: AccountRow = sqlx::query_as(sql(
                "SELECT a.id, a.org_id, a.username, a.kind, a.password_hash, a.phone_hint, a.locked_until, \
                   a.email, a.display_name, a.disabled, a.access_code_required, a.enroll_by, \
                   p.id AS p_id, p.slug AS p_slug, p.name AS p_name, p.admin AS p_admin, p.mandatory AS p_mandatory \
                 FROM accounts a LEFT JOIN profiles p ON p.id = a.profile_id WHERE a.id = $1",
            ))
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
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            // One live link per account: a new one replaces the last.
            sqlx::query(sql("DELETE FROM setup_links WHERE account_id = $1"))
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql(
                "INSERT INTO setup_links (token_hash, account_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            ))
            .bind(token_hash)
            .bind(account_id)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
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
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("DELETE FROM access_codes WHERE account_id = $1"))
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql(
                "INSERT INTO access_codes (account_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            ))
            .bind(account_id)
            .bind(code_hash)
            .bind(now)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
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

    async fn create_session(&self, s: NewSession) -> StoreResult<i64> {
        self.open_session(None, s).await?.ok_or(StoreError::NotFound)
    }

    async fn open_session_from_flow(&self, flow_id: i64, s: NewSession) -> StoreResult<Option<i64>> {
        self.open_session(Some(flow_id), s).await
    }

    async fn session_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<SessionView>> {
        static QUERY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text: &'static str = QUERY.get_or_init(|| format!("{SESSION_SELECT} WHERE s.token_hash = $1")).as_str();
        if let Some(readers) = &self.readers {
            let row = readers.row(crate::sqlite_sql(text), token_hash, |r| {
                Ok(SessionRow {
                    id: r.get(0)?,
                    org_id: r.get(1)?,
                    org_slug: r.get(2)?,
                    account_id: r.get(3)?,
                    username: r.get(4)?,
                    kind: r.get(5)?,
                    profile_slug: r.get(6)?,
                    admin: r.get(7)?,
                    client: r.get(8)?,
                    two_step_verified: r.get(9)?,
                    last_two_step_at: r.get(10)?,
                    created_at: r.get(11)?,
                    last_seen_at: r.get(12)?,
                    expires_at: r.get(13)?,
                    revoke_at: r.get(14)?,
                    ip: r.get(15)?,
                    user_agent: r.get(16)?,
                })
            })?;
            return Ok(row.map(Into::into));
        }
        if let Some(lookup) = &self.pg_lookup {
            let row: Option<SessionRow> = lookup.row(text, token_hash).await?;
            return Ok(row.map(Into::into));
        }
        on!(read self, |pool, sql| {
            let row: Option<SessionRow> = sqlx::query_as(sql(text)).bind(token_hash).fetch_optional(pool).await?;
            Ok(row.map(Into::into))
        })
    }

    async fn touch_sessions(&self, touches: &[(i64, Timestamp)]) -> StoreResult<()> {
        if touches.is_empty() {
            return Ok(());
        }
        // One statement per thousand, all in one transaction: one commit (on SQLite one
        // fsync, and one change for the session lookups to see). VALUES names its
        // columns column1, column2 on both databases.
        on!(self, |pool, _sql| {
            let mut tx = pool.begin().await?;
            for batch in touches.chunks(TOUCH_BATCH) {
                let mut q = sqlx::QueryBuilder::new("UPDATE sessions SET last_seen_at = v.column2 FROM (");
                q.push_values(batch, |mut row, &(session_id, at)| {
                    row.push_bind(session_id).push_bind(at);
                });
                q.push(") AS v WHERE sessions.id = v.column1 AND sessions.last_seen_at < v.column2");
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn mark_stepped_up(&self, session_id: i64, now: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE sessions SET last_two_step_at = $2, two_step_verified = TRUE, revoke_at = NULL \
                 WHERE id = $1"))
            .bind(session_id)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn sessions_of_account(&self, account_id: i64, now: Timestamp) -> StoreResult<Vec<SessionView>> {
        on!(read self, |pool, sql| {
            static QUERY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let text: &'static str = QUERY
                .get_or_init(|| {
                    format!(
                        "{SESSION_SELECT} WHERE s.account_id = $1 AND s.expires_at > $2 \
                         AND (s.revoke_at IS NULL OR s.revoke_at > $2) ORDER BY s.id DESC"
                    )
                })
                .as_str();
            let rows: Vec<SessionRow> = sqlx::query_as(sql(text)).bind(account_id).bind(now).fetch_all(pool).await?;
            Ok(rows.into_iter().map(Into::into).collect())
        })
    }

    async fn delete_session(&self, session_id: i64) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("DELETE FROM sessions WHERE id = $1")).bind(session_id).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn delete_sessions_of_account(&self, account_id: i64) -> StoreResult<u64> {
        on!(self, |pool, sql| {
            let done =
                sqlx::query(sql("DELETE FROM sessions WHERE account_id = $1")).bind(account_id).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }

    async fn create_flow(&self, f: NewFlow) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO flows (token_hash, kind, org_id, account_id, client, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            ))
            .bind(&f.token_hash)
            .bind(f.kind.as_str())
            .bind(f.org_id)
            .bind(f.account_id)
            .bind(&f.client)
            .bind(f.created_at)
            .bind(f.expires_at)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn flow_by_hash(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Flow>> {
        on!(read self, |pool, sql| {
            let row: Option<FlowRow> = sqlx::query_as(sql(
                "SELECT id, kind, org_id, account_id, client, failures, expires_at, access_code_ok FROM flows \
                 WHERE token_hash = $1 AND expires_at > $2",
            ))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.and_then(|r| {
                Some(Flow {
                    id: r.id,
                    kind: FlowKind::parse(&r.kind)?,
                    org_id: r.org_id,
                    account_id: r.account_id,
                    client: r.client,
                    failures: r.failures,
                    expires_at: r.expires_at,
                    access_code_ok: r.access_code_ok,
                })
            }))
        })
    }

    async fn flow_failure(&self, flow_id: i64, max: i64) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let failures: Option<i64> = sqlx::query_scalar(sql(
                "UPDATE flows SET failures = failures + 1 WHERE id = $1 AND failures < $2 RETURNING failures",
            ))
            .bind(flow_id)
            .bind(max)
            .fetch_optional(pool)
            .await?;
            Ok(failures)
        })
    }

    async fn consume_flow(&self, flow_id: i64) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("DELETE FROM flows WHERE id = $1")).bind(flow_id).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn methods(&self, account_id: i64) -> StoreResult<Vec<Method>> {
        on!(read self, |pool, sql| {
            let rows: Vec<MethodRow> = sqlx::query_as(sql(
                "SELECT id, kind, name, sealed, key_id, phone_hint, enabled_at, last_used_at, credential \
                 FROM methods WHERE account_id = $1 ORDER BY kind DESC, id",
            ))
            .bind(account_id)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(Method::try_from).collect()
        })
    }

    async fn put_pending(&self, p: Pending) -> StoreResult<()> {
        // One enrollment of a kind per account at a time: a newer one, begun elsewhere,
        // replaces it (and the older owner then finds nothing to confirm).
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO pending_methods (account_id, kind, sealed, key_id, phone_hint, expires_at, owner, name) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (account_id, kind) DO UPDATE SET sealed = excluded.sealed, \
                   key_id = excluded.key_id, phone_hint = excluded.phone_hint, expires_at = excluded.expires_at, \
                   owner = excluded.owner, last_sms_at = NULL, name = excluded.name",
            ))
            .bind(p.account_id)
            .bind(p.kind.as_str())
            .bind(&p.sealed)
            .bind(&p.key_id)
            .bind(&p.phone_hint)
            .bind(p.expires_at)
            .bind(p.owner.key())
            .bind(&p.name)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn pending(
        &self,
        account_id: i64,
        kind: MethodKind,
        owner: EnrollmentOwner,
        now: Timestamp,
    ) -> StoreResult<Option<Pending>> {
        on!(read self, |pool, sql| {
            let row: Option<PendingRow> = sqlx::query_as(sql(
                "SELECT account_id, owner, kind, name, sealed, key_id, phone_hint, expires_at FROM pending_methods \
                 WHERE account_id = $1 AND kind = $2 AND expires_at > $3 AND owner = $4",
            ))
            .bind(account_id)
            .bind(kind.as_str())
            .bind(now)
            .bind(owner.key())
            .fetch_optional(pool)
            .await?;
            row.filter(|r| r.owner == owner.key())
                .map(|r| {
                    Ok(Pending {
                        account_id: r.account_id,
                        owner,
                        kind: method_kind(&r.kind)?,
                        name: r.name,
                        sealed: r.sealed,
                        key_id: r.key_id,
                        phone_hint: r.phone_hint,
                        expires_at: r.expires_at,
                    })
                })
                .transpose()
        })
    }

    async fn enable_method(&self, e: EnableMethod) -> StoreResult<bool> {
        let p = &e.pending;
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            // Claiming the pending record first makes two confirmations of one enrollment
            // enable it once. A record a key rotation re-encrypted meanwhile (same secret,
            // another key) is still the one that was confirmed; a replaced one is not.
            let claimed = sqlx::query(sql("DELETE FROM pending_methods WHERE account_id = $1 AND kind = $2 \
                 AND (sealed = $3 OR key_id <> $4) AND owner = $5"))
            .bind(p.account_id)
            .bind(p.kind.as_str())
            .bind(&p.sealed)
            .bind(&p.key_id)
            .bind(p.owner.key())
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                return Ok(false);
            }
            // One phone per account: a confirmed number replaces the old one. Authenticator
            // apps and keys add up (SPEC §14).
            if p.kind == MethodKind::Sms {
                sqlx::query(sql("DELETE FROM methods WHERE account_id = $1 AND kind = 'sms'"))
                    .bind(p.account_id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(sql(
                "INSERT INTO methods (account_id, kind, name, sealed, key_id, phone_hint, enabled_at, last_step) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            ))
            .bind(p.account_id)
            .bind(p.kind.as_str())
            .bind(p.name.clone().unwrap_or_else(|| p.kind.default_name().to_owned()))
            .bind(&p.sealed)
            .bind(&p.key_id)
            .bind(&p.phone_hint)
            .bind(e.at)
            .bind(e.totp_step)
            .execute(&mut *tx)
            .await?;
            if let Some(hashes) = &e.recovery_hashes {
                store_recovery_codes!(tx, sql, p.account_id, hashes);
            }
            sqlx::query(sql("UPDATE accounts SET last_two_step_at = $2 WHERE id = $1"))
                .bind(p.account_id)
                .bind(e.at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn disable_method(&self, account_id: i64, kind: MethodKind, keep_last: bool) -> StoreResult<Removal> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            lock_account!(tx, sql, account_id);
            let kinds: Vec<String> = sqlx::query_scalar(sql("SELECT kind FROM methods WHERE account_id = $1"))
                .bind(account_id)
                .fetch_all(&mut *tx)
                .await?;
            if !kinds.iter().any(|k| k == kind.as_str()) {
                return Ok(Removal::NotFound);
            }
            if keep_last && kinds.iter().all(|k| k == kind.as_str()) {
                return Ok(Removal::LastMethod);
            }
            sqlx::query(sql("DELETE FROM methods WHERE account_id = $1 AND kind = $2"))
                .bind(account_id)
                .bind(kind.as_str())
                .execute(&mut *tx)
                .await?;
            after_removal!(tx, sql, account_id);
            tx.commit().await?;
            Ok(Removal::Removed)
        })
    }

    async fn claim_totp_step(&self, method_id: i64, step: i64, now: Timestamp) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("UPDATE methods SET last_step = $2, last_used_at = $3 \
                 WHERE id = $1 AND kind = 'totp' AND (last_step IS NULL OR last_step < $2)"))
            .bind(method_id)
            .bind(step)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn method_used(&self, method_id: i64, credential: Option<&str>, now: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "UPDATE methods SET last_used_at = $2, credential = COALESCE($3, credential) WHERE id = $1",
            ))
            .bind(method_id)
            .bind(now)
            .bind(credential)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn remove_method(
        &self,
        account_id: i64,
        method_id: i64,
        keep_last: bool,
    ) -> StoreResult<(Removal, Option<Method>)> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            lock_account!(tx, sql, account_id);
            let rows: Vec<MethodRow> = sqlx::query_as(sql(
                "SELECT id, kind, name, sealed, key_id, phone_hint, enabled_at, last_used_at, credential \
                 FROM methods WHERE account_id = $1 ORDER BY kind DESC, id",
            ))
            .bind(account_id)
            .fetch_all(&mut *tx)
            .await?;
            let count = rows.len();
            let Some(row) = rows.into_iter().find(|r| r.id == method_id) else {
                return Ok((Removal::NotFound, None));
            };
            if keep_last && count == 1 {
                return Ok((Removal::LastMethod, None));
            }
            sqlx::query(sql("DELETE FROM methods WHERE id = $1 AND account_id = $2"))
                .bind(method_id)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            after_removal!(tx, sql, account_id);
            tx.commit().await?;
            Ok((Removal::Removed, Some(Method::try_from(row)?)))
        })
    }

    async fn enable_key(&self, k: NewKey) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let taken: Option<i64> = sqlx::query_scalar(sql("SELECT id FROM methods WHERE credential_id = $1"))
                .bind(&k.credential_id)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Ok(None);
            }
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO methods (account_id, kind, name, credential_id, credential, enabled_at) \
                 VALUES ($1, 'webauthn', $2, $3, $4, $5) RETURNING id",
            ))
            .bind(k.account_id)
            .bind(&k.name)
            .bind(&k.credential_id)
            .bind(&k.credential)
            .bind(k.at)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(hashes) = &k.recovery_hashes {
                store_recovery_codes!(tx, sql, k.account_id, hashes);
            }
            sqlx::query(sql("UPDATE accounts SET last_two_step_at = $2 WHERE id = $1"))
                .bind(k.account_id)
                .bind(k.at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    async fn put_ceremony(&self, c: Ceremony) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO webauthn_ceremonies (id, account_id, owner, purpose, name, state, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            ))
            .bind(&c.id)
            .bind(c.account_id)
            .bind(c.owner.key())
            .bind(c.purpose.as_str())
            .bind(&c.name)
            .bind(&c.state)
            .bind(c.expires_at)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn take_ceremony(
        &self,
        id: &str,
        owner: EnrollmentOwner,
        purpose: CeremonyPurpose,
        now: Timestamp,
    ) -> StoreResult<Option<Ceremony>> {
        on!(self, |pool, sql| {
            let row: Option<CeremonyRow> =
                sqlx::query_as(sql("DELETE FROM webauthn_ceremonies WHERE id = $1 AND owner = $2 AND purpose = $3 \
                 RETURNING id, account_id, purpose, name, state, expires_at"))
                .bind(id)
                .bind(owner.key())
                .bind(purpose.as_str())
                .fetch_optional(pool)
                .await?;
            Ok(row.filter(|r| r.expires_at > now && r.purpose == purpose.as_str()).map(|r| Ceremony {
                id: r.id,
                account_id: r.account_id,
                owner,
                purpose,
                name: r.name,
                state: r.state,
                expires_at: r.expires_at,
            }))
        })
    }

    async fn replace_recovery_codes(&self, account_id: i64, hashes: Vec<Vec<u8>>) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            store_recovery_codes!(tx, sql, account_id, &hashes);
            tx.commit().await?;
            Ok(())
        })
    }

    async fn claim_recovery_code(&self, account_id: i64, hash: &[u8], now: Timestamp) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql(
                "UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
            ))
            .bind(account_id)
            .bind(hash)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn recovery_codes_remaining(&self, account_id: i64) -> StoreResult<i64> {
        on!(read self, |pool, sql| {
            let n: i64 = sqlx::query_scalar(sql(
                "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL",
            ))
            .bind(account_id)
            .fetch_one(pool)
            .await?;
            Ok(n)
        })
    }

    async fn reset_two_step(&self, account_id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            for statement in [
                "DELETE FROM methods WHERE account_id = $1",
                "DELETE FROM remembered_devices WHERE account_id = $1",
                "DELETE FROM pending_methods WHERE account_id = $1",
                "DELETE FROM webauthn_ceremonies WHERE account_id = $1",
                "DELETE FROM recovery_codes WHERE account_id = $1",
                "DELETE FROM sms_challenges WHERE account_id = $1",
                "DELETE FROM flows WHERE account_id = $1",
                "DELETE FROM sessions WHERE account_id = $1",
                "UPDATE accounts SET second_step_failures = 0, locked_until = NULL WHERE id = $1",
            ] {
                sqlx::query(sql(statement)).bind(account_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn reserve_second_step_attempt(&self, account_id: i64, now: Timestamp) -> StoreResult<Result<(), i64>> {
        on!(self, |pool, sql| {
            let reserved = sqlx::query(sql("UPDATE accounts SET second_step_failures = second_step_failures + 1 \
                 WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) AND second_step_failures < $3"))
            .bind(account_id)
            .bind(now)
            .bind(lockout::THRESHOLD)
            .execute(pool)
            .await?;
            if reserved.rows_affected() == 1 {
                return Ok(Ok(()));
            }
            let until: Option<i64> = sqlx::query_scalar(sql("SELECT locked_until FROM accounts WHERE id = $1"))
                .bind(account_id)
                .fetch_one(pool)
                .await?;
            // Without a lock the threshold is taken by attempts still being checked.
            Ok(Err(lockout::remaining(until, now).unwrap_or(1)))
        })
    }

    async fn second_step_failed(&self, account_id: i64, now: Timestamp) -> StoreResult<Option<Timestamp>> {
        on!(self, |pool, sql| {
            let until: Option<i64> = sqlx::query_scalar(sql(
                "UPDATE accounts SET second_step_locks = second_step_locks + 1, second_step_failures = 0, \
                   locked_until = $2 + ($4 * (CAST(1 AS BIGINT) << CAST(CASE WHEN second_step_locks >= 10 THEN 10 \
                     ELSE second_step_locks END AS INTEGER))) \
                 WHERE id = $1 AND second_step_failures >= $3 RETURNING locked_until",
            ))
            .bind(account_id)
            .bind(now)
            .bind(lockout::THRESHOLD)
            .bind(lockout::BASE_SECONDS)
            .fetch_optional(pool)
            .await?;
            Ok(until)
        })
    }

    async fn second_step_passed(&self, account_id: i64, now: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE accounts SET second_step_failures = 0, last_two_step_at = $2 WHERE id = $1"))
                .bind(account_id)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn release_second_step_attempt(&self, account_id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE accounts SET second_step_failures = second_step_failures - 1 \
                 WHERE id = $1 AND second_step_failures > 0"))
            .bind(account_id)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn count_in_window(&self, key: &str, window_start: Timestamp, limit: i64) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let count: Option<i64> =
                sqlx::query_scalar(sql("INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 \
                 WHERE rate_counters.count < $3 RETURNING count"))
                .bind(key)
                .bind(window_start)
                .bind(limit)
                .fetch_optional(pool)
                .await?;
            // A first insert may exceed a limit of 0; treat that as full too.
            Ok(count.filter(|c| *c <= limit))
        })
    }

    async fn window_count(&self, key: &str, window_start: Timestamp) -> StoreResult<i64> {
        on!(read self, |pool, sql| {
            let count: Option<i64> =
                sqlx::query_scalar(sql("SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2"))
                    .bind(key)
                    .bind(window_start)
                    .fetch_optional(pool)
                    .await?;
            Ok(count.unwrap_or(0))
        })
    }

    async fn uncount_in_window(&self, key: &str, window_start: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "UPDATE rate_counters SET count = count - 1 WHERE key = $1 AND window_start = $2 AND count > 0",
            ))
            .bind(key)
            .bind(window_start)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn clear_counter(&self, key: &str) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("DELETE FROM rate_counters WHERE key = $1")).bind(key).execute(pool).await?;
            Ok(())
        })
    }

    async fn mark_sms_send(
        &self,
        account_id: i64,
        binding: SmsBinding,
        now: Timestamp,
        gap: i64,
    ) -> StoreResult<Result<(), i64>> {
        on!(self, |pool, sql| {
            // $1 account, $2 flow or session id, $3 now, $4 now - gap.
            let (mark, last) = match binding {
                SmsBinding::Flow(_) => (
                    sql("UPDATE flows SET last_sms_at = $3 WHERE id = $2 AND account_id = $1 \
                         AND (last_sms_at IS NULL OR last_sms_at <= $4)"),
                    sql("SELECT last_sms_at FROM flows WHERE id = $2 AND account_id = $1"),
                ),
                SmsBinding::Session(_) => (
                    sql("UPDATE sessions SET last_sms_at = $3 WHERE id = $2 AND account_id = $1 \
                         AND (last_sms_at IS NULL OR last_sms_at <= $4)"),
                    sql("SELECT last_sms_at FROM sessions WHERE id = $2 AND account_id = $1"),
                ),
                SmsBinding::Enrollment(_) => (
                    sql("UPDATE pending_methods SET last_sms_at = $3 WHERE account_id = $1 AND kind = 'sms' \
                         AND owner = $2 AND (last_sms_at IS NULL OR last_sms_at <= $4)"),
                    sql(
                        "SELECT last_sms_at FROM pending_methods WHERE account_id = $1 AND kind = 'sms' AND owner = $2",
                    ),
                ),
            };
            // The row a send is marked on: a flow or session by id, a pending enrollment by owner.
            let target = match binding {
                SmsBinding::Enrollment(owner) => owner.key(),
                SmsBinding::Flow(id) | SmsBinding::Session(id) => id.to_string(),
            };
            let done = match binding {
                SmsBinding::Enrollment(_) => sqlx::query(mark).bind(account_id).bind(&target),
                _ => sqlx::query(mark).bind(account_id).bind(binding.id()),
            }
            .bind(now)
            .bind(now - gap)
            .execute(pool)
            .await?;
            if done.rows_affected() == 1 {
                return Ok(Ok(()));
            }
            let last: Option<Option<i64>> = match binding {
                SmsBinding::Enrollment(_) => sqlx::query_scalar(last).bind(account_id).bind(&target),
                _ => sqlx::query_scalar(last).bind(account_id).bind(binding.id()),
            }
            .fetch_optional(pool)
            .await?;
            Ok(Err(match last {
                Some(Some(at)) => (at + gap - now).max(1),
                _ => 0,
            }))
        })
    }

    async fn create_sms_challenge(&self, c: NewSmsChallenge) -> StoreResult<i64> {
        on!(self, |pool, sql| {
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO sms_challenges (account_id, flow_id, purpose, salt, code_hash, sent_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            ))
            .bind(c.account_id)
            .bind(c.binding.id())
            .bind(c.binding.purpose())
            .bind(&c.salt)
            .bind(&c.code_hash)
            .bind(c.sent_at)
            .bind(c.expires_at)
            .fetch_one(pool)
            .await?;
            Ok(id)
        })
    }

    async fn active_sms_challenge(
        &self,
        account_id: i64,
        binding: SmsBinding,
        now: Timestamp,
    ) -> StoreResult<Option<SmsChallenge>> {
        on!(read self, |pool, sql| {
            let row: Option<(i64, Vec<u8>, Vec<u8>, i64, i64)> =
                sqlx::query_as(sql("SELECT id, salt, code_hash, attempts, expires_at FROM sms_challenges \
                 WHERE account_id = $1 AND purpose = $3 AND flow_id = $2 \
                 AND used_at IS NULL AND expires_at > $4 ORDER BY id DESC LIMIT 1"))
                .bind(account_id)
                .bind(binding.id())
                .bind(binding.purpose())
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|(id, salt, code_hash, attempts, expires_at)| SmsChallenge {
                id,
                salt,
                code_hash,
                attempts,
                expires_at,
            }))
        })
    }

    async fn claim_sms_challenge(&self, id: i64, max_attempts: i64, now: Timestamp) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("UPDATE sms_challenges SET used_at = $2 WHERE id = $1 AND used_at IS NULL \
                 AND attempts < $3 AND expires_at > $2"))
            .bind(id)
            .bind(now)
            .bind(max_attempts)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn sms_challenge_failed(&self, id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE sms_challenges SET attempts = attempts + 1 WHERE id = $1"))
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn sealed_not_under(&self, key_id: &str, limit: i64) -> StoreResult<Vec<SealedRecord>> {
        on!(read self, |pool, sql| {
            let rows: Vec<SealedRow> =
                sqlx::query_as(sql(SEALED_NOT_UNDER)).bind(key_id).bind(limit).fetch_all(pool).await?;
            rows.into_iter()
                .map(|r| {
                    let slot = match r.source.as_str() {
                        "method" => SealedSlot::Method(method_kind(&r.kind)?),
                        "pending" => SealedSlot::Pending(method_kind(&r.kind)?),
                        _ => SealedSlot::AccountPhone,
                    };
                    Ok(SealedRecord {
                        slot,
                        account_id: r.account_id,
                        org_id: r.org_id,
                        username_key: r.username_key,
                        sealed: r.sealed,
                        key_id: r.key_id,
                    })
                })
                .collect()
        })
    }

    async fn reseal(&self, record: &SealedRecord, sealed: &[u8], key_id: &str) -> StoreResult<bool> {
        // $1 account, $2 kind, $3 new bytes, $4 new key id, $5 old key id, $6 old bytes.
        let (statement, kind) = match record.slot {
            SealedSlot::Method(kind) => (
                "UPDATE methods SET sealed = $3, key_id = $4 \
                 WHERE account_id = $1 AND kind = $2 AND key_id = $5 AND sealed = $6",
                kind.as_str(),
            ),
            SealedSlot::Pending(kind) => (
                "UPDATE pending_methods SET sealed = $3, key_id = $4 \
                 WHERE account_id = $1 AND kind = $2 AND key_id = $5 AND sealed = $6",
                kind.as_str(),
            ),
            SealedSlot::AccountPhone => (
                "UPDATE accounts SET phone_sealed = $3, phone_key_id = $4 \
                 WHERE id = $1 AND $2 = 'phone' AND phone_sealed = $6 \
                   AND (phone_key_id = $5 OR (phone_key_id IS NULL AND $5 IS NULL))",
                "phone",
            ),
        };
        on!(self, |pool, sql| {
            let done = sqlx::query(sql(statement))
                .bind(record.account_id)
                .bind(kind)
                .bind(sealed)
                .bind(key_id)
                .bind(&record.key_id)
                .bind(&record.sealed)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn sealed_counts(&self) -> StoreResult<Vec<(Option<String>, i64)>> {
        on!(read self, |pool, sql| {
            let rows: Vec<(Option<String>, i64)> = sqlx::query_as(sql("SELECT key_id, COUNT(*) FROM ( \
                   SELECT key_id FROM methods WHERE sealed IS NOT NULL \
                   UNION ALL SELECT key_id FROM pending_methods \
                   UNION ALL SELECT phone_key_id AS key_id FROM accounts WHERE phone_sealed IS NOT NULL \
                   UNION ALL SELECT key_id FROM signing_keys \
                 ) AS sealed GROUP BY key_id ORDER BY key_id"))
            .fetch_all(pool)
            .await?;
            Ok(rows)
        })
    }

    async fn purge(
        &self,
        now: Timestamp,
        idle_before: Timestamp,
        counters_before: Timestamp,
        batch: i64,
    ) -> StoreResult<Purged> {
        crate::purge::purge(self, now, idle_before, counters_before, batch).await
    }

    async fn record_event(&self, e: AuditEvent) -> StoreResult<()> {
        self.audit.record(self, e).await
    }

    async fn events(
        &self,
        org_id: i64,
        limit: i64,
        before_id: Option<i64>,
        before_at: Option<Timestamp>,
    ) -> StoreResult<Vec<AuditRecord>> {
        on!(read self, |pool, sql| {
            let rows: Vec<EventRow> = sqlx::query_as(sql(
                "SELECT id, org_id, at, kind, actor, subject, client, ip, outcome FROM audit_events \
                 WHERE org_id = $1 AND ($2 IS NULL OR id < $2) AND ($3 IS NULL OR at < $3) \
                 ORDER BY id DESC LIMIT $4",
            ))
            .bind(org_id)
            .bind(before_id)
            .bind(before_at)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| AuditRecord {
                    id: r.id,
                    event: AuditEvent {
                        org_id: r.org_id,
                        at: r.at,
                        kind: r.kind,
                        actor: r.actor,
                        subject: r.subject,
                        client: r.client,
                        ip: r.ip,
                        outcome: r.outcome,
                    },
                })
                .collect())
        })
    }
}

impl SqlStore {
    /// The session, and the account's last sign-in, in one transaction; first the flow
    /// it comes from is ended, and `None` (nothing written) if that was done already.
    async fn open_session(&self, flow_id: Option<i64>, s: NewSession) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            if let Some(flow_id) = flow_id {
                let ended = sqlx::query(sql("DELETE FROM flows WHERE id = $1")).bind(flow_id).execute(&mut *tx).await?;
                if ended.rows_affected() != 1 {
                    tx.rollback().await?;
                    return Ok(None);
                }
            }
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO sessions (token_hash, org_id, account_id, client, two_step_verified, \
                   last_two_step_at, created_at, last_seen_at, expires_at, ip, user_agent, second_factor) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11) RETURNING id",
            ))
            .bind(&s.token_hash)
            .bind(s.org_id)
            .bind(s.account_id)
            .bind(&s.client)
            .bind(s.two_step_verified)
            .bind(s.two_step_verified.then_some(s.created_at))
            .bind(s.created_at)
            .bind(s.expires_at)
            .bind(&s.ip)
            .bind(&s.user_agent)
            .bind(&s.second_factor)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(sql("UPDATE accounts SET last_sign_in_at = $2 WHERE id = $1"))
                .bind(s.account_id)
                .bind(s.created_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }
}
