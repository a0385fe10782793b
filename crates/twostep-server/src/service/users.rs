//! Accounts and passwords (SPEC §12): the password rules, a user's own password change,
//! user management by administrators, setup links and temporary access codes. The JSON
//! API, the pages and the CLI call these.

use crate::service::admin::Admin;
use crate::service::audit::{self, Event};
use crate::service::auth::{self, LoginOutcome};
use crate::service::{Member, Refusal, RequestMeta, ServiceResult, blocking, rfc3339, throttle};
use crate::state::AppState;
use rand::Rng;
use twostep_core::Timestamp;
use twostep_core::aad::Aad;
use twostep_core::credential::{password, strength};
use twostep_core::crypto::{Token, TokenHash};
use twostep_core::domain::{AccountKind, Password, PhoneNumber, Username};
use twostep_core::flow::{self, FlowKind};
use twostep_core::policy;
use twostep_core::store::{
    Account, AccountQuery, AccountSummary, AccountUpdate, NewAccount, Organization, SessionView, TwoStepFilter,
};

/// The SPEC §12 rules for a new password: [`Refusal::WeakPassword`] with every reason.
pub fn check_new_password(password: &Password, username: &str, org_slug: &str) -> ServiceResult<()> {
    let reasons = strength::check(password, username, org_slug);
    if reasons.is_empty() { Ok(()) } else { Err(Refusal::WeakPassword { reasons }) }
}

/// Hashes off the runtime.
async fn hash(state: &AppState, password: Password) -> ServiceResult<String> {
    blocking(state, move || password::hash(&password)).await?.map_err(|e| Refusal::Internal(e.to_string()))
}

/// A hash no one knows the password of: for accounts that must choose one on a setup
/// link, and for an admin password reset. Verifying against it costs what any other
/// verification costs, so it tells nothing.
async fn unusable_hash(state: &AppState) -> ServiceResult<String> {
    let secret = Token::generate();
    hash(state, Password::new(secret.expose())).await
}

fn event<'a>(org_id: i64, kind: &'a str, actor: &'a str, subject: &'a str, client: &'a str) -> Event<'a> {
    Event {
        org_id: Some(org_id),
        kind,
        actor: Some(actor),
        subject: Some(subject),
        client: Some(client),
        outcome: "success",
    }
}

/// Changing one's own password: the current one is checked like a sign-in (a wrong
/// one counts as a failure for the throttle), the step-up rule of §11.1 applies when 2SV
/// applies to the account, and every other session ends.
pub async fn change_own_password(
    state: &AppState,
    session: &SessionView,
    current: Password,
    new: Password,
    meta: &RequestMeta,
) -> ServiceResult<()> {
    let subject = Member::load(state, session.account_id).await?;
    let account = &subject.account;
    let org = &subject.org;
    if policy::requirement(subject.policy()).applies()
        && subject.has_method
        && !flow::stepped_up(session.last_two_step_at, state.now())
    {
        return Err(Refusal::StepUpRequired);
    }
    let keys = throttle::Keys::new(&org.slug, &account.username, meta);
    let reservation = throttle::before_password(state, &keys, Some(org.id), &session.client, meta).await?;
    let stored = account.password_hash.clone();
    let ok = match blocking(state, move || password::verify(&current, &stored)).await {
        Ok(ok) => ok,
        Err(e) => {
            throttle::give_back(state, &keys, reservation).await?;
            return Err(e);
        }
    };
    if !ok {
        let mut e = event(org.id, "password.change", &account.username, &account.username, &session.client);
        e.outcome = "invalid_credentials";
        audit::record(state, meta, e).await;
        return Err(Refusal::InvalidCredentials);
    }
    throttle::password_passed(state, &keys, reservation).await?;
    check_new_password(&new, &account.username, &org.slug)?;
    let hashed = hash(state, new).await?;
    state.store.set_password(account.id, &hashed, Some(session.id)).await?;
    audit::record(
        state,
        meta,
        event(org.id, "password.changed", &account.username, &account.username, &session.client),
    )
    .await;
    crate::service::notify::send(state, org, account, crate::service::notify::Notice::PasswordChanged, meta).await;
    Ok(())
}

/// A user as the admin API shows it.
#[derive(Debug)]
pub struct UserInfo {
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    /// `user` or `contact`.
    pub kind: &'static str,
    pub profile: Option<String>,
    pub disabled: bool,
    /// Whether 2SV is mandatory for this user now.
    pub required: bool,
    pub methods: Vec<&'static str>,
    /// Waiting for an access code after a 2SV reset.
    pub access_code_required: bool,
    pub last_sign_in_at: Option<Timestamp>,
    pub last_two_step_at: Option<Timestamp>,
}

fn info(org: &Organization, s: AccountSummary) -> UserInfo {
    let contact = s.kind == AccountKind::Contact;
    let subject = policy::Subject {
        org_enabled: org.two_step_in_force(),
        kind: s.kind,
        profile_mandatory: s.profile_mandatory,
        has_method: !s.methods.is_empty(),
    };
    UserInfo {
        username: s.username,
        display_name: s.display_name,
        email: s.email,
        kind: s.kind.as_str(),
        profile: s.profile_slug,
        disabled: s.disabled,
        required: policy::mandatory(subject),
        methods: if contact { Vec::new() } else { s.methods.iter().map(|m| m.as_str()).collect() },
        access_code_required: s.access_code_required,
        last_sign_in_at: s.last_sign_in_at,
        last_two_step_at: s.last_two_step_at,
    }
}

/// Filters of the admin user list.
#[derive(Debug, Default)]
pub struct ListInput {
    pub query: Option<String>,
    pub profile: Option<String>,
    pub two_step: Option<String>,
    pub limit: Option<i64>,
    pub after: Option<String>,
}

pub async fn list(state: &AppState, admin: &Admin, input: ListInput) -> ServiceResult<(Vec<UserInfo>, Option<String>)> {
    let org = state.store.org_by_id(admin.org_id()).await?;
    let limit = input.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Refusal::InvalidRequest("limit must be between 1 and 500".into()));
    }
    let two_step = match input.two_step.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some("enrolled") => Some(TwoStepFilter::Enrolled),
        Some("not_enrolled") => Some(TwoStepFilter::NotEnrolled),
        Some("required_not_enrolled") => Some(TwoStepFilter::RequiredNotEnrolled),
        Some(_) => {
            return Err(Refusal::InvalidRequest(
                "two_step must be enrolled, not_enrolled or required_not_enrolled".into(),
            ));
        }
    };
    let profile_id = match input.profile.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(slug) => Some(
            state
                .store
                .profile_by_slug(org.id, slug)
                .await?
                .ok_or_else(|| Refusal::NotFound(format!("profile {slug:?}")))?
                .id,
        ),
    };
    let text = input.query.map(|q| q.chars().take(128).collect::<String>());
    let after = input.after.map(|a| a.chars().take(256).collect::<String>()).filter(|a| !a.is_empty());
    // One more than asked tells whether there is a next page.
    let mut rows = state
        .store
        .list_accounts(org.id, AccountQuery { text, profile_id, two_step, after, limit: limit + 1, account_id: None })
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| r.username_key.clone())
    } else {
        None
    };
    Ok((rows.into_iter().map(|r| info(&org, r)).collect(), next))
}

/// The account named `username` in the admin's organisation, or `NotFound` — never another
/// organisation's.
pub async fn find(state: &AppState, org_id: i64, username: &str) -> ServiceResult<Account> {
    let not_found = || Refusal::NotFound(format!("user {username:?}"));
    let key = Username::parse(username).map_err(|_| not_found())?.key();
    state.store.account_by_username(org_id, &key).await?.ok_or_else(not_found)
}

async fn user_info(state: &AppState, org: &Organization, account: &Account) -> ServiceResult<UserInfo> {
    let query = AccountQuery { account_id: Some(account.id), limit: 1, ..AccountQuery::default() };
    let row = state.store.list_accounts(org.id, query).await?.pop().ok_or_else(|| Refusal::NotFound("user".into()))?;
    Ok(info(org, row))
}

/// A setup link, shown once.
#[derive(Debug)]
pub struct SetupLink {
    pub url: String,
    pub expires_at: Timestamp,
}

/// Issues a fresh setup link (the last one dies): only its hash is stored.
pub async fn issue_setup_link(state: &AppState, account: &Account) -> ServiceResult<SetupLink> {
    let now = state.now();
    let token = Token::generate();
    let expires_at = now + state.config.setup_link_ttl.as_secs() as i64;
    state.store.create_setup_link(account.id, &token.hash().0, now, expires_at).await?;
    Ok(SetupLink { url: setup_url(&state.config.public_url, &token), expires_at })
}

/// `{public_url}/setup/{token}`.
pub fn setup_url(public_url: &str, token: &Token) -> String {
    format!("{}/setup/{}", public_url.trim_end_matches('/'), token.expose())
}

pub struct CreateInput {
    pub username: String,
    pub kind: Option<String>,
    pub profile: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub display_name: Option<String>,
}

fn parse_email(raw: Option<String>) -> ServiceResult<Option<String>> {
    let Some(email) = raw.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    let valid = email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        });
    if valid { Ok(Some(email)) } else { Err(Refusal::Unprocessable(format!("email {email:?} is not an address"))) }
}

fn parse_display_name(raw: Option<String>) -> ServiceResult<Option<String>> {
    match raw {
        None => Ok(None),
        Some(name) => {
            let name = name.trim().to_owned();
            if name.chars().count() > 200 || name.chars().any(char::is_control) {
                Err(Refusal::Unprocessable("display_name: at most 200 characters, no control characters".into()))
            } else {
                Ok(Some(name))
            }
        }
    }
}

/// A new account, with an unusable password and a setup link
/// shown once to the admin and emailed to the user when they have an address.
pub async fn create(
    state: &AppState,
    admin: &Admin,
    input: CreateInput,
    meta: &RequestMeta,
) -> ServiceResult<(UserInfo, SetupLink)> {
    let org = state.store.org_by_id(admin.org_id()).await?;
    let username = Username::parse(&input.username).map_err(|e| Refusal::Unprocessable(e.0))?;
    let kind = match input.kind.as_deref().unwrap_or("user") {
        "user" => AccountKind::User,
        "contact" => AccountKind::Contact,
        other => return Err(Refusal::Unprocessable(format!("kind must be \"user\" or \"contact\", not {other:?}"))),
    };
    let email = parse_email(input.email)?;
    let display_name = parse_display_name(input.display_name)?;
    let profile = match (kind, input.profile.as_deref().map(str::trim).filter(|p| !p.is_empty())) {
        (AccountKind::User, Some(slug)) => Some(
            state
                .store
                .profile_by_slug(org.id, slug)
                .await?
                .ok_or_else(|| Refusal::NotFound(format!("profile {slug:?}")))?,
        ),
        (AccountKind::User, None) => return Err(Refusal::Unprocessable("a user needs a profile".into())),
        (AccountKind::Contact, Some(_)) => {
            return Err(Refusal::Unprocessable("a contact has no profile".into()));
        }
        (AccountKind::Contact, None) => None,
    };
    let phone = match input.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(raw) => Some(PhoneNumber::parse(raw).map_err(|_| Refusal::InvalidPhone)?),
    };
    if state.store.account_by_username(org.id, &username.key()).await?.is_some() {
        return Err(Refusal::Conflict(format!("username {:?} is taken", username.as_str())));
    }
    let password_hash = unusable_hash(state).await?;
    let (phone_sealed, phone_hint, key_id) = match &phone {
        None => (None, None, None),
        Some(p) => {
            let (sealed, key_id) = state.keyring.seal(
                p.e164().as_bytes(),
                &Aad::AccountPhone { org_id: org.id, username_key: &username.key() }.bytes(),
            )?;
            (Some(sealed), Some(p.hint()), Some(key_id))
        }
    };
    let id = state
        .store
        .create_account(NewAccount {
            org_id: org.id,
            username: username.as_str().to_owned(),
            kind,
            profile_id: profile.map(|p| p.id),
            password_hash,
            phone_sealed,
            phone_hint,
            key_id,
            created_at: state.now(),
        })
        .await
        .map_err(|e| match e {
            twostep_core::store::StoreError::Conflict(_) => {
                Refusal::Conflict(format!("username {:?} is taken", username.as_str()))
            }
            other => other.into(),
        })?;
    if email.is_some() || display_name.is_some() {
        state
            .store
            .update_account(id, AccountUpdate { profile_id: None, email: Some(email.clone()), display_name })
            .await?;
    }
    let account = state.store.account_by_id(id).await?;
    let link = issue_setup_link(state, &account).await?;
    audit::record(
        state,
        meta,
        event(org.id, "admin.user_created", admin.username(), &account.username, admin.client()),
    )
    .await;
    crate::service::notify::send(
        state,
        &org,
        &account,
        crate::service::notify::Notice::SetupLink { url: &link.url, expires_at: &rfc3339(link.expires_at) },
        meta,
    )
    .await;
    Ok((user_info(state, &org, &account).await?, link))
}

#[derive(Debug, Default)]
pub struct UpdateInput {
    pub profile: Option<String>,
    pub email: Option<Option<String>>,
    pub display_name: Option<String>,
    pub disabled: Option<bool>,
}

/// Changes to an account. Disabling, and moving a user to a profile
/// whose admin flag differs, are weakening actions (§11.3); disabling ends every session
/// at once.
pub async fn update(
    state: &AppState,
    admin: &Admin,
    username: &str,
    input: UpdateInput,
    meta: &RequestMeta,
) -> ServiceResult<UserInfo> {
    let org = state.store.org_by_id(admin.org_id()).await?;
    let account = find(state, org.id, username).await?;
    let email = match input.email {
        None => None,
        Some(raw) => Some(parse_email(raw)?),
    };
    let display_name = parse_display_name(input.display_name)?;
    let profile = match input.profile.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(slug) => {
            if account.kind == AccountKind::Contact {
                return Err(Refusal::Unprocessable("a contact has no profile".into()));
            }
            Some(
                state
                    .store
                    .profile_by_slug(org.id, slug)
                    .await?
                    .ok_or_else(|| Refusal::NotFound(format!("profile {slug:?}")))?,
            )
        }
    };
    let admin_flag_changes =
        profile.as_ref().is_some_and(|p| p.admin != account.profile.as_ref().is_some_and(|old| old.admin));
    let disabling = input.disabled == Some(true) && !account.disabled;
    if admin_flag_changes {
        admin.reconfirm(state, meta, "change_admin_profile").await?;
    }
    if disabling {
        admin.reconfirm(state, meta, "disable_user").await?;
        if account.id == admin.account_id() {
            return Err(Refusal::Conflict("you cannot disable your own account".into()));
        }
    }
    let changed_profile = profile.as_ref().map(|p| p.slug.clone());
    state
        .store
        .update_account(account.id, AccountUpdate { profile_id: profile.map(|p| p.id), email, display_name })
        .await?;
    if let Some(disabled) = input.disabled
        && disabled != account.disabled
    {
        state.store.set_disabled(account.id, disabled).await?;
        let kind = if disabled { "admin.user_disabled" } else { "admin.user_enabled" };
        audit::record(state, meta, event(org.id, kind, admin.username(), &account.username, admin.client())).await;
    }
    if let Some(slug) = &changed_profile {
        let mut e = event(org.id, "admin.user_profile", admin.username(), &account.username, admin.client());
        e.outcome = slug;
        audit::record(state, meta, e).await;
    }
    audit::record(
        state,
        meta,
        event(org.id, "admin.user_updated", admin.username(), &account.username, admin.client()),
    )
    .await;
    let account = state.store.account_by_id(account.id).await?;
    user_info(state, &org, &account).await
}

/// Deletes an account; the audit keeps the username.
pub async fn delete(state: &AppState, admin: &Admin, username: &str, meta: &RequestMeta) -> ServiceResult<()> {
    admin.reconfirm(state, meta, "delete_user").await?;
    let account = find(state, admin.org_id(), username).await?;
    if account.id == admin.account_id() {
        return Err(Refusal::Conflict("you cannot delete your own account".into()));
    }
    state.store.delete_account(account.id).await?;
    audit::record(
        state,
        meta,
        event(admin.org_id(), "admin.user_deleted", admin.username(), &account.username, admin.client()),
    )
    .await;
    Ok(())
}

/// A password reset by an admin: the old password dies at once
/// (with every session), and a new setup link is issued.
pub async fn password_reset(
    state: &AppState,
    admin: &Admin,
    username: &str,
    meta: &RequestMeta,
) -> ServiceResult<SetupLink> {
    admin.reconfirm(state, meta, "password_reset").await?;
    let org = state.store.org_by_id(admin.org_id()).await?;
    let account = find(state, org.id, username).await?;
    let hashed = unusable_hash(state).await?;
    state.store.set_password(account.id, &hashed, None).await?;
    let link = issue_setup_link(state, &account).await?;
    audit::record(
        state,
        meta,
        event(org.id, "admin.password_reset", admin.username(), &account.username, admin.client()),
    )
    .await;
    crate::service::notify::send(
        state,
        &org,
        &account,
        crate::service::notify::Notice::SetupLink { url: &link.url, expires_at: &rfc3339(link.expires_at) },
        meta,
    )
    .await;
    Ok(link)
}

/// Symbols of access codes: no 0/O, 1/I/L look-alikes (SPEC §12, "unambiguous").
const ACCESS_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// 10 symbols of 31: over 49 bits (SPEC §12 asks ≥ 40).
const ACCESS_LEN: usize = 10;

/// The form a typed code is compared in: upper case, without spaces or dashes.
fn normalize_access_code(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).take(64).collect()
}

pub fn access_code_hash(account_id: i64, code: &str) -> Vec<u8> {
    TokenHash::of(&format!("access:{account_id}:{}", normalize_access_code(code))).0
}

#[derive(Debug)]
pub struct AccessCode {
    pub access_code: String,
    pub expires_at: Timestamp,
}

/// A temporary access code after a 2SV reset: shown once; only its hash is kept.
pub async fn issue_access_code(
    state: &AppState,
    admin: &Admin,
    username: &str,
    meta: &RequestMeta,
) -> ServiceResult<AccessCode> {
    admin.reconfirm(state, meta, "access_code").await?;
    let account = find(state, admin.org_id(), username).await?;
    if account.kind == AccountKind::Contact {
        return Err(Refusal::TwoStepNotAvailable);
    }
    let code = generate_access_code();
    let now = state.now();
    let expires_at = now + state.config.access_code_ttl.as_secs() as i64;
    state.store.create_access_code(account.id, &access_code_hash(account.id, &code), now, expires_at).await?;
    audit::record(
        state,
        meta,
        event(admin.org_id(), "admin.access_code_issued", admin.username(), &account.username, admin.client()),
    )
    .await;
    Ok(AccessCode { access_code: code, expires_at })
}

pub fn generate_access_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let raw: String =
        (0..ACCESS_LEN).map(|_| ACCESS_ALPHABET[rng.gen_range(0..ACCESS_ALPHABET.len())] as char).collect();
    format!("{}-{}", &raw[..ACCESS_LEN / 2], &raw[ACCESS_LEN / 2..])
}

/// An access code presented: with an enrollment flow token, a valid code
/// unlocks the enrollment endpoints for that flow; with a session (a user for whom 2SV is
/// optional signs in with the password alone), it lifts the account's need for a code. A
/// wrong code counts against the flow, or as a second-step failure of the account.
pub async fn present_access_code(state: &AppState, token: &str, code: &str, meta: &RequestMeta) -> ServiceResult<()> {
    let flow = match auth::flow_for(state, token, FlowKind::Enrollment).await {
        Ok(flow) => Some(flow),
        Err(Refusal::FlowExpired) => None,
        Err(e) => return Err(e),
    };
    let (account_id, client) = match &flow {
        Some(f) => (f.account_id, f.client.clone()),
        None => {
            let session = auth::authenticate(state, token).await.map_err(|e| match e {
                Refusal::SessionInvalid => Refusal::FlowExpired,
                other => other,
            })?;
            (session.account_id, session.client)
        }
    };
    let account = state.store.account_by_id(account_id).await?;
    let now = state.now();
    let hash = access_code_hash(account.id, code);
    let event = |outcome| Event {
        org_id: Some(account.org_id),
        kind: "login.access_code",
        actor: Some(&account.username),
        subject: Some(&account.username),
        client: Some(&client),
        outcome,
    };
    let Some(flow) = flow else {
        // A session counts its guesses like second-step codes (SPEC §4): locked after ten.
        let attempt = match crate::service::codes::Attempt::reserve(state, account.id).await? {
            Ok(attempt) => attempt,
            Err(retry_after) => return Err(Refusal::TwoStepLocked { retry_after }),
        };
        if state.store.claim_access_code(account.id, None, &hash, now).await? {
            attempt.passed(now).await?;
            audit::record(state, meta, event("success")).await;
            return Ok(());
        }
        attempt.failed(now).await?;
        audit::record(state, meta, event("invalid_code")).await;
        return Err(Refusal::InvalidCode { attempts_remaining: None });
    };
    if state.store.claim_access_code(account.id, Some(flow.id), &hash, now).await? {
        audit::record(state, meta, event("success")).await;
        return Ok(());
    }
    audit::record(state, meta, event("invalid_code")).await;
    let failures = state.store.flow_failure(flow.id, flow::MAX_FLOW_FAILURES).await?.ok_or(Refusal::FlowExpired)?;
    let remaining = match flow::after_failure(failures) {
        flow::AfterFailure::Remaining(n) => n,
        flow::AfterFailure::Exhausted => {
            state.store.consume_flow(flow.id).await?;
            0
        }
    };
    Err(Refusal::InvalidCode { attempts_remaining: Some(remaining) })
}

/// Who a live setup link belongs to, without using it: 410 `link_expired` otherwise.
pub async fn setup_link_owner(state: &AppState, token: &str) -> ServiceResult<(Organization, Account)> {
    if token.is_empty() || token.len() > 512 {
        return Err(Refusal::LinkExpired);
    }
    let id = state.store.setup_link_account(&TokenHash::of(token).0, state.now()).await?.ok_or(Refusal::LinkExpired)?;
    let account = state.store.account_by_id(id).await?;
    let org = state.store.org_by_id(account.org_id).await?;
    Ok((org, account))
}

/// Chooses the password on a setup link (single use), then goes on as after a correct
/// password at sign-in: straight into enrollment when 2SV is mandatory.
pub async fn complete_setup(
    state: &AppState,
    token: &str,
    new: Password,
    client: &str,
    meta: &RequestMeta,
) -> ServiceResult<LoginOutcome> {
    let (org, account) = setup_link_owner(state, token).await?;
    check_new_password(&new, &account.username, &org.slug)?;
    if account.disabled {
        return Err(Refusal::AccountDisabled);
    }
    let hashed = hash(state, new).await?;
    // Claimed after hashing, in one statement: of two racing requests only one wins.
    let claimed = state.store.claim_setup_link(&TokenHash::of(token).0, state.now()).await?;
    if claimed != Some(account.id) {
        return Err(Refusal::LinkExpired);
    }
    state.store.set_password(account.id, &hashed, None).await?;
    audit::record(state, meta, event(org.id, "password.set_by_link", &account.username, &account.username, client))
        .await;
    crate::service::notify::send(state, &org, &account, crate::service::notify::Notice::PasswordChanged, meta).await;
    let client_supports = state.clients.supports_two_step(client).ok_or(Refusal::UnknownClient)?;
    let account = state.store.account_by_id(account.id).await?;
    auth::after_password(state, org, account, client, client_supports, meta, None).await
}
