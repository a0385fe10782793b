//! Security and compliance (`/admin/security`): the 2-Step Verification card, the
//! enrollment report with "Reset 2SV", and the recent audit events.

use super::callers::SignedInAdmin;
use super::ctx::{CsrfForm, Plain, Posted};
use super::{Ctx, error_page, i18n, me, when};
use crate::api::error::Status as _;
use crate::extract::BodyThen;
use crate::service::Refusal;
use crate::service::admin::{self, Admin, TwoStepState};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use minijinja::{Value, context};
use serde::Deserialize;
use twostep_core::store::SessionView;

async fn render(
    ctx: &Ctx,
    state: &AppState,
    session: &SessionView,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    render_with(ctx, state, session, status, error, None).await
}

/// The card, with a just-registered app (its secret shown this once) when there is one.
async fn render_with(
    ctx: &Ctx,
    state: &AppState,
    session: &SessionView,
    status: StatusCode,
    error: Option<String>,
    new_app: Option<Value>,
) -> Response {
    let Ok(admin) = Admin::check(session.clone()) else {
        return error_page(ctx, &Refusal::Forbidden);
    };
    let s: TwoStepState = match admin::state_of(state, &admin).await {
        Ok(s) => s,
        Err(e) => return error_page(ctx, &e),
    };
    let users: Vec<Value> = match admin::users(state, &admin).await {
        Ok(rows) => rows
            .into_iter()
            .map(|u| {
                context! {
                    username => u.username,
                    profile => u.profile,
                    kind => u.kind,
                    required => u.required,
                    methods => u.methods,
                    last_two_step_at => u.last_two_step_at.map(when),
                }
            })
            .collect(),
        Err(e) => return error_page(ctx, &e),
    };
    let events: Vec<Value> = match admin::audit_events(state, &admin, Some(20), None).await {
        Ok(events) => events
            .into_iter()
            .map(|e| {
                context! { at => when(e.at), kind => e.kind, actor => e.actor, subject => e.subject, outcome => e.outcome }
            })
            .collect(),
        Err(e) => return error_page(ctx, &e),
    };
    let apps: Vec<Value> = match crate::service::oauth::list(state, &admin).await {
        Ok(apps) => apps
            .into_iter()
            .map(|a| {
                context! {
                    slug => a.slug,
                    name => a.name,
                    client_id => a.client_id,
                    type => a.kind,
                    two_step => a.two_step,
                    redirect_uris => a.redirect_uris,
                }
            })
            .collect(),
        Err(e) => return error_page(ctx, &e),
    };
    ctx.page(status, "admin.html", context! { me => me(session), s, users, events, apps, new_app, form_error => error })
}

pub async fn page(ctx: Ctx, State(state): State<AppState>, SignedInAdmin(session, _): SignedInAdmin) -> Response {
    render(&ctx, &state, &session, StatusCode::OK, None).await
}

/// Runs one administrative change, then back to the card (PRG), or the card with the
/// refusal at the top.
async fn change<F>(ctx: Ctx, state: AppState, who: SignedInAdmin, flash: &str, act: F) -> Response
where
    F: AsyncFnOnce(&AppState, &Admin, &Ctx) -> Result<(), Refusal>,
{
    let SignedInAdmin(session, admin) = who;
    match act(&state, &admin, &ctx).await {
        Ok(()) => ctx.redirect("/admin/security", &[ctx.flash_cookie(flash, None)]),
        // SPEC §11.3: confirm it's you, then back here to do it.
        Err(Refusal::StepUpRequired) => super::account::confirm_first(&ctx, "admin"),
        Err(e) => render(&ctx, &state, &session, e.status(), Some(i18n::error(ctx.lang, &e))).await,
    }
}

pub async fn connect(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, "saved", async |state, admin, ctx| admin::connect(state, admin, &ctx.meta).await.map(drop))
        .await
}

pub async fn enable(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, "saved", async |state, admin, ctx| {
        admin::set_enabled(state, admin, true, &ctx.meta).await.map(drop)
    })
    .await
}

pub async fn disable(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, "saved", async |state, admin, ctx| {
        admin::set_enabled(state, admin, false, &ctx.meta).await.map(drop)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MandatoryForm {
    csrf: String,
    mandatory: String,
}

impl CsrfForm for MandatoryForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl MandatoryForm {
    fn mandatory(&self) -> bool {
        self.mandatory == "true"
    }
}

pub async fn organization(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), who): BodyThen<Posted<MandatoryForm>, SignedInAdmin>,
) -> Response {
    let mandatory = form.mandatory();
    change(ctx, state, who, "saved", async move |state, admin, ctx| {
        admin::set_organization_mandatory(state, admin, mandatory, &ctx.meta).await.map(drop)
    })
    .await
}

pub async fn profile(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(slug): Path<String>,
    BodyThen(Posted(form), who): BodyThen<Posted<MandatoryForm>, SignedInAdmin>,
) -> Response {
    let mandatory = form.mandatory();
    change(ctx, state, who, "saved", async move |state, admin, ctx| {
        admin::set_profile_mandatory(state, admin, &slug, mandatory, &ctx.meta).await.map(drop)
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DaysForm {
    csrf: String,
    days: String,
}

impl CsrfForm for DaysForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The enrollment period and remember-this-device settings (SPEC §14); a longer time
/// asks the admin to confirm it's them first.
async fn set_days(
    ctx: Ctx,
    state: AppState,
    who: SignedInAdmin,
    setting: admin::DaySetting,
    form: DaysForm,
) -> Response {
    // Not a number: the service's range check answers with its message.
    let days = form.days.trim().parse::<i64>().unwrap_or(-1);
    change(ctx, state, who, "saved", async move |state, admin, ctx| {
        admin::set_days(state, admin, setting, days, &ctx.meta).await.map(drop)
    })
    .await
}

pub async fn enrollment_period(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), who): BodyThen<Posted<DaysForm>, SignedInAdmin>,
) -> Response {
    set_days(ctx, state, who, admin::DaySetting::EnrollmentPeriod, form).await
}

pub async fn remember_device(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), who): BodyThen<Posted<DaysForm>, SignedInAdmin>,
) -> Response {
    set_days(ctx, state, who, admin::DaySetting::RememberDevice, form).await
}

/// "Reset 2SV" asks first: it signs the user out everywhere.
pub async fn reset_page(ctx: Ctx, Path(username): Path<String>, SignedInAdmin(session, _): SignedInAdmin) -> Response {
    ctx.page(StatusCode::OK, "admin_reset.html", context! { me => me(&session), username })
}

pub async fn reset(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, "reset_done", async move |state, admin, ctx| {
        admin::reset_user(state, admin, &username, &ctx.meta).await
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct AppForm {
    csrf: String,
    slug: String,
    name: String,
    redirect_uris: String,
    public: Option<String>,
    no_two_step: Option<String>,
}

impl CsrfForm for AppForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// "Register an app": the card again, with the client secret shown this once (the
/// answer to the POST, so the secret never sits behind a URL).
pub async fn app_create(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), SignedInAdmin(session, admin)): BodyThen<Posted<AppForm>, SignedInAdmin>,
) -> Response {
    let input = crate::service::oauth::AppInput {
        slug: form.slug.trim().to_owned(),
        name: form.name,
        redirect_uris: form.redirect_uris.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
        public: form.public.is_some(),
        two_step: form.no_two_step.is_none(),
    };
    match crate::service::oauth::create(&state, &admin, input, &ctx.meta).await {
        Ok(registered) => {
            let new_app = context! {
                name => registered.app.name,
                client_id => registered.app.client_id,
                client_secret => registered.client_secret,
            };
            render_with(&ctx, &state, &session, StatusCode::OK, None, Some(new_app)).await
        }
        Err(e) => render(&ctx, &state, &session, e.status(), Some(i18n::error(ctx.lang, &e))).await,
    }
}

pub async fn app_delete(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, "saved", async move |state, admin, ctx| {
        crate::service::oauth::delete(state, admin, &client_id, &ctx.meta).await
    })
    .await
}

pub async fn app_secret(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    BodyThen(Posted(_), SignedInAdmin(session, admin)): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    match crate::service::oauth::new_secret(&state, &admin, &client_id, &ctx.meta).await {
        Ok(secret) => {
            let name = crate::service::oauth::list(&state, &admin)
                .await
                .ok()
                .and_then(|apps| apps.into_iter().find(|a| a.client_id == client_id).map(|a| a.name))
                .unwrap_or_default();
            let new_app = context! { name, client_id, client_secret => secret };
            render_with(&ctx, &state, &session, StatusCode::OK, None, Some(new_app)).await
        }
        Err(e) => render(&ctx, &state, &session, e.status(), Some(i18n::error(ctx.lang, &e))).await,
    }
}
