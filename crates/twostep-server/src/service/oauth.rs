//! Apps signing in through Twostep (SPEC §13): the rules of the OpenID Connect
//! authorization code flow over the sign-in service. The HTTP faces (`oidc/`, the
//! admin API, the pages) map what these return.

use crate::oidc::keys;
use crate::service::admin::Admin;
use crate::service::audit::{self, Event};
use crate::service::{Member, Refusal, RequestMeta, ServiceResult, auth};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use twostep_core::Timestamp;
use twostep_core::crypto::Token;
use twostep_core::oauth::*;
use twostep_core::policy::{self, Requirement};
use twostep_core::store::SessionView;

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

// ---------------------------------------------------------------------------------
// Registered apps (admin API, CLI, the Apps card).

/// What an administrator or the operator registers.
pub struct AppInput {
    pub slug: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub public: bool,
    pub two_step: bool,
}

/// An app as shown: never its secret (only once, at creation or rotation).
#[derive(Debug)]
pub struct AppView {
    pub client_id: String,
    pub slug: String,
    pub name: String,
    /// `confidential` (has a client secret) or `public` (PKCE only).
    pub kind: &'static str,
    pub two_step: bool,
    pub redirect_uris: Vec<String>,
    pub created_at: Timestamp,
}

impl From<&App> for AppView {
    fn from(a: &App) -> Self {
        Self {
            client_id: a.client_id.clone(),
            slug: a.slug.clone(),
            name: a.name.clone(),
            kind: if a.is_public() { "public" } else { "confidential" },
            two_step: a.two_step,
            redirect_uris: a.redirect_uris.clone(),
            created_at: a.created_at,
        }
    }
}

#[derive(Debug)]
pub struct Registered {
    pub app: AppView,
    /// Shown once; only its hash is stored. `null` for a public app.
    pub client_secret: Option<String>,
}

/// Registers an app of organisation `org_id` (checked input; the secret shown once).
pub async fn register(state: &AppState, org_id: i64, input: AppInput) -> ServiceResult<Registered> {
    let slug = twostep_core::domain::ProfileSlug::parse(&input.slug)
        .map_err(|_| Refusal::InvalidRequest(format!("app slug {:?}: use a-z, 0-9 and -", input.slug)))?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Refusal::InvalidRequest("the app name must have 1 to 100 characters".into()));
    }
    if input.redirect_uris.is_empty() || input.redirect_uris.len() > 20 {
        return Err(Refusal::InvalidRequest("give 1 to 20 redirect URIs".into()));
    }
    for uri in &input.redirect_uris {
        if !valid_redirect_uri(uri) {
            return Err(Refusal::InvalidRequest(format!(
                "redirect URI {uri:?} is not allowed: use https (http only for localhost), no fragment"
            )));
        }
    }
    let secret = (!input.public).then(|| Token::generate().expose().to_owned());
    let app = state
        .store
        .create_app(NewApp {
            org_id,
            client_id: format!("{}-{}", slug.as_str(), &Token::generate().expose()[..12]),
            slug: slug.as_str().to_owned(),
            name: name.to_owned(),
            secret_hash: secret.as_deref().map(hash),
            two_step: input.two_step,
            redirect_uris: input.redirect_uris,
            created_at: state.now(),
        })
        .await
        .map_err(|e| match e {
            twostep_core::store::StoreError::Conflict(_) => {
                Refusal::Conflict(format!("an app {:?} already exists in this organization", slug.as_str()))
            }
            other => other.into(),
        })?;
    Ok(Registered { app: (&app).into(), client_secret: secret })
}

pub async fn list(state: &AppState, admin: &Admin) -> ServiceResult<Vec<AppView>> {
    Ok(state.store.apps(admin.org_id()).await?.iter().map(AppView::from).collect())
}

pub async fn create(state: &AppState, admin: &Admin, input: AppInput, meta: &RequestMeta) -> ServiceResult<Registered> {
    let registered = register(state, admin.org_id(), input).await?;
    admin_event(state, admin, meta, "app.created", &registered.app.client_id).await;
    Ok(registered)
}

pub async fn delete(state: &AppState, admin: &Admin, client_id: &str, meta: &RequestMeta) -> ServiceResult<()> {
    if !state.store.delete_app(admin.org_id(), client_id).await? {
        return Err(Refusal::NotFound(format!("app {client_id:?}")));
    }
    admin_event(state, admin, meta, "app.deleted", client_id).await;
    Ok(())
}

/// A new client secret (the old one stops working at once), shown once.
pub async fn new_secret(state: &AppState, admin: &Admin, client_id: &str, meta: &RequestMeta) -> ServiceResult<String> {
    let secret = Token::generate().expose().to_owned();
    if !state.store.set_app_secret(admin.org_id(), client_id, &hash(&secret)).await? {
        return Err(Refusal::NotFound(format!("confidential app {client_id:?}")));
    }
    admin_event(state, admin, meta, "app.secret_rotated", client_id).await;
    Ok(secret)
}

async fn admin_event(state: &AppState, admin: &Admin, meta: &RequestMeta, kind: &str, client_id: &str) {
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(admin.org_id()),
            kind,
            actor: Some(admin.username()),
            subject: None,
            client: Some(client_id),
            outcome: "success",
        },
    )
    .await;
}

// ---------------------------------------------------------------------------------
// The authorization request (OIDC Core §3.1.2).

/// The parameters of `/oauth2/authorize`, kept across the sign-in pages.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthorizeParams {
    pub client_id: String,
    pub redirect_uri: String,
    pub response_type: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub acr_values: Option<String>,
    /// Set by Twostep, never taken from the request (`web::oauth` overwrites it): the
    /// browser's session when the request arrived, which `prompt=login` and `max_age`
    /// ask not to reuse.
    pub earlier_session: Option<i64>,
}

impl AuthorizeParams {
    fn prompts(&self) -> Vec<&str> {
        self.prompt.as_deref().unwrap_or_default().split_whitespace().collect()
    }

    fn wants_2sv(&self) -> bool {
        self.acr_values.as_deref().is_some_and(|v| v.split_whitespace().any(|a| a == ACR_2SV))
    }
}

/// Why a request is refused.
#[derive(Debug)]
pub enum Refused {
    /// Nothing trustworthy to redirect to (unknown app, unregistered redirect URI): the
    /// user sees a page (RFC 6749 §4.1.2.1).
    Page(String),
    /// Sent back to the app's redirect URI.
    Redirect(String),
}

/// A checked request, its app known.
pub struct Checked {
    pub app: App,
    pub params: AuthorizeParams,
}

impl Checked {
    /// The app's redirect URI with `error` (RFC 6749 §4.1.2.1).
    pub fn error(&self, error: &str, description: &str) -> Refused {
        Refused::Redirect(self.redirect(&[("error", error), ("error_description", description)]))
    }

    /// The registered redirect URI with `pairs` and `state` added to its query.
    fn redirect(&self, pairs: &[(&str, &str)]) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if let Some(state) = &self.params.state {
            query.append_pair("state", state);
        }
        let uri = &self.params.redirect_uri;
        let separator = if uri.contains('?') { '&' } else { '?' };
        format!("{uri}{separator}{}", query.finish())
    }
}

/// Checks a request before anything else happens.
pub async fn check(state: &AppState, params: AuthorizeParams) -> ServiceResult<Result<Checked, Refused>> {
    let Some(app) = state.store.app_by_client_id(&params.client_id).await? else {
        return Ok(Err(Refused::Page("This app is not registered with Twostep.".into())));
    };
    if !app.allows_redirect(&params.redirect_uri) {
        return Ok(Err(Refused::Page("This app asked to return to an address it has not registered.".into())));
    }
    let checked = Checked { app, params };
    let p = &checked.params;
    if p.response_type != "code" {
        return Ok(Err(checked.error(
            "unsupported_response_type",
            "only the authorization code flow (response_type=code) is supported",
        )));
    }
    if !p.scope.split_whitespace().any(|s| s == "openid") {
        return Ok(Err(checked.error("invalid_scope", "the scope must include openid")));
    }
    match (p.code_challenge.as_deref(), p.code_challenge_method.as_deref()) {
        (Some(c), Some("S256")) if (43..=128).contains(&c.len()) => {}
        (Some(_), _) => return Ok(Err(checked.error("invalid_request", "PKCE: code_challenge_method must be S256"))),
        (None, _) if checked.app.is_public() => {
            return Ok(Err(checked.error("invalid_request", "PKCE (S256) is required for public apps")));
        }
        (None, _) => {}
    }
    let prompts = p.prompts();
    if prompts.iter().any(|x| !matches!(*x, "none" | "login" | "consent" | "select_account"))
        || (prompts.contains(&"none") && prompts.len() > 1)
    {
        return Ok(Err(checked.error("invalid_request", "unknown or conflicting prompt values")));
    }
    if p.max_age.as_deref().is_some_and(|m| m.parse::<u64>().is_err()) {
        return Ok(Err(checked.error("invalid_request", "max_age must be a number of seconds")));
    }
    Ok(Ok(checked))
}

/// What happens next with a checked request.
#[derive(Debug)]
pub enum Next {
    /// Back to the app with a code (or a refusal).
    Redirect(String),
    /// The user must sign in on Twostep's pages (again, with `fresh`).
    SignIn { fresh: bool },
    /// The session must confirm a second step first (`acr_values` asked for 2SV).
    StepUp,
}

/// Decides a request for the browser's session (if any), which `requested_at` tells
/// apart from one opened since.
pub async fn decide(
    state: &AppState,
    checked: &Checked,
    session: Option<SessionView>,
    requested_at: i64,
    meta: &RequestMeta,
) -> ServiceResult<Next> {
    let p = &checked.params;
    let none = p.prompts().contains(&"none");
    let need_sign_in = |fresh: bool| {
        if none {
            Next::Redirect(match checked.error("login_required", "the user must sign in") {
                Refused::Redirect(to) | Refused::Page(to) => to,
            })
        } else {
            Next::SignIn { fresh }
        }
    };
    let Some(session) = session.filter(|s| s.org_id == checked.app.org_id) else {
        return Ok(need_sign_in(false));
    };
    let now = state.now();
    // A session opened since the request arrived (not the one the browser had then).
    let signed_in_since = session.created_at >= requested_at && p.earlier_session != Some(session.id);
    let auth_time = session.last_two_step_at.unwrap_or(session.created_at).max(session.created_at);
    if p.prompts().contains(&"login") && !signed_in_since {
        return Ok(need_sign_in(true));
    }
    if let Some(max_age) = p.max_age.as_deref().and_then(|m| m.parse::<i64>().ok())
        && now - session.created_at > max_age
        && !signed_in_since
    {
        return Ok(need_sign_in(true));
    }
    let subject = Member::load(state, session.account_id).await?;
    let requirement = policy::requirement(subject.policy());
    if requirement != Requirement::None && !checked.app.two_step {
        refused_event(state, &subject, checked, meta, "two_step_unsupported_client").await;
        return Ok(Next::Redirect(match checked.error(
            "access_denied",
            "This app does not support 2-Step Verification yet, and 2-Step Verification is required for your account. \
             Ask your administrator.",
        ) {
            Refused::Redirect(to) | Refused::Page(to) => to,
        }));
    }
    if requirement != Requirement::None && !session.two_step_verified {
        // A session from before 2SV applied (in its grace period): sign in with 2SV.
        return Ok(need_sign_in(true));
    }
    if p.wants_2sv() && !session.two_step_verified && subject.has_method {
        if none {
            return Ok(Next::Redirect(match checked.error("interaction_required", "a second step is needed") {
                Refused::Redirect(to) | Refused::Page(to) => to,
            }));
        }
        return Ok(Next::StepUp);
    }
    let factor = state.store.session_second_factor(session.id).await?;
    let second = if session.two_step_verified { factor.as_deref().or(Some("otp")) } else { None };
    let amr = amr(second).join(" ");
    let acr = if session.two_step_verified { ACR_2SV } else { ACR_PWD };
    let code = Token::generate();
    state
        .store
        .create_grant(NewGrant {
            app_id: checked.app.id,
            session_id: session.id,
            account_id: session.account_id,
            scope: p.scope.clone(),
            nonce: p.nonce.clone(),
            auth_time,
            amr,
            acr: acr.to_owned(),
            redirect_uri: p.redirect_uri.clone(),
            code_challenge: p.code_challenge.clone(),
            code_hash: hash(code.expose()),
            code_expires_at: now + CODE_TTL,
            created_at: now,
        })
        .await?;
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(subject.org.id),
            kind: "oauth.authorized",
            actor: Some(&subject.account.username),
            subject: Some(&subject.account.username),
            client: Some(&checked.app.client_id),
            outcome: acr,
        },
    )
    .await;
    // RFC 9207: the issuer beside the code.
    let issuer = issuer(state);
    Ok(Next::Redirect(checked.redirect(&[("code", code.expose()), ("iss", &issuer)])))
}

async fn refused_event(state: &AppState, subject: &Member, checked: &Checked, meta: &RequestMeta, outcome: &str) {
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(subject.org.id),
            kind: "oauth.refused",
            actor: Some(&subject.account.username),
            subject: Some(&subject.account.username),
            client: Some(&checked.app.client_id),
            outcome,
        },
    )
    .await;
}

/// The issuer: `public_url` without a trailing slash.
pub fn issuer(state: &AppState) -> String {
    state.config.public_url.trim_end_matches('/').to_owned()
}

// ---------------------------------------------------------------------------------
// The token endpoint (RFC 6749 §3.2, §4.1.3, §6; OIDC Core §3.1.3).

/// An error of the token, introspection and revocation endpoints (RFC 6749 §5.2): its
/// code and what to tell the client. `oidc/` gives it its status.
#[derive(Debug)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self { error, description: description.into() }
    }

    fn invalid_grant(description: &str) -> Self {
        Self::new("invalid_grant", description)
    }

    fn invalid_client() -> Self {
        Self::new("invalid_client", "client authentication failed")
    }
}

impl From<twostep_core::store::StoreError> for OAuthError {
    fn from(e: twostep_core::store::StoreError) -> Self {
        Refusal::from(e).into()
    }
}

impl From<Refusal> for OAuthError {
    fn from(e: Refusal) -> Self {
        match e {
            Refusal::Unavailable | Refusal::Busy { .. } => Self::new("temporarily_unavailable", e.to_string()),
            other => {
                tracing::error!(error = %other, "token endpoint");
                Self::new("server_error", "internal error")
            }
        }
    }
}

/// The client's credentials, from HTTP Basic or the form (RFC 6749 §2.3.1).
#[derive(Debug, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

/// The app behind the credentials: a confidential app must prove its secret; a public
/// one only names itself.
pub async fn authenticate_client(state: &AppState, creds: &ClientCredentials) -> Result<App, OAuthError> {
    let Some(client_id) = creds.client_id.as_deref() else { return Err(OAuthError::invalid_client()) };
    let app =
        state.store.app_by_client_id(client_id).await.map_err(Refusal::from)?.ok_or_else(OAuthError::invalid_client)?;
    match (&app.secret_hash, creds.client_secret.as_deref()) {
        (None, None) => Ok(app),
        (Some(stored), Some(secret)) if twostep_core::crypto::constant_time_eq(stored, &hash(secret)) => Ok(app),
        _ => Err(OAuthError::invalid_client()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TokenRequest {
    pub grant_type: String,
    pub code: String,
    pub redirect_uri: String,
    pub code_verifier: String,
    pub refresh_token: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub id_token: String,
    pub scope: String,
}

pub async fn token(state: &AppState, creds: ClientCredentials, req: TokenRequest) -> Result<TokenResponse, OAuthError> {
    let app = authenticate_client(state, &creds).await?;
    let now = state.now();
    let grant = match req.grant_type.as_str() {
        "authorization_code" => {
            let grant = match state.store.redeem_code(&hash(&req.code), now).await.map_err(Refusal::from)? {
                Redeemed::Fresh(grant) => *grant,
                Redeemed::Replayed => {
                    return Err(OAuthError::invalid_grant("this code was used before; its tokens are revoked"));
                }
                Redeemed::Invalid => return Err(OAuthError::invalid_grant("unknown or expired code")),
            };
            if grant.app_id != app.id {
                state.store.revoke_grant(grant.id, now).await.map_err(Refusal::from)?;
                return Err(OAuthError::invalid_grant("the code was issued to another app"));
            }
            if grant.redirect_uri != req.redirect_uri {
                return Err(OAuthError::invalid_grant("redirect_uri differs from the authorization request"));
            }
            match &grant.code_challenge {
                Some(challenge) if !pkce_matches(&req.code_verifier, challenge) => {
                    return Err(OAuthError::invalid_grant("PKCE verification failed"));
                }
                None if !req.code_verifier.is_empty() => {
                    return Err(OAuthError::invalid_grant("no code_challenge was sent for this code"));
                }
                _ => {}
            }
            grant
        }
        "refresh_token" => {
            let next = Token::generate();
            let rotated = state
                .store
                .rotate_refresh_token(&hash(&req.refresh_token), &hash(next.expose()), now, now + REFRESH_TOKEN_TTL)
                .await
                .map_err(Refusal::from)?;
            let grant = match rotated {
                Refreshed::Rotated(grant) => *grant,
                Refreshed::Reused => {
                    return Err(OAuthError::invalid_grant("this refresh token was used before; its family is revoked"));
                }
                Refreshed::Invalid => return Err(OAuthError::invalid_grant("unknown or expired refresh token")),
            };
            if grant.app_id != app.id {
                state.store.revoke_grant(grant.id, now).await.map_err(Refusal::from)?;
                return Err(OAuthError::invalid_grant("the refresh token was issued to another app"));
            }
            live_session(state, &grant).await?;
            return issue(state, &app, &grant, Some(next.expose().to_owned())).await;
        }
        _ => return Err(OAuthError::new("unsupported_grant_type", "use authorization_code or refresh_token")),
    };
    live_session(state, &grant).await?;
    issue(state, &app, &grant, None).await
}

/// Every token ends with the Twostep session it came from (SPEC §13).
async fn live_session(state: &AppState, grant: &Grant) -> Result<SessionView, OAuthError> {
    let dead = || OAuthError::invalid_grant("the sign-in this grant came from has ended");
    if grant.revoked_at.is_some() {
        return Err(dead());
    }
    let session = state.store.session_by_id(grant.session_id).await.map_err(Refusal::from)?.ok_or_else(dead)?;
    auth::check_live(state, &session).map_err(|_| dead())?;
    Ok(session)
}

#[derive(Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    pub auth_time: i64,
    pub acr: String,
    pub amr: Vec<String>,
    /// The grant the token hangs from.
    pub gid: i64,
}

async fn issue(
    state: &AppState,
    app: &App,
    grant: &Grant,
    refresh: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    let now = state.now();
    let account = state.store.account_by_id(grant.account_id).await.map_err(Refusal::from)?;
    let sub = subject(account.org_id, account.id);
    let amr: Vec<String> = grant.amr.split_whitespace().map(str::to_owned).collect();
    let access = AccessClaims {
        iss: issuer(state),
        sub: sub.clone(),
        aud: app.client_id.clone(),
        client_id: app.client_id.clone(),
        exp: now + ACCESS_TOKEN_TTL,
        iat: now,
        jti: Token::generate().expose()[..22].to_owned(),
        scope: grant.scope.clone(),
        auth_time: grant.auth_time,
        acr: grant.acr.clone(),
        amr: amr.clone(),
        gid: grant.id,
    };
    let access_token = keys::sign(state, "RS256", "at+jwt", &access).await?;
    let mut id = Map::new();
    id.insert("iss".into(), json!(issuer(state)));
    id.insert("sub".into(), json!(sub));
    id.insert("aud".into(), json!(app.client_id));
    id.insert("azp".into(), json!(app.client_id));
    id.insert("exp".into(), json!(now + ID_TOKEN_TTL));
    id.insert("iat".into(), json!(now));
    id.insert("auth_time".into(), json!(grant.auth_time));
    if let Some(nonce) = &grant.nonce {
        id.insert("nonce".into(), json!(nonce));
    }
    id.insert("amr".into(), json!(amr));
    id.insert("acr".into(), json!(grant.acr));
    id.insert("at_hash".into(), json!(keys::at_hash(&access_token)));
    id.insert("sid".into(), json!(grant.id.to_string()));
    for (k, v) in scoped_claims(state, grant, &account).await? {
        id.insert(k, v);
    }
    let id_token = keys::sign(state, "RS256", "JWT", &Value::Object(id)).await?;
    let refresh_token = match refresh {
        Some(token) => token,
        None => {
            let token = Token::generate();
            state
                .store
                .add_refresh_token(grant.id, &hash(token.expose()), now + REFRESH_TOKEN_TTL)
                .await
                .map_err(Refusal::from)?;
            token.expose().to_owned()
        }
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL,
        refresh_token,
        id_token,
        scope: grant.scope.clone(),
    })
}

/// The claims a grant's scopes release (OIDC Core §5.4): `profile` → `name`,
/// `preferred_username`; `email` → `email`; `twostep` → `org`, `profile`.
async fn scoped_claims(
    state: &AppState,
    grant: &Grant,
    account: &twostep_core::store::Account,
) -> ServiceResult<Vec<(String, Value)>> {
    let scopes: Vec<&str> = grant.scope.split_whitespace().collect();
    let mut claims = Vec::new();
    if scopes.contains(&"profile") {
        let name = if account.display_name.trim().is_empty() { &account.username } else { &account.display_name };
        claims.push(("name".to_owned(), json!(name)));
        claims.push(("preferred_username".to_owned(), json!(account.username)));
    }
    if scopes.contains(&"email") {
        claims.push(("email".to_owned(), json!(account.email)));
    }
    if scopes.contains(&"twostep") {
        let org = state.store.org_by_id(account.org_id).await?;
        claims.push(("org".to_owned(), json!(org.slug)));
        claims.push(("profile".to_owned(), json!(account.profile.as_ref().map(|p| p.slug.clone()))));
    }
    Ok(claims)
}

/// An access token of ours, still valid, with the grant and session it hangs from.
pub async fn check_access_token(state: &AppState, token: &str) -> ServiceResult<Option<(AccessClaims, Grant)>> {
    let Some((claims, typ)) = keys::verify::<AccessClaims>(state, token).await? else { return Ok(None) };
    if typ != "at+jwt" || claims.exp <= state.now() || claims.iss != issuer(state) {
        return Ok(None);
    }
    let Some(grant) = state.store.grant_by_id(claims.gid).await? else { return Ok(None) };
    if grant.revoked_at.is_some() {
        return Ok(None);
    }
    let Some(session) = state.store.session_by_id(grant.session_id).await? else { return Ok(None) };
    if auth::check_live(state, &session).is_err() {
        return Ok(None);
    }
    Ok(Some((claims, grant)))
}

/// `/oauth2/userinfo` (OIDC Core §5.3): `None` for a token that is not (or no longer) valid.
pub async fn userinfo(state: &AppState, token: &str) -> ServiceResult<Option<Value>> {
    let Some((claims, grant)) = check_access_token(state, token).await? else { return Ok(None) };
    let account = state.store.account_by_id(grant.account_id).await?;
    let mut info = Map::new();
    info.insert("sub".into(), json!(claims.sub));
    for (k, v) in scoped_claims(state, &grant, &account).await? {
        info.insert(k, v);
    }
    Ok(Some(Value::Object(info)))
}

/// `/oauth2/introspect` (RFC 7662) for the app authenticated by `creds`.
pub async fn introspect(state: &AppState, creds: ClientCredentials, token: &str) -> Result<Value, OAuthError> {
    let app = authenticate_client(state, &creds).await?;
    if let Some((claims, grant)) = check_access_token(state, token).await?
        && grant.app_id == app.id
    {
        return Ok(json!({
            "active": true, "token_type": "access_token", "scope": claims.scope, "client_id": claims.client_id,
            "sub": claims.sub, "exp": claims.exp, "iat": claims.iat, "iss": claims.iss, "aud": claims.aud,
            "acr": claims.acr, "amr": claims.amr, "auth_time": claims.auth_time,
        }));
    }
    let now = state.now();
    if let Some(grant) = state.store.grant_of_refresh_token(&hash(token), now).await?
        && grant.app_id == app.id
        && live_session(state, &grant).await.is_ok()
    {
        let account = state.store.account_by_id(grant.account_id).await?;
        return Ok(json!({
            "active": true, "token_type": "refresh_token", "scope": grant.scope, "client_id": app.client_id,
            "sub": subject(account.org_id, account.id), "iss": issuer(state),
        }));
    }
    Ok(json!({ "active": false }))
}

/// `/oauth2/revoke` (RFC 7009): a refresh or access token of this app ends its grant.
pub async fn revoke(state: &AppState, creds: ClientCredentials, token: &str) -> Result<(), OAuthError> {
    let app = authenticate_client(state, &creds).await?;
    let now = state.now();
    let grant = match state.store.grant_of_refresh_token(&hash(token), now).await? {
        Some(grant) => Some(grant),
        None => check_access_token(state, token).await?.map(|(_, grant)| grant),
    };
    if let Some(grant) = grant.filter(|g| g.app_id == app.id) {
        state.store.revoke_grant(grant.id, now).await?;
    }
    Ok(())
}

/// RP-initiated logout: the app named by the ID token hint (or `client_id`) and the
/// registered address to return to, if it is one.
pub async fn logout_target(
    state: &AppState,
    id_token_hint: Option<&str>,
    client_id: Option<&str>,
    post_logout_redirect_uri: Option<&str>,
) -> ServiceResult<Option<String>> {
    let mut app_id = client_id.map(str::to_owned);
    if let Some(hint) = id_token_hint
        && let Some((claims, _)) = keys::verify::<Value>(state, hint).await?
    {
        app_id = claims["aud"].as_str().map(str::to_owned).or(app_id);
    }
    let (Some(app_id), Some(uri)) = (app_id, post_logout_redirect_uri) else { return Ok(None) };
    let app = state.store.app_by_client_id(&app_id).await?;
    Ok(app.filter(|a| a.allows_redirect(uri)).map(|_| uri.to_owned()))
}

/// The discovery document (OIDC Discovery §3, RFC 8414).
pub fn discovery(state: &AppState) -> Value {
    let iss = issuer(state);
    json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth2/authorize"),
        "token_endpoint": format!("{iss}/oauth2/token"),
        "userinfo_endpoint": format!("{iss}/oauth2/userinfo"),
        "jwks_uri": format!("{iss}/oauth2/jwks"),
        "revocation_endpoint": format!("{iss}/oauth2/revoke"),
        "introspection_endpoint": format!("{iss}/oauth2/introspect"),
        "end_session_endpoint": format!("{iss}/oauth2/logout"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": keys::ALGORITHMS,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "twostep", "offline_access"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "at_hash",
                             "name", "preferred_username", "email", "org", "profile"],
        "acr_values_supported": [ACR_2SV, ACR_PWD],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
    })
}
