//! The user's own 2SV: mandatory enrollment at sign-in (`/login/enroll`, with the flow
//! cookie) and the security settings (`/settings/security`, with the session cookie).
//! Both journeys share the TOTP and SMS steps; the type `J: OnJourney` says which one a request is on.

use super::callers::SignedIn;
use super::ctx::{self, CsrfForm, Ctx, Plain, Posted};
use super::signin::{CodeForm, CodePage, MethodQuery, session_cookie, start_over};
use super::{error_page, i18n, me, signed_in, when};
use crate::api::error::Status as _;
use crate::extract::BodyThen;
use crate::service::Refusal;
use crate::service::me::{self, Caller, Confirmed};
use crate::service::{Member, auth};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use twostep_core::aad::Aad;
use twostep_core::credential::totp;
use twostep_core::domain::{MethodKind, PhoneNumber};

/// Which journey a request of these pages is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journey {
    /// Mandatory enrollment at sign-in (`/login/enroll`, the flow cookie).
    Enrollment,
    /// The security settings (`/settings/security`, the session cookie).
    Settings,
}

impl Journey {
    fn base(self) -> &'static str {
        match self {
            Journey::Enrollment => "/login/enroll",
            Journey::Settings => "/settings/security",
        }
    }

    fn enrolling(self) -> bool {
        self == Journey::Enrollment
    }
}

/// The journey as a type, so that one handler serves the routes of both (an enum cannot be
/// a const parameter on stable Rust): `totp_start::<Enroll>`, `totp_start::<Settings>`.
pub trait OnJourney {
    const JOURNEY: Journey;
}

pub struct Enroll;
pub struct Settings;

impl OnJourney for Enroll {
    const JOURNEY: Journey = Journey::Enrollment;
}

impl OnJourney for Settings {
    const JOURNEY: Journey = Journey::Settings;
}

/// The caller of this journey: the enrollment flow, or the signed-in session.
async fn caller(ctx: &Ctx, state: &AppState, journey: Journey) -> Result<Caller, Response> {
    if !journey.enrolling() {
        return signed_in(ctx, state).await.map(Caller::Session);
    }
    let Some(token) = ctx.flow_token() else {
        return Err(start_over(ctx, &Refusal::FlowExpired));
    };
    match me::caller(state, token).await {
        Ok(caller @ Caller::Enrollment(_)) => Ok(caller),
        // A flow token is never a session; this only happens if the cookie was swapped.
        Ok(Caller::Session(_)) | Err(Refusal::SessionInvalid | Refusal::SessionRevoked) => {
            Err(start_over(ctx, &Refusal::FlowExpired))
        }
        Err(e) => Err(error_page(ctx, &e)),
    }
}

/// The header's "who is signed in", when it is a session.
fn me_of(caller: &Caller) -> Option<Value> {
    match caller {
        Caller::Session(s) => Some(me(s)),
        Caller::Enrollment(_) => None,
    }
}

pub async fn enroll_page(ctx: Ctx, State(state): State<AppState>) -> Response {
    match caller(&ctx, &state, Journey::Enrollment).await {
        // After an admin reset, an access code comes first (SPEC §12).
        Ok(Caller::Enrollment(flow)) if !flow.access_code_ok => {
            match state.store.account_by_id(flow.account_id).await {
                Ok(account) if account.access_code_required => {
                    super::setup::access_code_render(&ctx, StatusCode::OK, None)
                }
                Ok(account) => enroll_choice(&ctx, &state, account.enroll_by),
                Err(e) => error_page(&ctx, &Refusal::from(e)),
            }
        }
        Ok(caller) => {
            let enroll_by = match &caller {
                Caller::Enrollment(flow) => {
                    state.store.account_by_id(flow.account_id).await.ok().and_then(|a| a.enroll_by)
                }
                Caller::Session(_) => None,
            };
            enroll_choice(&ctx, &state, enroll_by)
        }
        Err(response) => response,
    }
}

/// The choice of a method at sign-in, with "Set up later" until the enrollment deadline
/// (SPEC §14).
fn enroll_choice(ctx: &Ctx, state: &AppState, enroll_by: Option<i64>) -> Response {
    let enroll_by = enroll_by.filter(|by| *by > state.now()).map(super::when);
    let keys_available = state.webauthn.is_some();
    ctx.page(
        StatusCode::OK,
        "enroll.html",
        context! { base => Journey::Enrollment.base(), form_error => None::<String>, enroll_by, keys_available },
    )
}

/// "Set up later" (SPEC §14): a session without 2SV until the deadline.
pub async fn skip(ctx: Ctx, State(state): State<AppState>, Posted(_): Posted<Plain>) -> Response {
    let Some(token) = ctx.flow_token() else {
        return start_over(&ctx, &Refusal::FlowExpired);
    };
    match crate::service::auth::skip_enrollment(&state, token, &ctx.meta).await {
        Ok((session, _)) => {
            ctx.redirect("/", &[session_cookie(&ctx, &state, &session.token), ctx.clear_cookie(ctx::FLOW)])
        }
        Err(Refusal::FlowExpired) => start_over(&ctx, &Refusal::FlowExpired),
        Err(e) => error_page(&ctx, &e),
    }
}

/// Where a refusal that belongs to no field is shown: the start of the journey.
async fn journey_start(ctx: &Ctx, state: &AppState, caller: &Caller, journey: Journey, e: &Refusal) -> Response {
    if matches!(e, Refusal::FlowExpired) {
        return start_over(ctx, e);
    }
    if matches!(e, Refusal::AccessCodeRequired) && journey.enrolling() {
        return super::setup::access_code_render(ctx, e.status(), None);
    }
    let message = i18n::error(ctx.lang, e);
    match caller {
        Caller::Enrollment(_) if journey.enrolling() => {
            let keys_available = state.webauthn.is_some();
            ctx.page(
                e.status(),
                "enroll.html",
                context! { base => Journey::Enrollment.base(), form_error => message, keys_available },
            )
        }
        Caller::Session(session) => settings_render(ctx, state, session, e.status(), Some(message)).await,
        Caller::Enrollment(_) => error_page(ctx, e),
    }
}

/// Groups of four, as people copy a key by hand: `JBSW Y3DP EHPK 3PXP`.
fn grouped(secret: &str) -> String {
    secret.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(" ")
}

fn totp_render(
    ctx: &Ctx,
    caller: &Caller,
    journey: Journey,
    status: StatusCode,
    secret: &str,
    qr_png: &str,
    error: Option<String>,
) -> Response {
    ctx.page(
        status,
        "totp.html",
        context! {
            me => me_of(caller),
            base => journey.base(),
            enrolling => journey.enrolling(),
            secret,
            secret_groups => grouped(secret),
            qr_png,
            error,
            form_error => None::<String>,
        },
    )
}

/// "Enable" on the authenticator app: a fresh secret, its QR code and the key.
pub async fn totp_start<J: OnJourney>(
    ctx: Ctx,
    State(state): State<AppState>,
    Posted(form): Posted<KeyForm>,
) -> Response {
    let caller = match caller(&ctx, &state, J::JOURNEY).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match me::start_totp(&state, &caller, form.name(), &ctx.meta).await {
        Ok(enrollment) => {
            totp_render(&ctx, &caller, J::JOURNEY, StatusCode::OK, &enrollment.secret, &enrollment.qr_png, None)
        }
        Err(Refusal::StepUpRequired) => confirm_first(&ctx, "enable_totp"),
        Err(e) => journey_start(&ctx, &state, &caller, J::JOURNEY, &e).await,
    }
}

/// The secret being set up, to show again beside a wrong code: the service keeps it
/// sealed as the pending method until it is confirmed or expires. Only the session or
/// flow that began it finds it (SPEC §11.2).
async fn pending_totp(state: &AppState, caller: &Caller) -> Option<(String, String)> {
    let account_id = caller.account_id();
    let pending = state.store.pending(account_id, MethodKind::Totp, caller.owner(), state.now()).await.ok()??;
    let secret = state.keyring.open(&pending.key_id, &pending.sealed, &Aad::Totp { account_id }.bytes()).ok()?;
    let subject = Member::load(state, account_id).await.ok()?;
    let label = format!("{}@{}", subject.account.username, subject.org.slug);
    let uri = totp::otpauth_uri(&state.config.issuer, &label, &secret);
    let png = crate::qr::png_base64(&uri).ok()?;
    Some((totp::encode_secret(&secret), png))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeOnly {
    csrf: String,
    code: String,
    phone: String,
}

impl CsrfForm for CodeOnly {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// "Verify and enable" on the authenticator app.
pub async fn totp_confirm<J: OnJourney>(
    ctx: Ctx,
    State(state): State<AppState>,
    Posted(form): Posted<CodeOnly>,
) -> Response {
    let caller = match caller(&ctx, &state, J::JOURNEY).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match me::confirm(&state, &caller, MethodKind::Totp, &form.code, &ctx.meta).await {
        Ok(confirmed) => finish(&ctx, &state, &caller, J::JOURNEY, confirmed).await,
        Err(e @ (Refusal::InvalidCode { .. } | Refusal::TwoStepLocked { .. })) if !is_dead(&e) => {
            match pending_totp(&state, &caller).await {
                Some((secret, png)) => {
                    let message = Some(i18n::error(ctx.lang, &e));
                    totp_render(&ctx, &caller, J::JOURNEY, e.status(), &secret, &png, message)
                }
                None => journey_start(&ctx, &state, &caller, J::JOURNEY, &e).await,
            }
        }
        Err(e) if is_dead(&e) => start_over(&ctx, &e),
        Err(e) => journey_start(&ctx, &state, &caller, J::JOURNEY, &e).await,
    }
}

/// The enrollment flow died (too many wrong codes, or expired): sign in again.
fn is_dead(e: &Refusal) -> bool {
    matches!(e, Refusal::FlowExpired | Refusal::InvalidCode { attempts_remaining: Some(0) })
}

struct SmsStep<'a> {
    phone: &'a str,
    /// Set once a code was sent: the page asks for the code.
    phone_hint: Option<String>,
    error: Option<String>,
    form_error: Option<String>,
}

fn sms_render(ctx: &Ctx, caller: &Caller, journey: Journey, status: StatusCode, step: SmsStep<'_>) -> Response {
    ctx.page(
        status,
        "sms.html",
        context! {
            me => me_of(caller),
            base => journey.base(),
            enrolling => journey.enrolling(),
            phone => step.phone,
            phone_hint => step.phone_hint,
            error => step.error,
            form_error => step.form_error,
        },
    )
}

pub async fn sms_page<J: OnJourney>(ctx: Ctx, State(state): State<AppState>) -> Response {
    match caller(&ctx, &state, J::JOURNEY).await {
        Ok(caller) => {
            let step = SmsStep { phone: "", phone_hint: None, error: None, form_error: None };
            sms_render(&ctx, &caller, J::JOURNEY, StatusCode::OK, step)
        }
        Err(response) => response,
    }
}

/// "Add number" (and "Send a new code", which posts the same number again).
pub async fn sms_start<J: OnJourney>(
    ctx: Ctx,
    State(state): State<AppState>,
    Posted(form): Posted<CodeOnly>,
) -> Response {
    let caller = match caller(&ctx, &state, J::JOURNEY).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let phone = form.phone.trim();
    match me::start_sms(&state, &caller, phone, None, &ctx.meta).await {
        Ok(sent) => {
            let step = SmsStep { phone, phone_hint: Some(sent.phone_hint), error: None, form_error: None };
            sms_render(&ctx, &caller, J::JOURNEY, StatusCode::OK, step)
        }
        Err(Refusal::StepUpRequired) => confirm_first(&ctx, "enable_sms"),
        Err(e @ Refusal::InvalidPhone) => {
            let step = SmsStep { phone, phone_hint: None, error: Some(i18n::error(ctx.lang, &e)), form_error: None };
            sms_render(&ctx, &caller, J::JOURNEY, e.status(), step)
        }
        Err(e @ (Refusal::SmsRateLimited { .. } | Refusal::SmsDeliveryFailed)) => {
            // A resend that came too early keeps the code form: the earlier code still works.
            let phone_hint = PhoneNumber::parse(phone).ok().map(|p| p.hint());
            let step = SmsStep { phone, phone_hint, error: None, form_error: Some(i18n::error(ctx.lang, &e)) };
            sms_render(&ctx, &caller, J::JOURNEY, e.status(), step)
        }
        Err(e) => journey_start(&ctx, &state, &caller, J::JOURNEY, &e).await,
    }
}

/// "Verify and enable" on text messages.
pub async fn sms_confirm<J: OnJourney>(
    ctx: Ctx,
    State(state): State<AppState>,
    Posted(form): Posted<CodeOnly>,
) -> Response {
    let caller = match caller(&ctx, &state, J::JOURNEY).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    match me::confirm(&state, &caller, MethodKind::Sms, &form.code, &ctx.meta).await {
        Ok(confirmed) => finish(&ctx, &state, &caller, J::JOURNEY, confirmed).await,
        Err(e) if is_dead(&e) => start_over(&ctx, &e),
        Err(e @ (Refusal::InvalidCode { .. } | Refusal::TwoStepLocked { .. })) => {
            let phone_hint = PhoneNumber::parse(&form.phone).ok().map(|p| p.hint());
            let message = Some(i18n::error(ctx.lang, &e));
            let (error, form_error) =
                if matches!(e, Refusal::InvalidCode { .. }) { (message, None) } else { (None, message) };
            let step = SmsStep { phone: form.phone.trim(), phone_hint, error, form_error };
            sms_render(&ctx, &caller, J::JOURNEY, e.status(), step)
        }
        Err(e) => journey_start(&ctx, &state, &caller, J::JOURNEY, &e).await,
    }
}

/// After a method is confirmed: the recovery codes when it was the first one, and the
/// session when it completed a sign-in.
async fn finish(ctx: &Ctx, state: &AppState, caller: &Caller, journey: Journey, confirmed: Confirmed) -> Response {
    let mut cookies = Vec::new();
    if let Some(session) = &confirmed.session {
        cookies.push(session_cookie(ctx, state, &session.token));
        cookies.push(ctx.clear_cookie(ctx::FLOW));
    }
    let next = if journey.enrolling() { "/" } else { "/settings/security" };
    match confirmed.recovery_codes {
        Some(codes) => {
            let mut response = codes_render(ctx, state, caller, &codes, next).await;
            for c in &cookies {
                ctx::add_cookie(&mut response, c);
            }
            response
        }
        None => {
            cookies.push(ctx.flash_cookie("method_enabled", None));
            ctx.redirect(next, &cookies)
        }
    }
}

/// A `data:` URL of the codes as a text file, so "Download" needs no second request
/// (the codes are never stored in clear to serve one).
fn download_url(header: &str, codes: &[String]) -> String {
    let text = format!("{header}\n\n{}\n", codes.join("\n"));
    let mut url = String::from("data:text/plain;charset=utf-8,");
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

async fn codes_render(ctx: &Ctx, state: &AppState, caller: &Caller, codes: &[String], next: &str) -> Response {
    let (user, org) = match Member::load(state, caller.account_id()).await {
        Ok(s) => (s.account.username, s.org.slug),
        Err(e) => return error_page(ctx, &e),
    };
    let header = i18n::table(ctx.lang).get("recovery_file").replace("{user}", &user).replace("{org}", &org);
    ctx.page(
        StatusCode::OK,
        "recovery_codes.html",
        context! { me => me_of(caller), codes, next, download => download_url(&header, codes) },
    )
}

/// The settings page, optionally with a refusal at the top.
async fn settings_render(
    ctx: &Ctx,
    state: &AppState,
    session: &twostep_core::store::SessionView,
    status: StatusCode,
    form_error: Option<String>,
) -> Response {
    settings_render_with(ctx, state, session, status, form_error, super::setup::password_card(None, Vec::new())).await
}

async fn settings_render_with(
    ctx: &Ctx,
    state: &AppState,
    session: &twostep_core::store::SessionView,
    status: StatusCode,
    form_error: Option<String>,
    password: Value,
) -> Response {
    let caller = Caller::Session(session.clone());
    let (unavailable, required, methods, remaining, named) = match me::overview(state, &caller).await {
        Ok(o) => {
            let methods: Vec<Value> = ["totp", "sms"]
                .iter()
                .map(|kind| {
                    let m = o.methods.iter().find(|m| m.kind == *kind);
                    context! {
                        kind,
                        enabled_at => m.map(|m| when(m.enabled_at)),
                        phone_hint => m.and_then(|m| m.phone_hint.clone()),
                    }
                })
                .collect();
            let words = i18n::table(ctx.lang);
            let named: Vec<Value> = o
                .methods
                .iter()
                .map(|m| {
                    context! {
                        id => m.id,
                        kind => m.kind,
                        name => &m.name,
                        type_label => words.get(&format!("method_{}", m.kind)),
                        created_at => when(m.created_at),
                        last_used_at => m.last_used_at.map(when),
                    }
                })
                .collect();
            (None, o.required, methods, o.recovery_codes_remaining, named)
        }
        Err(e @ (Refusal::TwoStepDisabled | Refusal::TwoStepNotAvailable)) => {
            (Some(i18n::error(ctx.lang, &e)), false, Vec::new(), 0, Vec::new())
        }
        Err(e) => return error_page(ctx, &e),
    };
    let any_method = methods.iter().any(|m| m.get_attr("enabled_at").is_ok_and(|v| !v.is_none()));
    let sessions = match state.store.sessions_of_account(session.account_id, state.now()).await {
        Ok(list) => list
            .iter()
            .map(|s| {
                context! {
                    id => s.id,
                    client => &s.client,
                    current => s.id == session.id,
                    two_step_verified => s.two_step_verified,
                    created_at => when(s.created_at),
                    last_seen_at => when(s.last_seen_at),
                    ip => &s.ip,
                }
            })
            .collect::<Vec<_>>(),
        Err(e) => return error_page(ctx, &Refusal::from(e)),
    };
    let access_code_required =
        state.store.account_by_id(session.account_id).await.map(|a| a.access_code_required).unwrap_or(false);
    let devices = match state.store.devices(session.account_id, state.now()).await {
        Ok(list) => list
            .iter()
            .map(|d| {
                context! {
                    id => d.id,
                    user_agent => &d.user_agent,
                    last_used_at => when(d.last_used_at),
                    expires_at => when(d.expires_at),
                }
            })
            .collect::<Vec<_>>(),
        Err(e) => return error_page(ctx, &Refusal::from(e)),
    };
    ctx.page(
        status,
        "settings.html",
        context! {
            access_code_required,
            me => me(session),
            unavailable,
            required,
            methods,
            named,
            keys_available => state.webauthn.is_some(),
            any_method,
            recovery_codes_remaining => remaining.to_string(),
            sessions,
            devices,
            form_error,
            password,
        },
    )
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct PasswordForm {
    csrf: String,
    current_password: String,
    new_password: String,
    confirm: String,
}

impl super::ctx::CsrfForm for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// "Change password" (SPEC §12): every other session ends.
pub async fn change_password(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), SignedIn(session)): BodyThen<Posted<PasswordForm>, SignedIn>,
) -> Response {
    if form.new_password != form.confirm {
        let message = i18n::table(ctx.lang).get("passwords_differ").to_owned();
        let card = super::setup::password_card(Some(message), Vec::new());
        return settings_render_with(&ctx, &state, &session, StatusCode::UNPROCESSABLE_ENTITY, None, card).await;
    }
    let result = crate::service::users::change_own_password(
        &state,
        &session,
        twostep_core::domain::Password::new(form.current_password),
        twostep_core::domain::Password::new(form.new_password),
        &ctx.meta,
    )
    .await;
    match result {
        Ok(()) => ctx.redirect("/settings/security", &[ctx.flash_cookie("password_changed", None)]),
        Err(Refusal::StepUpRequired) => confirm_first(&ctx, ""),
        Err(e) => {
            let card =
                super::setup::password_card(Some(i18n::error(ctx.lang, &e)), super::setup::weak_reasons(&ctx, &e));
            settings_render_with(&ctx, &state, &session, e.status(), None, card).await
        }
    }
}

pub async fn settings_page(ctx: Ctx, State(state): State<AppState>, SignedIn(session): SignedIn) -> Response {
    settings_render(&ctx, &state, &session, StatusCode::OK, None).await
}

/// What the user was doing when the service asked them to confirm it's them; it is
/// carried through the confirmation and done right after.
const THEN: &[&str] =
    &["disable_totp", "disable_sms", "recovery_codes", "enable_totp", "enable_sms", "admin", "authorize"];

/// "Confirm it's you", then back to `then` (one of [`THEN`]).
pub(super) fn confirm_first(ctx: &Ctx, then: &str) -> Response {
    ctx.redirect(&format!("/settings/security/confirm?then={then}"), &[])
}

pub async fn disable(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(kind): Path<String>,
    BodyThen(Posted(_), SignedIn(session)): BodyThen<Posted<Plain>, SignedIn>,
) -> Response {
    let Some(kind) = MethodKind::parse(&kind) else {
        return error_page(&ctx, &Refusal::NotFound("method".into()));
    };
    do_disable(&ctx, &state, &session, kind).await
}

async fn do_disable(
    ctx: &Ctx,
    state: &AppState,
    session: &twostep_core::store::SessionView,
    kind: MethodKind,
) -> Response {
    match me::disable(state, &Caller::Session(session.clone()), kind, &ctx.meta).await {
        Ok(()) => ctx.redirect("/settings/security", &[ctx.flash_cookie("method_disabled", None)]),
        Err(Refusal::StepUpRequired) => confirm_first(ctx, &format!("disable_{}", kind.as_str())),
        Err(e) => settings_render(ctx, state, session, e.status(), Some(i18n::error(ctx.lang, &e))).await,
    }
}

pub async fn recovery_codes(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(_), SignedIn(session)): BodyThen<Posted<Plain>, SignedIn>,
) -> Response {
    do_regenerate(&ctx, &state, &session).await
}

async fn do_regenerate(ctx: &Ctx, state: &AppState, session: &twostep_core::store::SessionView) -> Response {
    let caller = Caller::Session(session.clone());
    match me::regenerate_recovery_codes(state, &caller, &ctx.meta).await {
        Ok(codes) => codes_render(ctx, state, &caller, &codes, "/settings/security").await,
        Err(Refusal::StepUpRequired) => confirm_first(ctx, "recovery_codes"),
        Err(e) => settings_render(ctx, state, session, e.status(), Some(i18n::error(ctx.lang, &e))).await,
    }
}

/// "Sign out" on one of the user's own sessions.
pub async fn end_session(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    BodyThen(Posted(_), SignedIn(session)): BodyThen<Posted<Plain>, SignedIn>,
) -> Response {
    let own = match state.store.sessions_of_account(session.account_id, state.now()).await {
        Ok(own) => own,
        Err(e) => return error_page(&ctx, &Refusal::from(e)),
    };
    let Some(target) = own.into_iter().find(|s| s.id == id) else {
        return error_page(&ctx, &Refusal::NotFound("session".into()));
    };
    if let Err(e) = auth::logout(&state, &target, &ctx.meta).await {
        return error_page(&ctx, &e);
    }
    if target.id == session.id {
        return ctx.redirect("/login", &[ctx.clear_cookie(ctx::SESSION), ctx.flash_cookie("signed_out", None)]);
    }
    ctx.redirect("/settings/security", &[ctx.flash_cookie("session_ended", None)])
}

fn then_of(raw: Option<&str>) -> &'static str {
    raw.and_then(|t| THEN.iter().copied().find(|x| *x == t)).unwrap_or("")
}

fn step_up_render(
    ctx: &Ctx,
    session: &twostep_core::store::SessionView,
    status: StatusCode,
    page: CodePage<'_>,
    then: &str,
) -> Response {
    ctx.page(status, "step_up.html", context! { me => me(session), then, ..page.context(ctx) })
}

/// "Confirm it's you".
pub async fn step_up_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Query(q): Query<MethodQuery>,
    SignedIn(session): SignedIn,
) -> Response {
    let offers = match auth::method_offers(&state, session.account_id).await {
        Ok(o) => o,
        Err(e) => return error_page(&ctx, &e),
    };
    if offers.is_empty() {
        // Nothing to confirm with: the action itself will say what is missing.
        return ctx.redirect("/settings/security", &[]);
    }
    let page = CodePage { offers: &offers, chosen: q.method.as_deref(), error: None, form_error: None };
    step_up_render(&ctx, &session, StatusCode::OK, page, then_of(q.then.as_deref()))
}

pub async fn step_up_submit(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), SignedIn(session)): BodyThen<Posted<CodeForm>, SignedIn>,
) -> Response {
    let caller = Caller::Session(session.clone());
    let then = then_of(Some(&form.then));
    let credential = form.credential();
    let result = match form.proof(&credential) {
        Ok(proof) => me::step_up(&state, &caller, proof, &ctx.meta).await,
        Err(e) => Err(e),
    };
    let e = match result {
        Ok(_) => {
            // The session is now stepped up: read it again (the check looks at when it last
            // passed a second step), then do what was asked.
            let session = match signed_in(&ctx, &state).await {
                Ok(s) => s,
                Err(response) => return response,
            };
            let caller = Caller::Session(session.clone());
            return match then {
                "disable_totp" => do_disable(&ctx, &state, &session, MethodKind::Totp).await,
                "disable_sms" => do_disable(&ctx, &state, &session, MethodKind::Sms).await,
                "recovery_codes" => do_regenerate(&ctx, &state, &session).await,
                "enable_totp" => match me::start_totp(&state, &caller, None, &ctx.meta).await {
                    Ok(t) => totp_render(&ctx, &caller, Journey::Settings, StatusCode::OK, &t.secret, &t.qr_png, None),
                    Err(e) => {
                        settings_render(&ctx, &state, &session, e.status(), Some(i18n::error(ctx.lang, &e))).await
                    }
                },
                "enable_sms" => ctx.redirect("/settings/security/sms", &[ctx.flash_cookie("confirmed", None)]),
                // An administrator re-confirming (SPEC §11.3) goes back to the card to act.
                "admin" => ctx.redirect("/admin/security", &[ctx.flash_cookie("admin_confirmed", None)]),
                // An app asked for a second step (`acr_values`): back to its sign-in.
                "authorize" => ctx.redirect("/oauth2/authorize/resume", &[]),
                _ => ctx.redirect("/settings/security", &[ctx.flash_cookie("confirmed", None)]),
            };
        }
        Err(e) => e,
    };
    let offers = match auth::method_offers(&state, session.account_id).await {
        Ok(o) => o,
        Err(e) => return error_page(&ctx, &e),
    };
    let message = i18n::error(ctx.lang, &e);
    let (error, form_error) =
        if matches!(e, Refusal::InvalidCode { .. }) { (Some(message), None) } else { (None, Some(message)) };
    let page = CodePage { offers: &offers, chosen: Some(&form.method), error, form_error };
    step_up_render(&ctx, &session, e.status(), page, then)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ThenForm {
    csrf: String,
    then: String,
}

impl CsrfForm for ThenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// "Send code" while confirming it's you.
pub async fn step_up_sms(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), SignedIn(session)): BodyThen<Posted<ThenForm>, SignedIn>,
) -> Response {
    let then = then_of(Some(&form.then));
    match me::send_step_up_sms(&state, &Caller::Session(session.clone()), &ctx.meta).await {
        Ok(_) => ctx.redirect(
            &format!("/settings/security/confirm?method=sms&then={then}"),
            &[ctx.flash_cookie("sms_sent", None)],
        ),
        Err(e) => {
            let offers = match auth::method_offers(&state, session.account_id).await {
                Ok(o) => o,
                Err(e) => return error_page(&ctx, &e),
            };
            let message = Some(i18n::error(ctx.lang, &e));
            let page = CodePage { offers: &offers, chosen: Some("sms"), error: None, form_error: message };
            step_up_render(&ctx, &session, e.status(), page, then)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_shown_in_groups_of_four() {
        assert_eq!(grouped("JBSWY3DPEHPK3PXPAB"), "JBSW Y3DP EHPK 3PXP AB");
    }

    #[test]
    fn the_download_link_is_a_percent_encoded_text_file() {
        let url = download_url("Codes for ana", &["abcde-fghjk".into(), "23456-789ab".into()]);
        assert_eq!(url, "data:text/plain;charset=utf-8,Codes%20for%20ana%0A%0Aabcde-fghjk%0A23456-789ab%0A");
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
pub struct AccessCodeForm {
    csrf: String,
    code: String,
}

impl super::ctx::CsrfForm for AccessCodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The access code after an admin reset, for a user who signed in with the password
/// alone (2SV optional for them): it lets them set up a method again (SPEC §12).
pub async fn access_code(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), SignedIn(session)): BodyThen<Posted<AccessCodeForm>, SignedIn>,
) -> Response {
    let Some(token) = ctx.session_token() else {
        return ctx.redirect("/login", &[]);
    };
    match crate::service::users::present_access_code(&state, token, &form.code, &ctx.meta).await {
        Ok(()) => ctx.redirect("/settings/security", &[ctx.flash_cookie("saved", None)]),
        Err(e) => settings_render(&ctx, &state, &session, e.status(), Some(i18n::error(ctx.lang, &e))).await,
    }
}

/// "Forget" on a remembered device (SPEC §14): its next sign-in asks for a second step.
pub async fn forget_device(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    BodyThen(Posted(_), SignedIn(session)): BodyThen<Posted<Plain>, SignedIn>,
) -> Response {
    match state.store.forget_device(session.account_id, id).await {
        Ok(_) => ctx.redirect("/settings/security", &[ctx.flash_cookie("device_forgotten", None)]),
        Err(e) => error_page(&ctx, &Refusal::from(e)),
    }
}

/// A method being added by name, and for a key the authenticator's answer (put in the
/// form by `webauthn.js`, SPEC §14).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct KeyForm {
    csrf: String,
    name: String,
    challenge_id: String,
    credential: String,
}

impl CsrfForm for KeyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl KeyForm {
    fn name(&self) -> Option<&str> {
        Some(self.name.trim()).filter(|n| !n.is_empty())
    }
}

/// `webauthn.js` asks here for the options of a key being registered; the answer is
/// JSON, an error in the API's shape.
pub async fn key_options<J: OnJourney>(
    ctx: Ctx,
    State(state): State<AppState>,
    Posted(form): Posted<KeyForm>,
) -> Response {
    let caller = match caller(&ctx, &state, J::JOURNEY).await {
        Ok(c) => c,
        Err(_) => return Refusal::SessionInvalid.into_response(),
    };
    match crate::service::webauthn::begin_registration(&state, &caller, form.name(), &ctx.meta).await {
        Ok(begun) => axum::Json(crate::api::me::Begun::from(begun)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The key's answer: it is enabled as the named method.
pub async fn key_confirm<J: OnJourney>(
    ctx: Ctx,
    State(state): State<AppState>,
    Posted(form): Posted<KeyForm>,
) -> Response {
    let caller = match caller(&ctx, &state, J::JOURNEY).await {
        Ok(c) => c,
        Err(response) => return response,
    };
    let credential: serde_json::Value = serde_json::from_str(&form.credential).unwrap_or_default();
    let confirmed = crate::service::webauthn::confirm_registration(
        &state,
        &caller,
        &form.challenge_id,
        form.name(),
        &credential,
        &ctx.meta,
    )
    .await;
    match confirmed {
        Ok(confirmed) => finish(&ctx, &state, &caller, J::JOURNEY, confirmed).await,
        Err(Refusal::StepUpRequired) => confirm_first(&ctx, ""),
        Err(e) => journey_start(&ctx, &state, &caller, J::JOURNEY, &e).await,
    }
}

/// "Remove" beside one named method (SPEC §14).
pub async fn remove_method(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    BodyThen(Posted(_), SignedIn(session)): BodyThen<Posted<Plain>, SignedIn>,
) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error_page(&ctx, &Refusal::NotFound("method".into()));
    };
    match me::remove(&state, &Caller::Session(session.clone()), id, &ctx.meta).await {
        Ok(()) => ctx.redirect("/settings/security", &[ctx.flash_cookie("method_disabled", None)]),
        Err(Refusal::StepUpRequired) => confirm_first(&ctx, ""),
        Err(e) => settings_render(&ctx, &state, &session, e.status(), Some(i18n::error(ctx.lang, &e))).await,
    }
}

/// `webauthn.js` asks here for the options of "Confirm it's you" with a key.
pub async fn step_up_key(ctx: Ctx, State(state): State<AppState>, Posted(_): Posted<Plain>) -> Response {
    let session = match signed_in(&ctx, &state).await {
        Ok(s) => s,
        Err(_) => return Refusal::SessionInvalid.into_response(),
    };
    match crate::service::webauthn::begin_step_up(&state, &Caller::Session(session)).await {
        Ok(begun) => axum::Json(crate::api::me::Begun::from(begun)).into_response(),
        Err(e) => e.into_response(),
    }
}
