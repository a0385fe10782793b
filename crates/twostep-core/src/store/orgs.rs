//! Organisations and their profiles: the 2SV switches, who it is mandatory for, the
//! enrollment period and how long devices are remembered (SPEC §3, §14).

use super::StoreResult;
use crate::Timestamp;
use crate::domain::{AddonState, Language};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub addon: AddonState,
    pub two_step_enabled: bool,
    pub mandatory_for_organization: bool,
    pub language: Language,
    /// Days a user whom 2SV becomes mandatory for may still skip enrolling (SPEC §14).
    pub enrollment_period_days: i64,
    /// Days a second step is remembered on a device (SPEC §14); 0: off.
    pub remember_device_days: i64,
}

impl Organization {
    /// 2SV is in force only when the add-on is connected and switched on.
    pub fn two_step_in_force(&self) -> bool {
        self.two_step_enabled && self.addon == AddonState::Connected
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: i64,
    pub org_id: i64,
    pub slug: String,
    pub name: String,
    pub admin: bool,
    pub mandatory: bool,
}

/// A profile with the counts of the admin report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileStats {
    pub profile: Profile,
    pub users: i64,
    pub enrolled: i64,
}

/// Organisations and profiles.
#[async_trait::async_trait]
pub trait OrgStore: Send + Sync {
    async fn create_org(&self, slug: &str, name: &str, language: Language) -> StoreResult<Organization>;
    async fn org_by_slug(&self, slug: &str) -> StoreResult<Option<Organization>>;
    async fn org_by_id(&self, id: i64) -> StoreResult<Organization>;
    async fn set_addon_state(&self, org_id: i64, addon: AddonState) -> StoreResult<()>;
    /// Switches 2SV on or off. Switching on revokes (at `revoke_at`) the unverified
    /// sessions of users whose profile is mandatory (SPEC §3.7).
    /// Switching off clears revocations still pending.
    async fn set_two_step_enabled(
        &self,
        org_id: i64,
        enabled: bool,
        now: Timestamp,
        revoke_at: Timestamp,
    ) -> StoreResult<()>;
    /// The profile takes the organisation's "mandatory for all" flag at creation.
    async fn create_profile(&self, org_id: i64, slug: &str, name: &str, admin: bool) -> StoreResult<Profile>;
    async fn profile_by_slug(&self, org_id: i64, slug: &str) -> StoreResult<Option<Profile>>;
    async fn profile_stats(&self, org_id: i64) -> StoreResult<Vec<ProfileStats>>;
    /// Sets `mandatory` on one profile (or, with `None`, on every profile and the
    /// organisation flag). Profiles that become mandatory while 2SV is enabled get their
    /// users' unverified sessions revoked at `revoke_at`; profiles that become optional
    /// get pending revocations cleared.
    async fn set_mandatory(
        &self,
        org_id: i64,
        profile_id: Option<i64>,
        mandatory: bool,
        now: Timestamp,
        revoke_at: Timestamp,
    ) -> StoreResult<()>;

    /// The enrollment period of SPEC §14 (0 to 90 days).
    async fn set_enrollment_period(&self, org_id: i64, days: i64) -> StoreResult<()>;
    /// How long a second step is remembered on a device (SPEC §14); lowering it (or 0)
    /// forgets every device of the organisation in the same transaction.
    async fn set_remember_device_days(&self, org_id: i64, days: i64) -> StoreResult<()>;
}
