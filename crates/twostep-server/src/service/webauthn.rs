//! Security keys and passkeys (SPEC §14), with `webauthn-rs`: attestation none, user
//! verification preferred. The relying party id is the host of `public_url` and the
//! origin is `public_url` itself.
//!
//! A ceremony's state stays on the server, bound to the session or flow that began it,
//! single use and valid five minutes; the client holds only its id.

use crate::service::audit::{self, Event};
use crate::service::codes::{Attempt, Checked, CodeContext};
use crate::service::me::{self, Caller, Confirmed, MethodInfo};
use crate::service::{Member, Refusal, RequestMeta, ServiceResult};
use crate::state::AppState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use twostep_core::Timestamp;
use twostep_core::credential::recovery;
use twostep_core::crypto::Token;
use twostep_core::domain::MethodKind;
use twostep_core::store::{Account, Ceremony, CeremonyPurpose, EnrollmentOwner, Method, NewKey, SmsBinding};
use webauthn_rs::prelude::{
    PublicKeyCredential, RegisterPublicKeyCredential, SecurityKey, SecurityKeyAuthentication, SecurityKeyRegistration,
    Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError,
};

/// How long a ceremony may take (SPEC §14).
pub const CEREMONY_TTL: Timestamp = 300;

/// The relying party of `public_url`, or `None` (with a warning) when its host is an IP
/// address: WebAuthn needs a domain name (`localhost` will do for a test).
pub fn relying_party(public_url: &str, name: &str) -> Option<Webauthn> {
    let origin = Url::parse(public_url).ok()?;
    let Some(rp_id) = origin.domain().map(str::to_owned) else {
        tracing::warn!(
            public_url,
            "security keys and passkeys are off: WebAuthn needs public_url to name a host, not an IP address"
        );
        return None;
    };
    match WebauthnBuilder::new(&rp_id, &origin).and_then(|b| b.rp_name(name).build()) {
        Ok(webauthn) => Some(webauthn),
        Err(e) => {
            tracing::warn!(public_url, error = %e, "security keys and passkeys are off");
            None
        }
    }
}

fn relying_party_of(state: &AppState) -> ServiceResult<&Webauthn> {
    state.webauthn.as_ref().ok_or_else(|| {
        Refusal::Conflict(
            "security keys and passkeys need public_url to name a host (such as localhost), not an IP address".into(),
        )
    })
}

/// A key as stored: the credential (public key, counter, backup flags) and whether it is
/// a platform authenticator — a passkey on the device (`amr` `swk`) rather than a
/// roaming security key (`hwk`).
#[derive(Serialize, Deserialize)]
struct StoredKey {
    key: SecurityKey,
    platform: bool,
    /// The highest signature counter seen. The ceremony's own state holds the counter of
    /// when it began, so an assertion made then but presented after a later one would pass
    /// that check: this one is compared at the end (WebAuthn §7.2 step 21).
    #[serde(default)]
    counter: u32,
}

impl StoredKey {
    fn factor(&self) -> &'static str {
        if self.platform { "swk" } else { "hwk" }
    }
}

fn stored_key(method: &Method) -> Option<StoredKey> {
    method.credential.as_deref().and_then(|json| serde_json::from_str(json).ok())
}

/// The WebAuthn user handle of an account: stable, opaque, never the username.
fn user_handle(account: &Account) -> Uuid {
    let digest = Sha256::digest(format!("twostep:webauthn-user:{}:{}", account.org_id, account.id).as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Uuid::from_bytes(bytes)
}

/// A ceremony begun: its id and the options for `navigator.credentials`.
#[derive(Debug)]
pub struct Begun {
    pub challenge_id: String,
    /// `PublicKeyCredentialCreationOptions` or `PublicKeyCredentialRequestOptions` as JSON
    /// (binary fields base64url).
    pub options: Value,
}

async fn keep(
    state: &AppState,
    account_id: i64,
    owner: EnrollmentOwner,
    purpose: CeremonyPurpose,
    name: Option<String>,
    ceremony_state: &impl Serialize,
) -> ServiceResult<String> {
    let id = Token::generate().expose().to_owned();
    state
        .store
        .put_ceremony(Ceremony {
            id: id.clone(),
            account_id,
            owner,
            purpose,
            name,
            state: serde_json::to_string(ceremony_state).map_err(|e| Refusal::Internal(e.to_string()))?,
            expires_at: state.now() + CEREMONY_TTL,
        })
        .await?;
    Ok(id)
}

fn refused<'a>(subject: &'a Account, client: Option<&'a str>, outcome: &'static str) -> Event<'a> {
    Event {
        org_id: Some(subject.org_id),
        kind: "two_step.webauthn_refused",
        actor: Some(&subject.username),
        subject: Some(&subject.username),
        client,
        outcome,
    }
}

/// Registration options for a new security key or passkey.
pub async fn begin_registration(
    state: &AppState,
    caller: &Caller,
    name: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<Begun> {
    let name = me::method_name(name, MethodKind::Webauthn)?;
    let subject = me::subject(state, caller).await?;
    me::guard_binding(state, caller, &subject, MethodKind::Webauthn, meta).await?;
    let account = &subject.account;
    let existing: Vec<_> =
        state.store.methods(account.id).await?.iter().filter_map(stored_key).map(|k| k.key.cred_id().clone()).collect();
    let display = if account.display_name.is_empty() { &account.username } else { &account.display_name };
    let (options, registration) = relying_party_of(state)?
        .start_securitykey_registration(user_handle(account), &account.username, display, Some(existing), None, None)
        .map_err(|e| Refusal::Internal(format!("webauthn registration: {e}")))?;
    let challenge_id = keep(state, account.id, caller.owner(), CeremonyPurpose::Register, name, &registration).await?;
    let mut options = serde_json::to_value(options.public_key).map_err(|e| Refusal::Internal(e.to_string()))?;
    // Chromium refuses to create a credential when asked for credProtect "user
    // verification required" on a non-discoverable key with verification only preferred
    // (NotSupportedError). The extension is advisory (`enforce` is false) and never
    // checked at the end, so it is not asked for.
    if let Some(extensions) = options.get_mut("extensions").and_then(Value::as_object_mut) {
        extensions.remove("credentialProtectionPolicy");
        extensions.remove("enforceCredentialProtectionPolicy");
    }
    Ok(Begun { challenge_id, options })
}

/// The authenticator's answer to [`begin_registration`] enables the key.
pub async fn confirm_registration(
    state: &AppState,
    caller: &Caller,
    challenge_id: &str,
    name: Option<&str>,
    credential: &Value,
    meta: &RequestMeta,
) -> ServiceResult<Confirmed> {
    let name = me::method_name(name, MethodKind::Webauthn)?;
    let subject = me::subject(state, caller).await?;
    let account = &subject.account;
    let now = state.now();
    let Some(ceremony) =
        state.store.take_ceremony(challenge_id, caller.owner(), CeremonyPurpose::Register, now).await?
    else {
        audit::record(state, meta, refused(account, Some(caller.client()), "unknown_challenge")).await;
        return Err(unknown_challenge());
    };
    let registration: SecurityKeyRegistration =
        serde_json::from_str(&ceremony.state).map_err(|e| Refusal::Internal(e.to_string()))?;
    let Ok(answer) = serde_json::from_value::<RegisterPublicKeyCredential>(credential.clone()) else {
        audit::record(state, meta, refused(account, Some(caller.client()), "malformed_credential")).await;
        return Err(malformed_credential());
    };
    let attempt = match Attempt::reserve(state, account.id).await? {
        Ok(attempt) => attempt,
        Err(retry_after) => return Err(Refusal::TwoStepLocked { retry_after }),
    };
    let key = match relying_party_of(state)?.finish_securitykey_registration(&answer, &registration) {
        Ok(key) => key,
        Err(e) => {
            tracing::info!(error = %e, "webauthn registration refused");
            audit::record(state, meta, refused(account, Some(caller.client()), "registration_failed")).await;
            return Err(me::wrong_confirmation(state, caller, attempt, meta, &subject).await?);
        }
    };
    let platform = credential.get("authenticatorAttachment").and_then(Value::as_str) == Some("platform");
    let stored = StoredKey { key, platform, counter: 0 };
    let name = name.or(ceremony.name).unwrap_or_else(|| MethodKind::Webauthn.default_name().to_owned());
    let first = !subject.has_method;
    let codes = first.then(recovery::generate);
    let id = state
        .store
        .enable_key(NewKey {
            account_id: account.id,
            name: name.clone(),
            credential_id: AsRef::<[u8]>::as_ref(stored.key.cred_id()).to_vec(),
            credential: serde_json::to_string(&stored).map_err(|e| Refusal::Internal(e.to_string()))?,
            at: now,
            recovery_hashes: codes.as_ref().map(|c| c.iter().map(|code| recovery::hash(account.id, code)).collect()),
        })
        .await?;
    let Some(id) = id else {
        // The attempt proved possession of a key: it is not a wrong code.
        attempt.passed(now).await?;
        audit::record(state, meta, refused(account, Some(caller.client()), "already_registered")).await;
        return Err(Refusal::Conflict("this security key is already registered".into()));
    };
    attempt.passed(now).await?;
    let method = MethodInfo {
        id,
        kind: MethodKind::Webauthn.as_str(),
        name,
        phone_hint: None,
        enabled_at: now,
        created_at: now,
        last_used_at: None,
    };
    me::enrolled(state, caller, &subject, method, codes, stored.factor(), meta).await
}

fn unknown_challenge() -> Refusal {
    Refusal::InvalidRequest(
        "no such WebAuthn challenge: it expired, was already used, or belongs to another sign-in".into(),
    )
}

fn malformed_credential() -> Refusal {
    Refusal::InvalidRequest("credential is not a WebAuthn PublicKeyCredential in JSON".into())
}

/// Options for a second step with a key, bound to the sign-in flow or session `owner`.
pub async fn begin_assertion(state: &AppState, account: &Account, owner: EnrollmentOwner) -> ServiceResult<Begun> {
    let keys: Vec<SecurityKey> =
        state.store.methods(account.id).await?.iter().filter_map(stored_key).map(|k| k.key).collect();
    if keys.is_empty() {
        return Err(Refusal::InvalidRequest("this account has no security key or passkey".into()));
    }
    let (options, authentication) = relying_party_of(state)?
        .start_securitykey_authentication(&keys)
        .map_err(|e| Refusal::Internal(format!("webauthn authentication: {e}")))?;
    let challenge_id = keep(state, account.id, owner, CeremonyPurpose::Authenticate, None, &authentication).await?;
    let options = serde_json::to_value(options.public_key).map_err(|e| Refusal::Internal(e.to_string()))?;
    Ok(Begun { challenge_id, options })
}

/// Options for the second step of a sign-in flow with a key.
pub async fn begin_sign_in(state: &AppState, flow_token: &str) -> ServiceResult<Begun> {
    let flow = crate::service::auth::flow_for(state, flow_token, twostep_core::flow::FlowKind::TwoStep).await?;
    let account = state.store.account_by_id(flow.account_id).await?;
    begin_assertion(state, &account, EnrollmentOwner::Flow(flow.id)).await
}

/// Options for a step-up with a key within a session.
pub async fn begin_step_up(state: &AppState, caller: &Caller) -> ServiceResult<Begun> {
    let subject: Member = me::subject(state, caller).await?;
    let Caller::Session(session) = caller else { return Err(Refusal::SessionInvalid) };
    begin_assertion(state, &subject.account, EnrollmentOwner::Session(session.id)).await
}

/// Checks an assertion against the ceremony it answers; called under the lockout by
/// [`crate::service::codes::second_step`]. A challenge that is not this flow's or
/// session's, or a malformed credential, is a bad request (nothing counted); a signature,
/// origin, relying party or counter that does not verify is a wrong answer.
pub async fn check_assertion(
    state: &AppState,
    ctx: &CodeContext<'_>,
    challenge_id: &str,
    credential: &Value,
) -> ServiceResult<Checked> {
    let account = ctx.account;
    let now = state.now();
    let owner = match ctx.binding {
        SmsBinding::Flow(id) => EnrollmentOwner::Flow(id),
        SmsBinding::Session(id) => EnrollmentOwner::Session(id),
        SmsBinding::Enrollment(owner) => owner,
    };
    let Some(ceremony) = state.store.take_ceremony(challenge_id, owner, CeremonyPurpose::Authenticate, now).await?
    else {
        audit::record(state, ctx.meta, refused(account, ctx.client, "unknown_challenge")).await;
        return Err(unknown_challenge());
    };
    if ceremony.account_id != account.id {
        audit::record(state, ctx.meta, refused(account, ctx.client, "unknown_challenge")).await;
        return Err(unknown_challenge());
    }
    let authentication: SecurityKeyAuthentication =
        serde_json::from_str(&ceremony.state).map_err(|e| Refusal::Internal(e.to_string()))?;
    let Ok(answer) = serde_json::from_value::<PublicKeyCredential>(credential.clone()) else {
        audit::record(state, ctx.meta, refused(account, ctx.client, "malformed_credential")).await;
        return Err(malformed_credential());
    };
    let result = match relying_party_of(state)?.finish_securitykey_authentication(&answer, &authentication) {
        Ok(result) => result,
        Err(e) => {
            let outcome = match e {
                // The signature counter went backwards: a cloned key (WebAuthn §6.1.1).
                WebauthnError::CredentialPossibleCompromise => "counter_regressed",
                _ => "assertion_failed",
            };
            tracing::info!(error = %e, "webauthn assertion refused");
            audit::record(state, ctx.meta, refused(account, ctx.client, outcome)).await;
            return Ok(Checked::Wrong);
        }
    };
    // The key must still be one of this account's: a key removed since the challenge
    // was given is refused.
    let methods = state.store.methods(account.id).await?;
    let found =
        methods.iter().find_map(|m| stored_key(m).filter(|k| k.key.cred_id() == result.cred_id()).map(|k| (m.id, k)));
    let Some((method_id, mut stored)) = found else {
        audit::record(state, ctx.meta, refused(account, ctx.client, "unknown_key")).await;
        return Ok(Checked::Wrong);
    };
    // A counter that does not move forward, where the key keeps one, is what a cloned
    // authenticator produces.
    let counter = result.counter();
    if (counter > 0 || stored.counter > 0) && counter <= stored.counter {
        audit::record(state, ctx.meta, refused(account, ctx.client, "counter_regressed")).await;
        return Ok(Checked::Wrong);
    }
    stored.counter = counter;
    stored.key.update_credential(&result);
    let json = serde_json::to_string(&stored).map_err(|e| Refusal::Internal(e.to_string()))?;
    state.store.method_used(method_id, Some(&json), now).await?;
    Ok(Checked::Accepted { recovery_codes_remaining: None, factor: stored.factor() })
}
