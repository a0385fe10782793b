//! The user's own 2SV methods (SPEC §5, §6 "The user's own methods"): reachable with a
//! session, or with a flow token in state `two_step_enrollment_required`.

use crate::service::audit::{self, Event};
use crate::service::auth::{self, Issued};
use crate::service::codes::{self, Attempt, Checked, CodeContext, Proof};
use crate::service::notify::Notice;
use crate::service::sms;
use crate::service::{Member, Refusal, RequestMeta, ServiceResult};
use crate::state::AppState;
use twostep_core::Timestamp;
use twostep_core::aad::Aad;
use twostep_core::credential::{recovery, totp};
use twostep_core::crypto::TokenHash;
use twostep_core::domain::{AccountKind, MethodKind, OtpCode};
use twostep_core::flow::{self, FlowKind};
use twostep_core::store::{EnableMethod, EnrollmentOwner, Flow, Method, Pending, Removal, SessionView, SmsBinding};

/// Who is managing their methods.
pub enum Caller {
    Session(SessionView),
    /// Mandatory enrollment at sign-in: the flow may only enroll.
    Enrollment(Flow),
}

impl Caller {
    pub fn account_id(&self) -> i64 {
        match self {
            Self::Session(s) => s.account_id,
            Self::Enrollment(f) => f.account_id,
        }
    }

    pub fn client(&self) -> &str {
        match self {
            Self::Session(s) => &s.client,
            Self::Enrollment(f) => &f.client,
        }
    }

    /// Who an enrollment begun by this caller belongs to (SPEC §11.2).
    pub fn owner(&self) -> EnrollmentOwner {
        match self {
            Self::Session(s) => EnrollmentOwner::Session(s.id),
            Self::Enrollment(f) => EnrollmentOwner::Flow(f.id),
        }
    }

    /// A session whose last second step is recent enough for a sensitive change.
    pub(crate) fn require_step_up(&self, now: i64) -> ServiceResult<&SessionView> {
        match self {
            Self::Session(s) if flow::stepped_up(s.last_two_step_at, now) => Ok(s),
            _ => Err(Refusal::StepUpRequired),
        }
    }
}

/// A bearer token as a session or, failing that, as an enrollment flow.
pub async fn caller(state: &AppState, token: &str) -> ServiceResult<Caller> {
    match auth::authenticate(state, token).await {
        Ok(session) => Ok(Caller::Session(session)),
        Err(Refusal::SessionInvalid) => {
            let flow = state
                .store
                .flow_by_hash(&TokenHash::of(token).0, state.now())
                .await?
                .filter(|f| f.kind == FlowKind::Enrollment && f.failures < flow::MAX_FLOW_FAILURES)
                .ok_or(Refusal::SessionInvalid)?;
            Ok(Caller::Enrollment(flow))
        }
        Err(e) => Err(e),
    }
}

/// Loads the caller's account and applies the gates every endpoint shares: contacts
/// never (`TwoStepNotAvailable`), and only while 2SV is enabled for the organisation
/// (`TwoStepDisabled`).
pub(crate) async fn subject(state: &AppState, caller: &Caller) -> ServiceResult<Member> {
    let subject = Member::load(state, caller.account_id()).await?;
    if subject.account.kind == AccountKind::Contact {
        return Err(Refusal::TwoStepNotAvailable);
    }
    if !subject.org.two_step_in_force() {
        return Err(Refusal::TwoStepDisabled);
    }
    // After an admin reset of a lost phone, the password alone cannot bind a factor: the
    // enrollment flow must first present an access code (SPEC §12).
    if let Caller::Enrollment(flow) = caller
        && subject.account.access_code_required
        && !flow.access_code_ok
    {
        return Err(Refusal::AccessCodeRequired);
    }
    Ok(subject)
}

/// One enabled method, never its secret.
#[derive(Debug)]
pub struct MethodInfo {
    /// What a removal names the method by (SPEC §14).
    pub id: i64,
    pub kind: &'static str,
    pub name: String,
    pub phone_hint: Option<String>,
    pub enabled_at: Timestamp,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl From<Method> for MethodInfo {
    fn from(m: Method) -> Self {
        Self {
            id: m.id,
            kind: m.kind.as_str(),
            name: m.name,
            phone_hint: m.phone_hint,
            enabled_at: m.enabled_at,
            created_at: m.enabled_at,
            last_used_at: m.last_used_at,
        }
    }
}

#[derive(Debug)]
pub struct Overview {
    pub available: bool,
    pub required: bool,
    pub methods: Vec<MethodInfo>,
    pub recovery_codes_remaining: i64,
}

pub async fn overview(state: &AppState, caller: &Caller) -> ServiceResult<Overview> {
    let subject = subject(state, caller).await?;
    let id = subject.account.id;
    let methods = state.store.methods(id).await?.into_iter().map(MethodInfo::from).collect();
    Ok(Overview {
        available: true,
        required: subject.mandatory(),
        methods,
        recovery_codes_remaining: state.store.recovery_codes_remaining(id).await?,
    })
}

pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
    pub qr_png: String,
    pub expires_at: Timestamp,
}

/// Binding a factor is a sensitive change (SPEC §11.1): once the account has a method,
/// adding another or replacing one needs a session that passed 2SV within 15 minutes.
/// Checked before anything is stored or sent; a refusal is audited.
pub(crate) async fn guard_binding(
    state: &AppState,
    caller: &Caller,
    subject: &Member,
    kind: MethodKind,
    meta: &RequestMeta,
) -> ServiceResult<()> {
    // After an admin reset the password alone binds nothing (SPEC §12): a session must
    // first present an access code (an enrollment flow is gated in `subject`).
    if subject.account.access_code_required && matches!(caller, Caller::Session(_)) {
        audit::record(
            state,
            meta,
            Event {
                org_id: Some(subject.org.id),
                kind: "two_step.binding_refused",
                actor: Some(&subject.account.username),
                subject: Some(&subject.account.username),
                client: Some(caller.client()),
                outcome: "access_code_required",
            },
        )
        .await;
        return Err(Refusal::AccessCodeRequired);
    }
    if !subject.has_method {
        return Ok(());
    }
    if let Err(refusal) = caller.require_step_up(state.now()) {
        audit::record(
            state,
            meta,
            Event {
                org_id: Some(subject.org.id),
                kind: "two_step.binding_refused",
                actor: Some(&subject.account.username),
                subject: Some(&subject.account.username),
                client: Some(caller.client()),
                outcome: kind.as_str(),
            },
        )
        .await;
        return Err(refusal);
    }
    Ok(())
}

pub async fn start_totp(
    state: &AppState,
    caller: &Caller,
    name: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<TotpEnrollment> {
    let name = method_name(name, MethodKind::Totp)?;
    let subject = subject(state, caller).await?;
    guard_binding(state, caller, &subject, MethodKind::Totp, meta).await?;
    let account = &subject.account;
    let secret = totp::generate_secret();
    let expires_at = state.now() + flow::PENDING_TTL;
    state
        .store
        .put_pending(Pending {
            account_id: account.id,
            owner: caller.owner(),
            kind: MethodKind::Totp,
            name,
            sealed: state.key.seal(&secret, &Aad::Totp { account_id: account.id }.bytes())?,
            key_id: state.key.id().to_owned(),
            phone_hint: None,
            expires_at,
        })
        .await?;
    let label = format!("{}@{}", account.username, subject.org.slug);
    let otpauth_uri = totp::otpauth_uri(&state.config.issuer, &label, &secret);
    let qr_svg = crate::qr::svg(&otpauth_uri).map_err(|e| Refusal::Internal(e.to_string()))?;
    let qr_png = crate::qr::png_base64(&otpauth_uri).map_err(|e| Refusal::Internal(e.to_string()))?;
    Ok(TotpEnrollment { secret: totp::encode_secret(&secret), otpauth_uri, qr_svg, qr_png, expires_at })
}

#[derive(Debug)]
pub struct SmsSent {
    pub sent: bool,
    pub phone_hint: String,
    pub resend_after: i64,
}

/// Starts (or, for the same number, resends) an SMS enrollment.
pub async fn start_sms(
    state: &AppState,
    caller: &Caller,
    phone: &str,
    name: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<SmsSent> {
    let name = method_name(name, MethodKind::Sms)?;
    let subject = subject(state, caller).await?;
    guard_binding(state, caller, &subject, MethodKind::Sms, meta).await?;
    let phone = sms::accept_number(state, phone)?;
    let account = &subject.account;
    let now = state.now();
    let owner = caller.owner();
    // Posting the same number again is this enrollment's resend; a new number is a new
    // enrollment.
    let same_number = match state.store.pending(account.id, MethodKind::Sms, owner, now).await? {
        Some(p) => state
            .keyring
            .open(&p.key_id, &p.sealed, &Aad::Phone { account_id: account.id }.bytes())
            .is_ok_and(|n| n.as_slice() == phone.e164().as_bytes()),
        None => false,
    };
    if !same_number {
        state
            .store
            .put_pending(Pending {
                account_id: account.id,
                owner,
                kind: MethodKind::Sms,
                name,
                sealed: state.key.seal(phone.e164().as_bytes(), &Aad::Phone { account_id: account.id }.bytes())?,
                key_id: state.key.id().to_owned(),
                phone_hint: Some(phone.hint()),
                expires_at: now + flow::PENDING_TTL,
            })
            .await?;
    }
    let binding = SmsBinding::Enrollment(owner);
    sms::send_code(state, &subject.org, account, binding, &phone, Some(caller.client()), meta).await?;
    Ok(SmsSent { sent: true, phone_hint: phone.hint(), resend_after: sms::RESEND_AFTER })
}

pub struct Confirmed {
    pub status: Option<&'static str>,
    pub session: Option<Issued>,
    pub two_step_verified: Option<bool>,
    pub method: MethodInfo,
    pub recovery_codes: Option<Vec<String>>,
}

/// "Verify and enable": the pending method becomes enabled only with a correct code.
pub async fn confirm(
    state: &AppState,
    caller: &Caller,
    kind: MethodKind,
    code: &str,
    meta: &RequestMeta,
) -> ServiceResult<Confirmed> {
    let subject = subject(state, caller).await?;
    let account = &subject.account;
    let now = state.now();
    // Only the session or flow that began the enrollment finds it (SPEC §11.2).
    let pending = state.store.pending(account.id, kind, caller.owner(), now).await?.ok_or_else(|| {
        Refusal::InvalidRequest(format!("no {kind} enrollment is in progress (or it expired): start again"))
    })?;
    let attempt = match Attempt::reserve(state, account.id).await? {
        Ok(attempt) => attempt,
        Err(retry_after) => return Err(Refusal::TwoStepLocked { retry_after }),
    };
    let accepted_step = match (kind, OtpCode::parse(code)) {
        (_, Err(_)) => None,
        (MethodKind::Totp, Ok(code)) => {
            let secret =
                state.keyring.open(&pending.key_id, &pending.sealed, &Aad::Totp { account_id: account.id }.bytes())?;
            totp::matching_step(&secret, code.expose(), now).map(Some)
        }
        (MethodKind::Sms, Ok(code)) => {
            let binding = SmsBinding::Enrollment(caller.owner());
            sms::check_code(state, account.id, binding, &code).await?.then_some(None)
        }
        // Keys confirm with a credential (`service::webauthn`), never a code; no pending
        // key exists to get here.
        (MethodKind::Webauthn, Ok(_)) => None,
    };
    let Some(totp_step) = accepted_step else {
        return Err(wrong_confirmation(state, caller, attempt, meta, &subject).await?);
    };

    let first = !subject.has_method;
    let codes = first.then(recovery::generate);
    let enabled = state
        .store
        .enable_method(EnableMethod {
            pending: pending.clone(),
            at: now,
            totp_step,
            recovery_hashes: codes.as_ref().map(|c| c.iter().map(|code| recovery::hash(account.id, code)).collect()),
        })
        .await?;
    if !enabled {
        return Err(Refusal::InvalidRequest(format!("this {kind} enrollment was already completed or replaced")));
    }
    attempt.passed(now).await?;
    let method = MethodInfo {
        id: enabled_id(state, account.id, kind).await?,
        kind: kind.as_str(),
        name: pending.name.clone().unwrap_or_else(|| kind.default_name().to_owned()),
        phone_hint: pending.phone_hint.clone(),
        enabled_at: now,
        created_at: now,
        last_used_at: None,
    };
    enrolled(state, caller, &subject, method, codes, kind.as_str(), meta).await
}

/// The id of the method of `kind` just enabled: the newest one.
async fn enabled_id(state: &AppState, account_id: i64, kind: MethodKind) -> ServiceResult<i64> {
    let methods = state.store.methods(account_id).await?;
    Ok(methods.iter().filter(|m| m.kind == kind).map(|m| m.id).max().unwrap_or_default())
}

/// A method's name as given: trimmed, 1 to 64 characters, no control characters.
pub fn method_name(name: Option<&str>, kind: MethodKind) -> ServiceResult<Option<String>> {
    let Some(name) = name.map(str::trim) else { return Ok(None) };
    if name.is_empty() {
        return Ok(Some(kind.default_name().to_owned()));
    }
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(Refusal::InvalidRequest("name must be at most 64 characters, without control characters".into()));
    }
    Ok(Some(name.to_owned()))
}

/// What follows every confirmed enrollment: the audit, the notice, and for the account's
/// first method its step-up (session) or the session the sign-in asked for (flow).
/// `factor` is the second factor a session opened here names (`amr`).
pub(crate) async fn enrolled(
    state: &AppState,
    caller: &Caller,
    subject: &Member,
    method: MethodInfo,
    codes: Option<Vec<String>>,
    factor: &str,
    meta: &RequestMeta,
) -> ServiceResult<Confirmed> {
    let account = &subject.account;
    let now = state.now();
    let kind = method.kind;
    let first = !subject.has_method;
    if account.access_code_required {
        state.store.set_access_code_required(account.id, false).await?;
    }
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(account.org_id),
            kind: "two_step.method_enabled",
            actor: Some(&account.username),
            subject: Some(&account.username),
            client: Some(caller.client()),
            outcome: kind,
        },
    )
    .await;
    codes::notify_account(state, account, Notice::MethodEnabled(kind), meta).await;
    match caller {
        Caller::Session(s) => {
            // Confirming a new method is not a second step (SPEC §11.1): it proves only
            // the new factor. The account's very first method is the exception, for this
            // session alone.
            if first {
                state.store.mark_stepped_up(s.id, now).await?;
            }
            Ok(Confirmed { status: None, session: None, two_step_verified: None, method, recovery_codes: codes })
        }
        Caller::Enrollment(f) => {
            // The first method completes the sign-in that asked for it.
            let session = auth::open_session(state, account, &f.client, Some(factor), Some(f.id), meta).await?;
            state.metrics.sign_in("authenticated_enrollment");
            Ok(Confirmed {
                status: Some("authenticated"),
                session: Some(session),
                two_step_verified: Some(true),
                method,
                recovery_codes: codes,
            })
        }
    }
}

pub(crate) async fn wrong_confirmation(
    state: &AppState,
    caller: &Caller,
    attempt: Attempt,
    meta: &RequestMeta,
    subject: &Member,
) -> ServiceResult<Refusal> {
    let now = state.now();
    if attempt.failed(now).await?.is_some() {
        tracing::warn!(account = subject.account.id, "second step locked during enrollment");
        audit::record(
            state,
            meta,
            Event {
                org_id: Some(subject.org.id),
                kind: "two_step.locked",
                actor: Some(&subject.account.username),
                subject: Some(&subject.account.username),
                client: Some(caller.client()),
                outcome: "locked",
            },
        )
        .await;
    }
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(subject.org.id),
            kind: "two_step.code_refused",
            actor: Some(&subject.account.username),
            subject: Some(&subject.account.username),
            client: Some(caller.client()),
            outcome: "enrollment",
        },
    )
    .await;
    let attempts_remaining = match caller {
        Caller::Enrollment(f) => {
            let failures =
                state.store.flow_failure(f.id, flow::MAX_FLOW_FAILURES).await?.ok_or(Refusal::FlowExpired)?;
            Some((flow::MAX_FLOW_FAILURES - failures).max(0))
        }
        Caller::Session(_) => None,
    };
    Ok(Refusal::InvalidCode { attempts_remaining })
}

/// Disabling needs step-up, and the last method of a user for whom 2SV is mandatory
/// stays ([`Refusal::MethodRequired`]).
pub async fn disable(state: &AppState, caller: &Caller, kind: MethodKind, meta: &RequestMeta) -> ServiceResult<()> {
    let subject = subject(state, caller).await?;
    let session = caller.require_step_up(state.now())?;
    // The "last method" rule is checked by the store under a lock on the account, so two
    // removals at once cannot both pass it (SPEC §11.6).
    match state.store.disable_method(subject.account.id, kind, subject.mandatory()).await? {
        Removal::Removed => {}
        Removal::NotFound => return Err(Refusal::NotFound(format!("{kind} method"))),
        Removal::LastMethod => return Err(Refusal::MethodRequired),
    }
    method_removed(state, session, &subject, kind.as_str(), meta).await;
    Ok(())
}

/// Removes one method by id, under the rules of
/// [`disable`].
pub async fn remove(state: &AppState, caller: &Caller, method_id: i64, meta: &RequestMeta) -> ServiceResult<()> {
    let subject = subject(state, caller).await?;
    let session = caller.require_step_up(state.now())?;
    let removed = match state.store.remove_method(subject.account.id, method_id, subject.mandatory()).await? {
        (Removal::Removed, Some(method)) => method,
        (Removal::LastMethod, _) => return Err(Refusal::MethodRequired),
        _ => return Err(Refusal::NotFound("method".into())),
    };
    method_removed(state, session, &subject, removed.kind.as_str(), meta).await;
    Ok(())
}

/// What follows every removal of a method: the audit event and the owner's email.
async fn method_removed(state: &AppState, session: &SessionView, subject: &Member, kind: &str, meta: &RequestMeta) {
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(session.org_id),
            kind: "two_step.method_disabled",
            actor: Some(&session.username),
            subject: Some(&session.username),
            client: Some(&session.client),
            outcome: kind,
        },
    )
    .await;
    crate::service::notify::send(state, &subject.org, &subject.account, Notice::MethodRemoved(kind), meta).await;
}

pub async fn regenerate_recovery_codes(
    state: &AppState,
    caller: &Caller,
    meta: &RequestMeta,
) -> ServiceResult<Vec<String>> {
    let subject = subject(state, caller).await?;
    let session = caller.require_step_up(state.now())?;
    if state.store.methods(subject.account.id).await?.is_empty() {
        return Err(Refusal::Conflict("enable a method before creating recovery codes".into()));
    }
    let codes = recovery::generate();
    let hashes = codes.iter().map(|c| recovery::hash(subject.account.id, c)).collect();
    state.store.replace_recovery_codes(subject.account.id, hashes).await?;
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(session.org_id),
            kind: "two_step.recovery_codes_regenerated",
            actor: Some(&session.username),
            subject: Some(&session.username),
            client: Some(&session.client),
            outcome: "success",
        },
    )
    .await;
    crate::service::notify::send(state, &subject.org, &subject.account, Notice::RecoveryCodesRegenerated, meta).await;
    Ok(codes)
}

/// Sends a code to the user's enrolled number so the session can step up.
pub async fn send_step_up_sms(state: &AppState, caller: &Caller, meta: &RequestMeta) -> ServiceResult<SmsSent> {
    let subject = subject(state, caller).await?;
    let Caller::Session(session) = caller else { return Err(Refusal::StepUpRequired) };
    let account = &subject.account;
    let methods = state.store.methods(account.id).await?;
    let method = methods.iter().find(|m| m.kind == MethodKind::Sms).ok_or(Refusal::NotFound("sms method".into()))?;
    let phone = sms::open_phone(state, account.id, &method.sealed)?;
    let binding = SmsBinding::Session(session.id);
    sms::send_code(state, &subject.org, account, binding, &phone, Some(caller.client()), meta).await?;
    Ok(SmsSent { sent: true, phone_hint: phone.hint(), resend_after: sms::RESEND_AFTER })
}

/// "Confirm it's you": a second step within a session, which allows sensitive changes
/// for the next 15 minutes.
pub async fn step_up(
    state: &AppState,
    caller: &Caller,
    proof: Proof<'_>,
    meta: &RequestMeta,
) -> ServiceResult<Option<i64>> {
    let subject = subject(state, caller).await?;
    let Caller::Session(session) = caller else { return Err(Refusal::SessionInvalid) };
    let ctx = CodeContext {
        account: &subject.account,
        client: Some(&session.client),
        binding: SmsBinding::Session(session.id),
        meta,
    };
    match codes::second_step(state, &ctx, proof, None).await? {
        Checked::Accepted { recovery_codes_remaining, factor } => {
            state.store.mark_stepped_up(session.id, state.now()).await?;
            state.store.set_session_second_factor(session.id, factor).await?;
            Ok(recovery_codes_remaining)
        }
        Checked::Wrong => Err(Refusal::InvalidCode { attempts_remaining: None }),
    }
}
