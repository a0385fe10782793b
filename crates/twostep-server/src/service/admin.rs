//! Administration of 2SV (SPEC §3, §6 "Administration"): only admin-profile users, and
//! only for their own organisation — the organisation always comes from the session.

use crate::service::audit::{self, Event};
use crate::service::{Refusal, RequestMeta, ServiceResult, parse_rfc3339};
use crate::state::AppState;
use serde::Serialize;
use twostep_core::Timestamp;
use twostep_core::domain::{AccountKind, AddonState, Username};
use twostep_core::policy;
use twostep_core::store::{Organization, SessionView};

/// An administrator's session, checked: a user (not a contact) whose profile is an admin
/// profile. The organisation always comes from the session.
pub struct Admin(SessionView);

impl Admin {
    pub fn check(session: SessionView) -> ServiceResult<Self> {
        if session.admin && session.kind == AccountKind::User { Ok(Self(session)) } else { Err(Refusal::Forbidden) }
    }

    pub fn org_id(&self) -> i64 {
        self.0.org_id
    }

    pub fn username(&self) -> &str {
        &self.0.username
    }

    pub fn client(&self) -> &str {
        &self.0.client
    }

    pub fn account_id(&self) -> i64 {
        self.0.account_id
    }

    /// The one rule of SPEC §11.3: an action that weakens protection or takes over an
    /// account needs an administrator who passed 2SV within the last 15 minutes, whenever
    /// that administrator has a method (and 2SV is in force, so a method can be used).
    /// Every such action in this module begins with it; a refusal is audited.
    pub async fn reconfirm(
        &self,
        state: &AppState,
        meta: &RequestMeta,
        action: &str,
    ) -> ServiceResult<Reconfirmed<'_>> {
        let org = state.store.org_by_id(self.org_id()).await?;
        let needs_step_up = org.two_step_in_force() && !state.store.methods(self.0.account_id).await?.is_empty();
        if needs_step_up && !twostep_core::flow::stepped_up(self.0.last_two_step_at, state.now()) {
            audit::record(
                state,
                meta,
                Event {
                    org_id: Some(org.id),
                    kind: "admin.step_up_required",
                    actor: Some(&self.0.username),
                    subject: None,
                    client: Some(&self.0.client),
                    outcome: action,
                },
            )
            .await;
            return Err(Refusal::StepUpRequired);
        }
        Ok(Reconfirmed(self))
    }
}

/// An administrator who may weaken protection right now (see [`Admin::reconfirm`]).
pub struct Reconfirmed<'a>(&'a Admin);

impl std::ops::Deref for Reconfirmed<'_> {
    type Target = Admin;

    fn deref(&self) -> &Admin {
        self.0
    }
}

#[derive(Debug, Serialize)]
pub struct ProfileState {
    pub slug: String,
    pub name: String,
    pub mandatory: bool,
    pub users: i64,
    pub enrolled: i64,
}

/// The organisation's 2SV state (`Serialize`: the security page shows it as it is).
#[derive(Debug, Serialize)]
pub struct TwoStepState {
    pub addon: &'static str,
    pub enabled: bool,
    pub mandatory_for_organization: bool,
    pub profiles: Vec<ProfileState>,
    /// Days users whom 2SV becomes mandatory for may still skip enrolling (SPEC §14).
    pub enrollment_period_days: i64,
    /// Days a passed second step is remembered on a device (SPEC §14); 0: off.
    pub remember_device_days: i64,
}

pub async fn state_of(state: &AppState, admin: &Admin) -> ServiceResult<TwoStepState> {
    let org = state.store.org_by_id(admin.org_id()).await?;
    let profiles = state
        .store
        .profile_stats(org.id)
        .await?
        .into_iter()
        .map(|p| ProfileState {
            slug: p.profile.slug,
            name: p.profile.name,
            mandatory: p.profile.mandatory,
            users: p.users,
            enrolled: p.enrolled,
        })
        .collect::<Vec<_>>();
    Ok(TwoStepState {
        addon: org.addon.as_str(),
        enabled: org.two_step_in_force(),
        // Every profile mandatory (and at least one profile), or the flag set by the
        // organisation-wide toggle.
        mandatory_for_organization: org.mandatory_for_organization,
        profiles,
        enrollment_period_days: org.enrollment_period_days,
        remember_device_days: org.remember_device_days,
    })
}

/// The rollout settings of SPEC §14, each a number of days from 0 to 90.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaySetting {
    /// `PUT …/remember-device`: how long a passed second step is remembered on a device;
    /// a shorter time (or 0, off) forgets every remembered device of the organisation.
    RememberDevice,
    /// `PUT …/enrollment-period`: how long users whom 2SV becomes mandatory for may still
    /// skip enrolling.
    EnrollmentPeriod,
}

impl DaySetting {
    fn name(self) -> &'static str {
        match self {
            Self::RememberDevice => "remember_device",
            Self::EnrollmentPeriod => "enrollment_period",
        }
    }

    fn current(self, org: &Organization) -> i64 {
        match self {
            Self::RememberDevice => org.remember_device_days,
            Self::EnrollmentPeriod => org.enrollment_period_days,
        }
    }
}

/// Sets one of SPEC §14's settings. A longer time means fewer second steps or a longer
/// wait for 2SV, so raising one is a weakening change: the admin re-confirms (§11.3).
pub async fn set_days(
    state: &AppState,
    admin: &Admin,
    setting: DaySetting,
    days: i64,
    meta: &RequestMeta,
) -> ServiceResult<TwoStepState> {
    if !(0..=90).contains(&days) {
        return Err(Refusal::InvalidRequest("days must be between 0 and 90".into()));
    }
    let org = org(state, admin).await?;
    require_connected(&org)?;
    if days > setting.current(&org) {
        admin.reconfirm(state, meta, setting.name()).await?;
    }
    match setting {
        DaySetting::RememberDevice => state.store.set_remember_device_days(org.id, days).await?,
        DaySetting::EnrollmentPeriod => state.store.set_enrollment_period(org.id, days).await?,
    }
    audit_policy(state, admin, meta, &format!("policy.{}", setting.name()), &format!("{days}d")).await;
    state_of(state, admin).await
}

async fn audit_policy(state: &AppState, admin: &Admin, meta: &RequestMeta, kind: &str, outcome: &str) {
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(admin.org_id()),
            kind,
            actor: Some(&admin.0.username),
            subject: None,
            client: Some(&admin.0.client),
            outcome,
        },
    )
    .await;
}

fn grace(state: &AppState) -> i64 {
    state.config.mandatory_session_grace.as_secs() as i64
}

async fn org(state: &AppState, admin: &Admin) -> ServiceResult<Organization> {
    Ok(state.store.org_by_id(admin.org_id()).await?)
}

/// Connect the add-on ("in the Hub"): `available` → `connected`.
pub async fn connect(state: &AppState, admin: &Admin, meta: &RequestMeta) -> ServiceResult<TwoStepState> {
    let org = org(state, admin).await?;
    match org.addon {
        AddonState::Unavailable => return Err(Refusal::AddonUnavailable),
        AddonState::Available => {
            state.store.set_addon_state(org.id, AddonState::Connected).await?;
            audit_policy(state, admin, meta, "policy.addon_connected", "connected").await;
        }
        AddonState::Connected => {}
    }
    state_of(state, admin).await
}

pub async fn set_enabled(
    state: &AppState,
    admin: &Admin,
    enabled: bool,
    meta: &RequestMeta,
) -> ServiceResult<TwoStepState> {
    let org = org(state, admin).await?;
    match org.addon {
        AddonState::Unavailable => return Err(Refusal::AddonUnavailable),
        AddonState::Available => return Err(Refusal::AddonNotConnected),
        AddonState::Connected => {}
    }
    if org.two_step_enabled != enabled {
        if !enabled {
            admin.reconfirm(state, meta, "disable").await?;
        }
        let now = state.now();
        state.store.set_two_step_enabled(org.id, enabled, now, now + grace(state)).await?;
        let kind = if enabled { "policy.two_step_enabled" } else { "policy.two_step_disabled" };
        audit_policy(state, admin, meta, kind, if enabled { "enabled" } else { "disabled" }).await;
    }
    state_of(state, admin).await
}

/// Profiles can be made mandatory once the add-on is connected (before enabling, too,
/// so that an administrator can prepare the policy and switch it on at once).
fn require_connected(org: &Organization) -> ServiceResult<()> {
    match org.addon {
        AddonState::Unavailable => Err(Refusal::AddonUnavailable),
        AddonState::Available => Err(Refusal::AddonNotConnected),
        AddonState::Connected => Ok(()),
    }
}

pub async fn set_profile_mandatory(
    state: &AppState,
    admin: &Admin,
    slug: &str,
    mandatory: bool,
    meta: &RequestMeta,
) -> ServiceResult<TwoStepState> {
    let org = org(state, admin).await?;
    let profile = state
        .store
        .profile_by_slug(org.id, slug)
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("profile {slug:?}")))?;
    require_connected(&org)?;
    if !mandatory {
        admin.reconfirm(state, meta, "profile_optional").await?;
    }
    let now = state.now();
    state.store.set_mandatory(org.id, Some(profile.id), mandatory, now, now + grace(state)).await?;
    let outcome = format!("{}={}", profile.slug, if mandatory { "mandatory" } else { "optional" });
    audit_policy(state, admin, meta, "policy.profile_mandatory", &outcome).await;
    state_of(state, admin).await
}

pub async fn set_organization_mandatory(
    state: &AppState,
    admin: &Admin,
    mandatory: bool,
    meta: &RequestMeta,
) -> ServiceResult<TwoStepState> {
    let org = org(state, admin).await?;
    require_connected(&org)?;
    if !mandatory {
        admin.reconfirm(state, meta, "organization_optional").await?;
    }
    let now = state.now();
    state.store.set_mandatory(org.id, None, mandatory, now, now + grace(state)).await?;
    let outcome = if mandatory { "mandatory" } else { "optional" };
    audit_policy(state, admin, meta, "policy.organization_mandatory", outcome).await;
    state_of(state, admin).await
}

#[derive(Debug)]
pub struct NamedMethod {
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug)]
pub struct UserRow {
    pub username: String,
    pub profile: Option<String>,
    pub kind: &'static str,
    pub required: bool,
    /// The kinds of method enabled, each once.
    pub methods: Vec<&'static str>,
    /// Every method by type and name (SPEC §14).
    pub method_names: Vec<NamedMethod>,
    pub last_two_step_at: Option<Timestamp>,
    /// Until when the user may still skip enrolling (SPEC §14), while that is ahead.
    pub enroll_by: Option<Timestamp>,
    /// Devices whose second step is remembered (SPEC §14).
    pub remembered_devices: i64,
}

pub async fn users(state: &AppState, admin: &Admin) -> ServiceResult<Vec<UserRow>> {
    let org = org(state, admin).await?;
    let rows = state.store.account_report(org.id).await?;
    let devices = state.store.device_counts(org.id, state.now()).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let subject = policy::Subject {
                org_enabled: org.two_step_in_force(),
                kind: r.kind,
                profile_mandatory: r.profile_mandatory,
                has_method: !r.methods.is_empty(),
            };
            let contact = r.kind == AccountKind::Contact;
            let required = policy::mandatory(subject);
            UserRow {
                username: r.username,
                profile: r.profile_slug,
                kind: r.kind.as_str(),
                required,
                methods: if contact { Vec::new() } else { r.methods.iter().map(|m| m.as_str()).collect() },
                method_names: if contact {
                    Vec::new()
                } else {
                    r.named_methods.into_iter().map(|(kind, name)| NamedMethod { kind: kind.as_str(), name }).collect()
                },
                last_two_step_at: r.last_two_step_at,
                enroll_by: r.enroll_by.filter(|by| *by > state.now() && required && r.methods.is_empty()),
                remembered_devices: devices.iter().find(|(id, _)| *id == r.account_id).map_or(0, |(_, n)| *n),
            }
        })
        .collect())
}

/// Lost phone: every method and recovery code goes, and every session ends at once.
pub async fn reset_user(state: &AppState, admin: &Admin, username: &str, meta: &RequestMeta) -> ServiceResult<()> {
    admin.reconfirm(state, meta, "reset_two_step").await?;
    let key = Username::parse(username).map_err(|_| Refusal::NotFound(format!("user {username:?}")))?.key();
    let account = state
        .store
        .account_by_username(admin.org_id(), &key)
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("user {username:?}")))?;
    let had_methods = !state.store.methods(account.id).await?.is_empty();
    state.store.reset_two_step(account.id).await?;
    // Lost phone: from now on the password alone cannot bind a new factor (SPEC §12).
    if had_methods && account.kind == AccountKind::User {
        state.store.set_access_code_required(account.id, true).await?;
    }
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(admin.org_id()),
            kind: "admin.two_step_reset",
            actor: Some(&admin.0.username),
            subject: Some(&account.username),
            client: Some(&admin.0.client),
            outcome: "success",
        },
    )
    .await;
    let org = state.store.org_by_id(admin.org_id()).await?;
    crate::service::notify::send(state, &org, &account, crate::service::notify::Notice::TwoStepReset, meta).await;
    Ok(())
}

#[derive(Debug)]
pub struct AuditItem {
    pub id: i64,
    pub at: Timestamp,
    pub kind: String,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub client: Option<String>,
    pub ip: Option<String>,
    pub outcome: String,
}

/// Newest first. `before` is an event `id` from a previous page, or an RFC 3339 time.
pub async fn audit_events(
    state: &AppState,
    admin: &Admin,
    limit: Option<i64>,
    before: Option<&str>,
) -> ServiceResult<Vec<AuditItem>> {
    let limit = limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Refusal::InvalidRequest("limit must be between 1 and 100".into()));
    }
    let (before_id, before_at) = match before.map(str::trim).filter(|b| !b.is_empty()) {
        None => (None, None),
        Some(b) => match (b.parse::<i64>(), parse_rfc3339(b)) {
            (Ok(id), _) => (Some(id), None),
            (_, Some(at)) => (None, Some(at)),
            _ => {
                return Err(Refusal::InvalidRequest("before must be an event id or an RFC 3339 time".into()));
            }
        },
    };
    let events = state.store.events(admin.org_id(), limit, before_id, before_at).await?;
    Ok(events
        .into_iter()
        .map(|e| AuditItem {
            id: e.id,
            at: e.event.at,
            kind: e.event.kind,
            actor: e.event.actor,
            subject: e.event.subject,
            client: e.event.client,
            ip: e.event.ip,
            outcome: e.event.outcome,
        })
        .collect())
}
