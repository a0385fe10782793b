//! Sign-in (SPEC §4): password, then — when 2SV applies — a second step or enrollment;
//! sessions and flows.

use crate::service::audit::{self, Event};
use crate::service::codes::{self, Checked, CodeContext, Opening, Proof};
use crate::service::{Member, Refusal, RequestMeta, ServiceResult, blocking, throttle};
use crate::state::AppState;
use serde::Serialize;
use twostep_core::Timestamp;
use twostep_core::credential::password;
use twostep_core::crypto::{Token, TokenHash};
use twostep_core::domain::{MethodKind, Password, Username};
use twostep_core::flow::{self, AfterFailure, FlowKind};
use twostep_core::policy::{self, SignInStep};
use twostep_core::store::{Account, Flow, NewFlow, NewSession, SessionView, SmsBinding};

pub struct LoginInput {
    pub organization: String,
    pub username: String,
    pub password: Password,
    pub client: String,
    /// A remembered device's token (SPEC §14): skips the second step for its account.
    pub device_token: Option<String>,
}

/// A token handed out once, with when it stops working.
#[derive(Debug)]
pub struct Issued {
    pub token: String,
    pub expires_at: Timestamp,
}

#[derive(Debug, Serialize)]
pub struct MethodOffer {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_hint: Option<String>,
}

#[derive(Debug)]
pub enum LoginOutcome {
    Authenticated {
        session: Issued,
    },
    /// The second step was skipped for a remembered device (SPEC §14): the session counts
    /// as verified (`"two_step_via":"remembered_device"`).
    Remembered {
        session: Issued,
    },
    TwoStepRequired {
        flow: Issued,
        methods: Vec<MethodOffer>,
    },
    /// `access_code_required`: after an admin reset, an access code must unlock the flow
    /// before a method can be bound (SPEC §12).
    ///
    /// `enroll_by`: until then the user may skip enrolling (`can_skip`), SPEC §14.
    EnrollmentRequired {
        flow: Issued,
        access_code_required: bool,
        enroll_by: Option<i64>,
    },
}

/// A new session's row and its token (the only time it exists in clear), not yet
/// written. `second_factor` is the second step that opened it (`totp`, `sms`,
/// `recovery_code`), if any: it becomes the `amr` of the apps signed in with it (RFC 8176).
fn new_session(
    state: &AppState,
    account: &Account,
    client: &str,
    second_factor: Option<&str>,
    meta: &RequestMeta,
) -> (Issued, NewSession) {
    let now = state.now();
    let token = Token::generate();
    let expires_at = now + state.config.session_ttl.as_secs() as i64;
    let session = NewSession {
        token_hash: token.hash().0,
        org_id: account.org_id,
        account_id: account.id,
        client: client.to_owned(),
        two_step_verified: second_factor.is_some(),
        created_at: now,
        expires_at,
        ip: meta.ip.clone(),
        user_agent: meta.user_agent.as_ref().map(|ua| ua.chars().take(200).collect()),
        second_factor: second_factor.map(str::to_owned),
        revoke_at: None,
    };
    (Issued { token: token.expose().to_owned(), expires_at }, session)
}

/// Creates a session and returns its token. With `flow`, the sign-in flow that led here
/// ends in the same write, and only the one caller that ends it gets a session (401
/// `flow_expired` for the others).
pub async fn open_session(
    state: &AppState,
    account: &Account,
    client: &str,
    second_factor: Option<&str>,
    flow: Option<i64>,
    meta: &RequestMeta,
) -> ServiceResult<Issued> {
    let (issued, session) = new_session(state, account, client, second_factor, meta);
    match flow {
        Some(flow_id) => {
            state.store.open_session_from_flow(flow_id, session).await?.ok_or(Refusal::FlowExpired)?;
        }
        None => {
            state.store.create_session(session).await?;
        }
    }
    Ok(issued)
}

async fn open_flow(state: &AppState, account: &Account, client: &str, kind: FlowKind) -> ServiceResult<Issued> {
    let now = state.now();
    let token = Token::generate();
    let expires_at = now + flow::FLOW_TTL;
    state
        .store
        .create_flow(NewFlow {
            token_hash: token.hash().0,
            kind,
            org_id: account.org_id,
            account_id: account.id,
            client: client.to_owned(),
            created_at: now,
            expires_at,
        })
        .await?;
    Ok(Issued { token: token.expose().to_owned(), expires_at })
}

/// What a user can offer at the second step: their methods, then recovery codes.
pub async fn method_offers(state: &AppState, account_id: i64) -> ServiceResult<Vec<MethodOffer>> {
    // One offer per kind: several authenticator apps or keys are one choice (SPEC §14).
    let mut offers: Vec<MethodOffer> = Vec::new();
    for m in state.store.methods(account_id).await? {
        if !offers.iter().any(|o| o.kind == m.kind.as_str()) {
            offers.push(MethodOffer { kind: m.kind.as_str(), phone_hint: m.phone_hint });
        }
    }
    offers.sort_by_key(|o| o.kind != MethodKind::Totp.as_str());
    if state.store.recovery_codes_remaining(account_id).await? > 0 {
        offers.push(MethodOffer { kind: "recovery_code", phone_hint: None });
    }
    Ok(offers)
}

/// The first step: organisation, username and password; then a session, or a flow
/// for the second step or for enrolling.
// The span names the step and the client only: the input holds the password.
#[tracing::instrument(name = "sign_in.password", skip_all, fields(client = %input.client))]
pub async fn login(state: &AppState, input: LoginInput, meta: &RequestMeta) -> ServiceResult<LoginOutcome> {
    let client_supports = state.clients.supports_two_step(&input.client).ok_or(Refusal::UnknownClient)?;
    let client = input.client.as_str();
    let org = state.store.org_by_slug(input.organization.trim()).await?;
    let account = match (&org, Username::parse(&input.username)) {
        (Some(org), Ok(username)) => state.store.account_by_username(org.id, &username.key()).await?,
        _ => None,
    };
    let throttle = throttle::Keys::new(&input.organization, &input.username, meta);
    let reservation = throttle::before_password(state, &throttle, org.as_ref().map(|o| o.id), client, meta).await?;

    let password = input.password.clone();
    let stored = account.as_ref().map(|a| a.password_hash.clone());
    let ok = match blocking(state, move || match stored {
        Some(phc) => password::verify(&password, &phc),
        None => password::verify_dummy(&password),
    })
    .await
    {
        Ok(ok) => ok,
        Err(busy @ Refusal::Busy { .. }) => {
            throttle::give_back(state, &throttle, reservation).await?;
            state.metrics.sign_in("busy");
            return Err(busy);
        }
        Err(e) => return Err(e),
    };
    let (Some(org), Some(account), true) = (org.clone(), account, ok) else {
        // The failure stays counted: it was reserved before the hash.
        audit::record(
            state,
            meta,
            Event {
                org_id: org.as_ref().map(|o| o.id),
                kind: "login.password",
                actor: None,
                subject: Some(input.username.trim()).filter(|u| !u.is_empty() && u.len() <= 128),
                client: Some(client),
                outcome: "invalid_credentials",
            },
        )
        .await;
        state.metrics.sign_in("invalid_credentials");
        return Err(Refusal::InvalidCredentials);
    };
    throttle::password_passed(state, &throttle, reservation).await?;
    // A disabled account learns so only after a correct password (SPEC §12).
    if account.disabled {
        audit::record(
            state,
            meta,
            Event {
                org_id: Some(account.org_id),
                kind: "login.password",
                actor: Some(&account.username),
                subject: Some(&account.username),
                client: Some(client),
                outcome: "account_disabled",
            },
        )
        .await;
        state.metrics.sign_in("account_disabled");
        return Err(Refusal::AccountDisabled);
    }
    after_password(state, org, account, client, client_supports, meta, input.device_token.as_deref()).await
}

/// What follows a correct password (SPEC §4): a session, a second step or enrollment.
/// Also the way in after a password is chosen on a setup link.
#[tracing::instrument(name = "sign_in.after_password", skip_all, fields(account = account.id, client = %client))]
pub async fn after_password(
    state: &AppState,
    org: twostep_core::store::Organization,
    account: Account,
    client: &str,
    client_supports: bool,
    meta: &RequestMeta,
    device_token: Option<&str>,
) -> ServiceResult<LoginOutcome> {
    let has_method = !state.store.methods(account.id).await?.is_empty();
    let subject = Member { org, account, has_method };
    let requirement = policy::requirement(subject.policy());
    let step = policy::sign_in_step(requirement, client_supports);
    let account = &subject.account;
    let event = |outcome| Event {
        org_id: Some(account.org_id),
        kind: "login.password",
        actor: Some(&account.username),
        subject: Some(&account.username),
        client: Some(client),
        outcome,
    };

    if step != SignInStep::Authenticated && step != SignInStep::UnsupportedClient {
        let now = state.now();
        if let Some(retry_after) = flow::lockout::remaining(account.locked_until, now) {
            audit::record(state, meta, event("two_step_locked")).await;
            state.metrics.sign_in("two_step_locked");
            return Err(Refusal::TwoStepLocked { retry_after });
        }
    }
    let outcome = match step {
        SignInStep::Authenticated => {
            let session = open_session(state, account, client, None, None, meta).await?;
            LoginOutcome::Authenticated { session }
        }
        SignInStep::UnsupportedClient => {
            audit::record(state, meta, event("two_step_unsupported_client")).await;
            state.metrics.sign_in("two_step_unsupported_client");
            return Err(Refusal::TwoStepUnsupportedClient);
        }
        SignInStep::TwoStepRequired if remembered(state, &subject, device_token).await? => {
            let session = open_session(state, account, client, Some("remembered_device"), None, meta).await?;
            LoginOutcome::Remembered { session }
        }
        SignInStep::TwoStepRequired => {
            let flow = open_flow(state, account, client, FlowKind::TwoStep).await?;
            let methods = method_offers(state, account.id).await?;
            LoginOutcome::TwoStepRequired { flow, methods }
        }
        SignInStep::EnrollmentRequired => {
            let flow = open_flow(state, account, client, FlowKind::Enrollment).await?;
            let enroll_by = account.enroll_by.filter(|by| *by > state.now());
            LoginOutcome::EnrollmentRequired { flow, access_code_required: account.access_code_required, enroll_by }
        }
    };
    let outcome_name = match &outcome {
        LoginOutcome::Authenticated { .. } => "authenticated",
        LoginOutcome::Remembered { .. } => "authenticated_remembered_device",
        LoginOutcome::TwoStepRequired { .. } => "two_step_required",
        LoginOutcome::EnrollmentRequired { .. } => "two_step_enrollment_required",
    };
    audit::record(state, meta, event(outcome_name)).await;
    state.metrics.sign_in(outcome_name);
    Ok(outcome)
}

/// A live flow of the given kind, or [`Refusal::FlowExpired`].
pub async fn flow_for(state: &AppState, token: &str, kind: FlowKind) -> ServiceResult<Flow> {
    let flow = state
        .store
        .flow_by_hash(&TokenHash::of(token).0, state.now())
        .await?
        .filter(|f| usable(f, kind))
        .ok_or(Refusal::FlowExpired)?;
    Ok(flow)
}

/// [`flow_for`], with the flow's account, read together.
async fn flow_and_account_for(state: &AppState, token: &str, kind: FlowKind) -> ServiceResult<(Flow, Account)> {
    let found = state
        .store
        .flow_and_account_by_hash(&TokenHash::of(token).0, state.now())
        .await?
        .filter(|(f, _)| usable(f, kind))
        .ok_or(Refusal::FlowExpired)?;
    Ok(found)
}

/// A live flow (the store gives only those) of `kind` with failures left.
fn usable(flow: &Flow, kind: FlowKind) -> bool {
    flow.kind == kind && flow.failures < flow::MAX_FLOW_FAILURES
}

#[derive(Debug)]
pub struct Verified {
    pub session: Issued,
    pub recovery_codes_remaining: Option<i64>,
    /// When asked for and allowed (SPEC §14): the token that remembers this device.
    pub device_token: Option<String>,
}

/// Whether `device_token` is a live remembered device of this account, while the
/// organisation remembers devices (SPEC §14). The password has been checked already.
async fn remembered(state: &AppState, subject: &Member, device_token: Option<&str>) -> ServiceResult<bool> {
    let Some(token) = device_token.filter(|t| !t.is_empty() && t.len() <= 512) else { return Ok(false) };
    if subject.org.remember_device_days <= 0 {
        return Ok(false);
    }
    Ok(state.store.use_device(subject.account.id, &TokenHash::of(token).0, state.now()).await?)
}

/// Remembers the device a second step was just passed on, for the organisation's number
/// of days; `None` when the organisation does not remember devices.
async fn remember_device(state: &AppState, account: &Account, meta: &RequestMeta) -> ServiceResult<Option<String>> {
    let org = state.store.org_by_id(account.org_id).await?;
    if org.remember_device_days <= 0 {
        return Ok(None);
    }
    let token = Token::generate();
    let now = state.now();
    let user_agent: Option<String> = meta.user_agent.as_ref().map(|ua| ua.chars().take(200).collect());
    state
        .store
        .remember_device(
            account.id,
            &token.hash().0,
            user_agent.as_deref(),
            now,
            now + org.remember_device_days * 86_400,
        )
        .await?;
    Ok(Some(token.expose().to_owned()))
}

/// `POST /api/v1/login/verify`.
// The flow token and the proof are secrets: neither is recorded.
#[tracing::instrument(name = "sign_in.second_step", skip_all)]
pub async fn verify(
    state: &AppState,
    flow_token: &str,
    proof: Proof<'_>,
    remember: bool,
    meta: &RequestMeta,
) -> ServiceResult<Verified> {
    let (flow, account) = flow_and_account_for(state, flow_token, FlowKind::TwoStep).await?;
    let ctx = CodeContext { account: &account, client: Some(&flow.client), binding: SmsBinding::Flow(flow.id), meta };
    // The session opens with the second step, in its transaction; its factor is set there.
    let (session, row) = new_session(state, &account, &flow.client, None, meta);
    let opening = Opening { flow_id: flow.id, session: row };
    match codes::second_step(state, &ctx, proof, Some(opening)).await? {
        Checked::Accepted { recovery_codes_remaining, .. } => {
            state.metrics.sign_in("authenticated_two_step");
            let device_token = if remember { remember_device(state, &account, meta).await? } else { None };
            Ok(Verified { session, recovery_codes_remaining, device_token })
        }
        Checked::Wrong => {
            let failures =
                state.store.flow_failure(flow.id, flow::MAX_FLOW_FAILURES).await?.ok_or(Refusal::FlowExpired)?;
            let remaining = match flow::after_failure(failures) {
                AfterFailure::Remaining(n) => n,
                AfterFailure::Exhausted => {
                    state.store.consume_flow(flow.id).await?;
                    0
                }
            };
            Err(Refusal::InvalidCode { attempts_remaining: Some(remaining) })
        }
    }
}

/// Whether a session still holds at this moment: not expired, not revoked (SPEC §3.7),
/// not idle (§11.8). The tokens apps hold are checked against it too (§13).
pub fn check_live(state: &AppState, session: &SessionView) -> ServiceResult<()> {
    let now = state.now();
    if session.expires_at <= now {
        return Err(Refusal::SessionInvalid);
    }
    if session.revoke_at.is_some_and(|at| at <= now) {
        return Err(Refusal::SessionRevoked);
    }
    // SPEC §11.8: a session unused for `session_idle_timeout` ends. Last use is kept to
    // the minute, which is far finer than any sensible idle limit.
    let idle = state.config.session_idle_timeout.as_secs() as i64;
    if idle > 0 && session.last_seen_at + idle <= now {
        return Err(Refusal::SessionInvalid);
    }
    Ok(())
}

/// The session behind a bearer token, or [`Refusal::SessionInvalid`] / [`Refusal::SessionRevoked`].
pub async fn authenticate(state: &AppState, token: &str) -> ServiceResult<SessionView> {
    let now = state.now();
    let session = state.store.session_by_hash(&TokenHash::of(token).0).await?.ok_or(Refusal::SessionInvalid)?;
    check_live(state, &session)?;
    // last_seen is for the session list: noted at most once a minute and written in
    // batches (crate::touches), so the session check stays a read.
    if session.last_seen_at + 60 <= now && !state.touches.note(session.id, now) {
        state.store.touch_sessions(&[(session.id, now)]).await?;
    }
    Ok(session)
}

pub async fn logout(state: &AppState, session: &SessionView, meta: &RequestMeta) -> ServiceResult<()> {
    state.store.delete_session(session.id).await?;
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(session.org_id),
            kind: "session.logout",
            actor: Some(&session.username),
            subject: Some(&session.username),
            client: Some(&session.client),
            outcome: "success",
        },
    )
    .await;
    Ok(())
}

/// A sign-in code to the user's enrolled number, for a flow at its second step.
pub async fn send_sign_in_sms(state: &AppState, flow_token: &str, meta: &RequestMeta) -> ServiceResult<()> {
    let flow = flow_for(state, flow_token, FlowKind::TwoStep).await?;
    let subject = Member::load(state, flow.account_id).await?;
    let methods = state.store.methods(flow.account_id).await?;
    let method = methods
        .iter()
        .find(|m| m.kind == MethodKind::Sms)
        .ok_or_else(|| Refusal::InvalidRequest("text messages are not one of this account's methods".into()))?;
    let phone = crate::service::sms::open_phone(state, flow.account_id, &method.sealed)?;
    crate::service::sms::send_code(
        state,
        &subject.org,
        &subject.account,
        SmsBinding::Flow(flow.id),
        &phone,
        Some(&flow.client),
        meta,
    )
    .await
}

/// Setting up 2SV later (SPEC §14): before the enrollment deadline, a session without
/// 2SV that ends at the deadline (never earlier through §3.7's grace). After it,
/// [`Refusal::ForbiddenBecause`]: enrollment is forced.
pub async fn skip_enrollment(state: &AppState, flow_token: &str, meta: &RequestMeta) -> ServiceResult<(Issued, i64)> {
    let flow = flow_for(state, flow_token, FlowKind::Enrollment).await?;
    let account = state.store.account_by_id(flow.account_id).await?;
    let now = state.now();
    let Some(enroll_by) = account.enroll_by.filter(|by| *by > now) else {
        return Err(Refusal::ForbiddenBecause("the enrollment deadline has passed: set up 2-Step Verification now"));
    };
    // The session ends at the deadline: written with it, in the same transaction.
    let (session, row) = new_session(state, &account, &flow.client, None, meta);
    let row = NewSession { revoke_at: Some(enroll_by), ..row };
    state.store.open_session_from_flow(flow.id, row).await?.ok_or(Refusal::FlowExpired)?;
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(account.org_id),
            kind: "two_step.enrollment_skipped",
            actor: Some(&account.username),
            subject: Some(&account.username),
            client: Some(&flow.client),
            outcome: "skipped",
        },
    )
    .await;
    state.metrics.sign_in("enrollment_skipped");
    Ok((session, enroll_by))
}
