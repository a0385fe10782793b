//! [`OrgStore`]: organisations and their profiles, with the statements that start or clear
//! revocations and enrollment periods when 2SV or a profile's "mandatory" changes.

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::domain::{AddonState, Language};
use twostep_core::store::{OrgStore, Organization, Profile, ProfileStats, StoreResult};

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

/// After 2SV or a profile's "mandatory" changed, in the same transaction `$tx`: when it now
/// applies (to the profile `$profile_id`, or `None`: every profile), enrollment periods
/// start and unverified sessions are revoked at `$revoke_at`; when it no longer does,
/// pending revocations and deadlines are cleared.
macro_rules! after_policy_change {
    ($tx:expr, $sql:ident, $applies:expr, $org_id:expr, $profile_id:expr, $now:expr, $revoke_at:expr) => {
        if $applies {
            sqlx::query($sql(START_ENROLLMENT_PERIOD))
                .bind($org_id)
                .bind($now)
                .bind($profile_id)
                .execute(&mut *$tx)
                .await?;
            sqlx::query($sql(REVOKE_UNVERIFIED))
                .bind($org_id)
                .bind($revoke_at)
                .bind($profile_id)
                .execute(&mut *$tx)
                .await?;
        } else {
            sqlx::query($sql(CLEAR_REVOCATIONS)).bind($org_id).bind($now).execute(&mut *$tx).await?;
            sqlx::query($sql(CLEAR_ENROLLMENT_PERIOD)).bind($org_id).execute(&mut *$tx).await?;
        }
    };
}

#[async_trait::async_trait]
impl OrgStore for SqlStore {
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
            after_policy_change!(tx, sql, enabled, org_id, None::<i64>, now, revoke_at);
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
            after_policy_change!(tx, sql, mandatory, org_id, profile_id, now, revoke_at);
            tx.commit().await?;
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
}
