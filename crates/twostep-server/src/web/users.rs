//! User management for administrators (`/admin/users`, SPEC §12): search, filters and
//! paging, create (the setup link is shown once, as the answer to the POST), edit,
//! disable/enable, delete, password reset, access code, reset 2SV, and the enrollment
//! report as CSV. Every rule is in `service::users`; weakening actions re-confirm there.

use super::callers::SignedInAdmin;
use super::ctx::{CsrfForm, Plain, Posted};
use super::{Ctx, error_page, i18n, me, when};
use crate::api::error::Status as _;
use crate::extract::BodyThen;
use crate::service::Refusal;
use crate::service::admin::{self, Admin};
use crate::service::rfc3339;
use crate::service::users::{self, CreateInput, ListInput, UpdateInput, UserInfo};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use twostep_core::store::SessionView;

fn row(u: &UserInfo) -> Value {
    context! {
        username => &u.username,
        display_name => &u.display_name,
        email => &u.email,
        kind => u.kind,
        profile => &u.profile,
        disabled => u.disabled,
        required => u.required,
        methods => &u.methods,
        access_code_required => u.access_code_required,
        last_sign_in_at => u.last_sign_in_at.map(when),
    }
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ListQuery {
    query: String,
    profile: String,
    two_step: String,
    after: String,
}

fn some(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

async fn profiles(state: &AppState, admin: &Admin) -> Vec<Value> {
    match admin::state_of(state, admin).await {
        Ok(s) => s.profiles.into_iter().map(|p| context! { slug => p.slug, name => p.name }).collect(),
        Err(_) => Vec::new(),
    }
}

/// The list with its filters; `created` is a just-created user's setup link.
async fn list_render(
    ctx: &Ctx,
    state: &AppState,
    session: &SessionView,
    q: &ListQuery,
    status: StatusCode,
    form_error: Option<String>,
) -> Response {
    let Ok(admin) = Admin::check(session.clone()) else {
        return error_page(ctx, &Refusal::Forbidden);
    };
    let input = ListInput {
        query: some(&q.query),
        profile: some(&q.profile),
        two_step: some(&q.two_step),
        limit: Some(25),
        after: some(&q.after),
    };
    let (rows, next) = match users::list(state, &admin, input).await {
        Ok(page) => page,
        Err(e) => return error_page(ctx, &e),
    };
    let users: Vec<Value> = rows.iter().map(row).collect();
    let next_url = next.map(|n| {
        let mut url = url::Url::parse("http://x/admin/users").ok();
        if let Some(u) = url.as_mut() {
            u.query_pairs_mut()
                .append_pair("query", &q.query)
                .append_pair("profile", &q.profile)
                .append_pair("two_step", &q.two_step)
                .append_pair("after", &n);
        }
        url.map(|u| format!("/admin/users?{}", u.query().unwrap_or_default())).unwrap_or_default()
    });
    let profiles = profiles(state, &admin).await;
    ctx.page(
        status,
        "admin_users.html",
        context! {
            me => me(session), users, next_url, profiles, form_error,
            query => &q.query, profile => &q.profile, two_step => &q.two_step,
        },
    )
}

pub async fn list_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    SignedInAdmin(session, _): SignedInAdmin,
) -> Response {
    list_render(&ctx, &state, &session, &q, StatusCode::OK, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CreateForm {
    csrf: String,
    username: String,
    kind: String,
    profile: String,
    email: String,
    display_name: String,
}

impl CsrfForm for CreateForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A secret shown once (a setup link or an access code), with whose it is.
struct Shown<'a> {
    title: &'a str,
    username: &'a str,
    link: Option<&'a str>,
    code: Option<&'a str>,
    expires_at: twostep_core::Timestamp,
}

/// A page that shows a secret once: the answer to the POST that made it, never behind a
/// URL.
fn secret_page(ctx: &Ctx, session: &SessionView, status: StatusCode, shown: Shown<'_>) -> Response {
    let Shown { title, username, link, code, expires_at } = shown;
    ctx.page(
        status,
        "admin_secret.html",
        context! { me => me(session), title, username, link, code, expires_at => when(expires_at) },
    )
}

pub async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    BodyThen(Posted(form), SignedInAdmin(session, admin)): BodyThen<Posted<CreateForm>, SignedInAdmin>,
) -> Response {
    let contact = form.kind == "contact";
    let input = CreateInput {
        username: form.username.trim().to_owned(),
        kind: Some(if contact { "contact" } else { "user" }.to_owned()),
        profile: if contact { None } else { some(&form.profile) },
        email: some(&form.email),
        phone: None,
        display_name: some(&form.display_name),
    };
    match users::create(&state, &admin, input, &ctx.meta).await {
        Ok((user, link)) => {
            let t = i18n::table(ctx.lang);
            secret_page(
                &ctx,
                &session,
                StatusCode::CREATED,
                Shown {
                    title: t.get("user_created"),
                    username: &user.username,
                    link: Some(&link.url),
                    code: None,
                    expires_at: link.expires_at,
                },
            )
        }
        Err(e) => {
            let message = match e {
                Refusal::Conflict(_) => i18n::table(ctx.lang).get("username_taken").to_owned(),
                _ => i18n::error(ctx.lang, &e),
            };
            list_render(&ctx, &state, &session, &ListQuery::default(), e.status(), Some(message)).await
        }
    }
}

async fn user_render(
    ctx: &Ctx,
    state: &AppState,
    session: &SessionView,
    username: &str,
    status: StatusCode,
    form_error: Option<(String, bool)>,
) -> Response {
    let Ok(admin) = Admin::check(session.clone()) else {
        return error_page(ctx, &Refusal::Forbidden);
    };
    let account = match users::find(state, admin.org_id(), username).await {
        Ok(a) => a,
        Err(e) => return error_page(ctx, &e),
    };
    let query = ListInput { query: Some(account.username.clone()), limit: Some(500), ..ListInput::default() };
    let user = match users::list(state, &admin, query).await {
        Ok((rows, _)) => rows.into_iter().find(|u| u.username == account.username),
        Err(e) => return error_page(ctx, &e),
    };
    let Some(user) = user else {
        return error_page(ctx, &Refusal::NotFound("user".into()));
    };
    let profiles = profiles(state, &admin).await;
    let (form_error, step_up) = match form_error {
        Some((m, s)) => (Some(m), s),
        None => (None, false),
    };
    let own = account.id == admin.account_id();
    ctx.page(
        status,
        "admin_user.html",
        context! { me => me(session), user => row(&user), profiles, form_error, step_up, own },
    )
}

pub async fn user_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    SignedInAdmin(session, _): SignedInAdmin,
) -> Response {
    user_render(&ctx, &state, &session, &username, StatusCode::OK, None).await
}

/// Runs one change on a user, then back to the user's page (PRG), or the page with the
/// refusal at the top (and a way to re-confirm when that is what is missing).
async fn change<F>(ctx: Ctx, state: AppState, who: SignedInAdmin, username: String, flash: &str, act: F) -> Response
where
    F: AsyncFnOnce(&AppState, &Admin, &Ctx, &str) -> Result<Option<String>, Refusal>,
{
    let SignedInAdmin(session, admin) = who;
    match act(&state, &admin, &ctx, &username).await {
        Ok(Some(to)) => ctx.redirect(&to, &[ctx.flash_cookie(flash, None)]),
        Ok(None) => ctx.redirect(&format!("/admin/users/{}", segment(&username)), &[ctx.flash_cookie(flash, None)]),
        Err(e) => {
            let step_up = matches!(e, Refusal::StepUpRequired);
            let message = i18n::error(ctx.lang, &e);
            user_render(&ctx, &state, &session, &username, e.status(), Some((message, step_up))).await
        }
    }
}

fn segment(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>().replace('+', "%20")
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EditForm {
    csrf: String,
    display_name: String,
    email: String,
    profile: String,
}

impl CsrfForm for EditForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn edit(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    BodyThen(Posted(form), who): BodyThen<Posted<EditForm>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, username, "saved", async move |state, admin, ctx, username| {
        let input = UpdateInput {
            profile: some(&form.profile),
            email: Some(some(&form.email)),
            display_name: Some(form.display_name.trim().to_owned()),
            disabled: None,
        };
        users::update(state, admin, username, input, &ctx.meta).await.map(|_| None)
    })
    .await
}

pub async fn disable(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, username, "user_disabled", async |state, admin, ctx, username| {
        let input = UpdateInput { disabled: Some(true), ..UpdateInput::default() };
        users::update(state, admin, username, input, &ctx.meta).await.map(|_| None)
    })
    .await
}

pub async fn enable(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, username, "saved", async |state, admin, ctx, username| {
        let input = UpdateInput { disabled: Some(false), ..UpdateInput::default() };
        users::update(state, admin, username, input, &ctx.meta).await.map(|_| None)
    })
    .await
}

pub async fn delete(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, username, "user_deleted", async |state, admin, ctx, username| {
        users::delete(state, admin, username, &ctx.meta).await.map(|_| Some("/admin/users".to_owned()))
    })
    .await
}

pub async fn reset_two_step(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    change(ctx, state, who, username, "reset_done", async |state, admin, ctx, username| {
        admin::reset_user(state, admin, username, &ctx.meta).await.map(|_| None)
    })
    .await
}

/// Password reset and access code show their secret once, on the answer to the POST.
async fn issue(ctx: Ctx, state: AppState, who: SignedInAdmin, username: String, access_code: bool) -> Response {
    let SignedInAdmin(session, admin) = who;
    let t = i18n::table(ctx.lang);
    let result = if access_code {
        users::issue_access_code(&state, &admin, &username, &ctx.meta)
            .await
            .map(|c| (None, Some(c.access_code), c.expires_at))
    } else {
        users::password_reset(&state, &admin, &username, &ctx.meta).await.map(|l| (Some(l.url), None, l.expires_at))
    };
    match result {
        Ok((link, code, expires_at)) => {
            let title = t.get(if access_code { "access_code_issued" } else { "password_reset_done" });
            secret_page(
                &ctx,
                &session,
                StatusCode::OK,
                Shown { title, username: &username, link: link.as_deref(), code: code.as_deref(), expires_at },
            )
        }
        Err(e) => {
            let step_up = matches!(e, Refusal::StepUpRequired);
            let message = i18n::error(ctx.lang, &e);
            user_render(&ctx, &state, &session, &username, e.status(), Some((message, step_up))).await
        }
    }
}

pub async fn password_reset(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    issue(ctx, state, who, username, false).await
}

pub async fn access_code(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    BodyThen(Posted(_), who): BodyThen<Posted<Plain>, SignedInAdmin>,
) -> Response {
    issue(ctx, state, who, username, true).await
}

/// One CSV field (RFC 4180), with spreadsheet formulas defused (OWASP "CSV injection").
fn csv_field(value: &str) -> String {
    let value =
        if value.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

/// The enrollment report as CSV: every account of the organisation.
pub async fn csv(ctx: Ctx, State(state): State<AppState>, SignedInAdmin(_, admin): SignedInAdmin) -> Response {
    let mut out = String::from(
        "username,display_name,email,kind,profile,disabled,two_step_required,methods,waiting_for_access_code,last_sign_in_at,last_two_step_at\r\n",
    );
    let mut after = None;
    loop {
        let input = ListInput { limit: Some(500), after: after.clone(), ..ListInput::default() };
        let (rows, next) = match users::list(&state, &admin, input).await {
            Ok(page) => page,
            Err(e) => return error_page(&ctx, &e),
        };
        for u in &rows {
            let fields = [
                csv_field(&u.username),
                csv_field(&u.display_name),
                csv_field(u.email.as_deref().unwrap_or("")),
                u.kind.to_owned(),
                csv_field(u.profile.as_deref().unwrap_or("")),
                u.disabled.to_string(),
                u.required.to_string(),
                u.methods.join(" "),
                u.access_code_required.to_string(),
                u.last_sign_in_at.map(rfc3339).unwrap_or_default(),
                u.last_two_step_at.map(rfc3339).unwrap_or_default(),
            ];
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        match next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"enrollment-report.csv\""),
        ],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("ana"), "ana");
        assert_eq!(csv_field("Silva, Ana"), "\"Silva, Ana\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
    }
}
