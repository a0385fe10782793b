//! Signing in from the web: `/login`, `/login/two-step`, `/logout`, and the home page.

use super::ctx::{self, CsrfForm, Ctx, Plain, Posted};
use super::{error_page, i18n, me, signed_in};
use crate::api::error::Status as _;
use crate::service::Refusal;
use crate::service::auth::{self, LoginInput, LoginOutcome, MethodOffer};
use crate::service::codes::{CodeMethod, Proof};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use minijinja::context;
use serde::Deserialize;
use twostep_core::domain::Password;
use twostep_core::flow::{FLOW_TTL, FlowKind};

/// The cookie that keeps a remembered device's token (SPEC §14).
pub const DEVICE: &str = "twostep_device";

/// The web pages sign in as this client (SPEC §2).
const CLIENT: &str = "web";

pub fn session_cookie(ctx: &Ctx, state: &AppState, token: &str) -> String {
    ctx.set_cookie(ctx::SESSION, token, state.config.session_ttl.as_secs() as i64)
}

pub fn flow_cookie(ctx: &Ctx, token: &str) -> String {
    ctx.set_cookie(ctx::FLOW, token, FLOW_TTL)
}

/// Back to the sign-in form, saying why (an expired flow, a session that ended).
pub fn start_over(ctx: &Ctx, e: &Refusal) -> Response {
    match e {
        Refusal::FlowExpired
        | Refusal::SessionInvalid
        | Refusal::SessionRevoked
        | Refusal::InvalidCode { attempts_remaining: Some(0) } => {
            ctx.redirect("/login", &[ctx.clear_cookie(ctx::FLOW), ctx.flash_cookie("flow_expired", None)])
        }
        other => error_page(ctx, other),
    }
}

pub async fn home(ctx: Ctx, State(state): State<AppState>) -> Response {
    // Every sign-in ends here: an app's authorization request waiting for it goes on.
    if ctx.cookie(super::oauth::AUTHZ_COOKIE).is_some() {
        return ctx.redirect("/oauth2/authorize/resume", &[]);
    }
    // …and so does the app a reverse proxy sent here (`/login?rd=`), checked again.
    if let Some(rd) = ctx.cookie(super::forward::RETURN_COOKIE).map(str::to_owned)
        && signed_in(&ctx, &state).await.is_ok()
    {
        let clear = ctx.clear_cookie(super::forward::RETURN_COOKIE);
        return match super::forward::safe_return(&state, &rd) {
            Some(to) => ctx.continue_to(&to, &[clear]),
            None => ctx.redirect("/", &[clear]),
        };
    }
    match signed_in(&ctx, &state).await {
        Ok(session) => ctx.page(StatusCode::OK, "home.html", context! { me => me(&session) }),
        Err(response) => response,
    }
}

fn login_form(ctx: &Ctx, status: StatusCode, organization: &str, username: &str, error: Option<String>) -> Response {
    ctx.page(status, "login.html", context! { organization, username, error })
}

/// What an app's sign-in (`/oauth2/authorize`) puts in the address of the form.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    organization: Option<String>,
    username: Option<String>,
    /// `login`: show the form even to a signed-in browser (the app asked for a fresh
    /// sign-in, or for another account).
    prompt: Option<String>,
    /// Where a reverse proxy's app wants the browser back (forward authentication);
    /// honoured only under `forward_auth.allowed_domains`.
    rd: Option<String>,
}

pub async fn login_page(ctx: Ctx, State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Response {
    let fresh = q.prompt.as_deref() == Some("login");
    let rd = q.rd.as_deref().and_then(|rd| super::forward::safe_return(&state, rd));
    if !fresh
        && let Some(token) = ctx.session_token()
        && auth::authenticate(&state, token).await.is_ok()
    {
        return ctx.redirect(rd.as_deref().unwrap_or("/"), &[]);
    }
    let keep = rd.map(|rd| ctx.set_cookie(super::forward::RETURN_COOKIE, &rd, twostep_core::flow::FLOW_TTL));
    // The demo has one organisation: save its users typing it.
    let organization = q.organization.unwrap_or_else(|| if ctx.demo { "demo".into() } else { String::new() });
    let username = q.username.unwrap_or_default();
    let mut response = login_form(&ctx, StatusCode::OK, &organization, &username, None);
    if let Some(cookie) = keep {
        super::ctx::add_cookie(&mut response, &cookie);
    }
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    csrf: String,
    organization: String,
    username: String,
    password: String,
}

impl CsrfForm for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn login_submit(ctx: Ctx, State(state): State<AppState>, Posted(form): Posted<LoginForm>) -> Response {
    let input = LoginInput {
        organization: form.organization.clone(),
        username: form.username.clone(),
        password: Password::new(form.password),
        client: CLIENT.into(),
        // SPEC §14: this browser's remembered device, if any.
        device_token: ctx.cookie(DEVICE).map(str::to_owned),
    };
    match auth::login(&state, input, &ctx.meta).await {
        Ok(LoginOutcome::Authenticated { session } | LoginOutcome::Remembered { session }) => {
            ctx.redirect("/", &[session_cookie(&ctx, &state, &session.token), ctx.clear_cookie(ctx::FLOW)])
        }
        Ok(LoginOutcome::TwoStepRequired { flow, .. }) => {
            ctx.redirect("/login/two-step", &[flow_cookie(&ctx, &flow.token)])
        }
        Ok(LoginOutcome::EnrollmentRequired { flow, .. }) => {
            ctx.redirect("/login/enroll", &[flow_cookie(&ctx, &flow.token)])
        }
        Err(e) => {
            let message = i18n::error(ctx.lang, &e);
            login_form(&ctx, e.status(), &form.organization, &form.username, Some(message))
        }
    }
}

/// The code form of the second step (or of "confirm it's you"): the chosen method if
/// the user has it, else their first; the other methods as links.
pub struct CodePage<'a> {
    pub offers: &'a [MethodOffer],
    pub chosen: Option<&'a str>,
    /// The error of the code field.
    pub error: Option<String>,
    /// An error of the whole form (locked, SMS not sent…).
    pub form_error: Option<String>,
}

impl CodePage<'_> {
    pub fn context(&self, ctx: &Ctx) -> minijinja::Value {
        let kinds: Vec<&str> = self.offers.iter().map(|o| o.kind).collect();
        let method = self.chosen.filter(|c| kinds.contains(c)).or(kinds.first().copied()).unwrap_or("totp");
        let phone_hint =
            self.offers.iter().find(|o| o.kind == "sms").and_then(|o| o.phone_hint.clone()).unwrap_or_default();
        let others: Vec<&str> = kinds.iter().copied().filter(|k| *k != method).collect();
        context! {
            method,
            phone_hint,
            others,
            error => &self.error,
            form_error => &self.form_error,
            sent => ctx.flash_is("sms_sent"),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MethodQuery {
    pub method: Option<String>,
    pub then: Option<String>,
}

/// `remember_days`: the organisation remembers devices that long (SPEC §14); 0: off.
fn two_step_render(ctx: &Ctx, status: StatusCode, page: CodePage<'_>, remember_days: i64) -> Response {
    ctx.page(status, "two_step.html", context! { remember_days, ..page.context(ctx) })
}

/// The live two-step flow of this browser and what its user can offer.
/// …and how long its organisation remembers devices.
async fn flow_offers(ctx: &Ctx, state: &AppState) -> Result<(Vec<MethodOffer>, i64), Response> {
    let Some(token) = ctx.flow_token() else {
        return Err(start_over(ctx, &Refusal::FlowExpired));
    };
    let flow = auth::flow_for(state, token, FlowKind::TwoStep).await.map_err(|e| start_over(ctx, &e))?;
    let org = state.store.org_by_id(flow.org_id).await.map_err(|e| error_page(ctx, &e.into()))?;
    let offers = auth::method_offers(state, flow.account_id).await.map_err(|e| error_page(ctx, &e))?;
    Ok((offers, org.remember_device_days))
}

pub async fn two_step_page(ctx: Ctx, State(state): State<AppState>, Query(q): Query<MethodQuery>) -> Response {
    let (offers, remember_days) = match flow_offers(&ctx, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let page = CodePage { offers: &offers, chosen: q.method.as_deref(), error: None, form_error: None };
    two_step_render(&ctx, StatusCode::OK, page, remember_days)
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CodeForm {
    pub csrf: String,
    pub method: String,
    pub code: String,
    pub then: String,
    /// "Remember this device" (SPEC §14).
    pub remember_device: Option<String>,
    /// A security key's answer (SPEC §14), put here by `webauthn.js`.
    pub challenge_id: String,
    pub credential: String,
}

impl CodeForm {
    /// The key's answer as JSON (`Null` when there is none or it does not parse).
    pub fn credential(&self) -> serde_json::Value {
        serde_json::from_str(&self.credential).unwrap_or(serde_json::Value::Null)
    }

    /// What the form offers: a code, or a key's assertion (`credential` from
    /// [`CodeForm::credential`]).
    pub fn proof<'a>(&'a self, credential: &'a serde_json::Value) -> Result<Proof<'a>, Refusal> {
        match crate::api::login::code_method(&self.method)? {
            CodeMethod::Webauthn if credential.is_object() => {
                Ok(Proof::Key { challenge_id: &self.challenge_id, credential })
            }
            CodeMethod::Webauthn => {
                Err(Refusal::InvalidRequest("the security key's answer is missing: try again".into()))
            }
            method => Ok(Proof::Code(method, &self.code)),
        }
    }
}

/// `webauthn.js` asks here for the options of the sign-in flow's key (SPEC §14).
pub async fn two_step_key(ctx: Ctx, State(state): State<AppState>, Posted(_): Posted<Plain>) -> Response {
    let Some(token) = ctx.flow_token() else {
        return Refusal::FlowExpired.into_response();
    };
    match crate::service::webauthn::begin_sign_in(&state, token).await {
        Ok(begun) => axum::Json(crate::api::me::Begun::from(begun)).into_response(),
        Err(e) => e.into_response(),
    }
}

impl CsrfForm for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn two_step_submit(ctx: Ctx, State(state): State<AppState>, Posted(form): Posted<CodeForm>) -> Response {
    let Some(token) = ctx.flow_token() else {
        return start_over(&ctx, &Refusal::FlowExpired);
    };
    let credential = form.credential();
    let result = match form.proof(&credential) {
        Ok(proof) => auth::verify(&state, token, proof, form.remember_device.is_some(), &ctx.meta).await,
        Err(e) => Err(e),
    };
    let e = match result {
        Ok(verified) => {
            let mut cookies = vec![session_cookie(&ctx, &state, &verified.session.token), ctx.clear_cookie(ctx::FLOW)];
            if let Some(n) = verified.recovery_codes_remaining {
                cookies.push(ctx.flash_cookie("recovery_used", Some(n)));
            }
            // The server decides how long it is remembered; the cookie only carries it.
            if let Some(device) = &verified.device_token {
                cookies.push(ctx.set_cookie(DEVICE, device, 90 * 86_400));
            }
            return ctx.redirect("/", &cookies);
        }
        Err(e) => e,
    };
    if matches!(e, Refusal::FlowExpired | Refusal::InvalidCode { attempts_remaining: Some(0) }) {
        return start_over(&ctx, &e);
    }
    let (offers, remember_days) = match flow_offers(&ctx, &state).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let message = i18n::error(ctx.lang, &e);
    let (error, form_error) =
        if matches!(e, Refusal::InvalidCode { .. }) { (Some(message), None) } else { (None, Some(message)) };
    let page = CodePage { offers: &offers, chosen: Some(&form.method), error, form_error };
    two_step_render(&ctx, e.status(), page, remember_days)
}

/// "Send code": a text message to the enrolled number, for this flow.
pub async fn two_step_sms(ctx: Ctx, State(state): State<AppState>, Posted(_): Posted<Plain>) -> Response {
    let Some(token) = ctx.flow_token() else {
        return start_over(&ctx, &Refusal::FlowExpired);
    };
    match auth::send_sign_in_sms(&state, token, &ctx.meta).await {
        Ok(()) => ctx.redirect("/login/two-step?method=sms", &[ctx.flash_cookie("sms_sent", None)]),
        Err(e @ Refusal::FlowExpired) => start_over(&ctx, &e),
        Err(e) => {
            let (offers, remember_days) = match flow_offers(&ctx, &state).await {
                Ok(found) => found,
                Err(response) => return response,
            };
            let message = i18n::error(ctx.lang, &e);
            let page = CodePage { offers: &offers, chosen: Some("sms"), error: None, form_error: Some(message) };
            two_step_render(&ctx, e.status(), page, remember_days)
        }
    }
}

pub async fn logout(ctx: Ctx, State(state): State<AppState>, Posted(_): Posted<Plain>) -> Response {
    if let Some(token) = ctx.session_token()
        && let Ok(session) = auth::authenticate(&state, token).await
        && let Err(e) = auth::logout(&state, &session, &ctx.meta).await
    {
        return error_page(&ctx, &e);
    }
    ctx.redirect("/login", &[ctx.clear_cookie(ctx::SESSION), ctx.flash_cookie("signed_out", None)])
}
