//! Text-message codes: sending them under the SMS limits (SPEC §5) and checking them.

use crate::service::audit::{self, Event};
use crate::service::{Refusal, RequestMeta, ServiceResult};
use crate::state::AppState;
use rand::RngCore;
use sha2::{Digest, Sha256};
use twostep_core::aad::Aad;
use twostep_core::credential::sms_code;
use twostep_core::crypto::{SecretKey, constant_time_eq};
use twostep_core::domain::{MethodKind, OtpCode, PhoneNumber};
use twostep_core::store::{Account, NewSmsChallenge, Organization, SmsBinding};

/// A flow or enrollment may ask for a new code this long after its last one.
pub const RESEND_AFTER: i64 = 30;
/// Sends per user per hour, and per phone number per hour.
pub const PER_USER_HOURLY: i64 = 5;
pub const PER_NUMBER_HOURLY: i64 = 5;
/// Wrong tries per code.
pub const MAX_ATTEMPTS: i64 = 5;

const HOUR: i64 = 3600;

/// A digest of a phone number keyed with the server's secret key. Phone numbers are few
/// enough to enumerate, so a plain hash stored in the database would give them away.
fn number_digest(key: &SecretKey, phone: &PhoneNumber) -> [u8; 32] {
    let key = key.to_hex();
    Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(b"\0twostep-sms-number\0")
        .chain_update(phone.e164().as_bytes())
        .finalize()
        .into()
}

/// A stable key for a phone number in the counters table that does not reveal it.
fn number_key(state: &AppState, phone: &PhoneNumber) -> String {
    let hex: String = number_digest(&state.key, phone).iter().map(|b| format!("{b:02x}")).collect();
    format!("sms:phone:{hex}")
}

/// What a code is hashed with: the challenge's random salt and the number it was sent
/// to, so a code proves possession of that number and no other (a code sent to an
/// earlier number cannot confirm an enrollment that has since moved to a new one).
fn challenge_key(key: &SecretKey, salt: &[u8], phone: &PhoneNumber) -> Vec<u8> {
    [salt, number_digest(key, phone).as_slice()].concat()
}

/// A number typed by a user for text messages, under the SMS-pumping guards (SPEC §11.10):
/// it must parse, be able to receive texts (mobile, or fixed-line-or-mobile where the plan
/// cannot tell), and be in `sms.allowed_countries` when that is set. [`Refusal::InvalidPhone`]
/// otherwise.
pub fn accept_number(state: &AppState, raw: &str) -> ServiceResult<PhoneNumber> {
    let phone = PhoneNumber::parse(raw).map_err(|_| Refusal::InvalidPhone)?;
    let facts = phone.facts();
    if !facts.receives_texts {
        return Err(Refusal::InvalidPhone);
    }
    let allowed = &state.config.sms.allowed_countries;
    if !allowed.is_empty() && !facts.region.is_some_and(|r| allowed.iter().any(|a| a.eq_ignore_ascii_case(&r))) {
        return Err(Refusal::InvalidPhone);
    }
    Ok(phone)
}

/// Sends a fresh code to `phone`, bound to `binding`, under every limit; each refusal
/// and failure is audited.
pub async fn send_code(
    state: &AppState,
    org: &Organization,
    account: &Account,
    binding: SmsBinding,
    phone: &PhoneNumber,
    client: Option<&str>,
    meta: &RequestMeta,
) -> ServiceResult<()> {
    let now = state.now();
    let event = |kind, outcome| Event {
        org_id: Some(org.id),
        kind,
        actor: Some(&account.username),
        subject: Some(&account.username),
        client,
        outcome,
    };
    let refuse = |retry_after: i64, outcome: &'static str| async move {
        audit::record(state, meta, event("sms.refused", outcome)).await;
        state.metrics.sms(outcome);
        Err(Refusal::SmsRateLimited { retry_after: retry_after.max(1) })
    };
    match state.store.mark_sms_send(account.id, binding, now, RESEND_AFTER).await? {
        Ok(()) => {}
        Err(0) => return Err(Refusal::FlowExpired),
        Err(retry_after) => return refuse(retry_after, "resend_too_soon").await,
    }
    let hour = now - now.rem_euclid(HOUR);
    let retry_after = hour + HOUR - now;
    let limits = [
        (format!("sms:user:{}", account.id), PER_USER_HOURLY, "user_hourly_limit"),
        (number_key(state, phone), PER_NUMBER_HOURLY, "number_hourly_limit"),
        (format!("sms:org:{}", org.id), state.config.sms.org_hourly_limit, "organization_hourly_limit"),
        ("sms:global".to_owned(), state.config.sms.global_hourly_limit, "global_hourly_limit"),
    ];
    for (key, limit, outcome) in limits {
        if state.store.count_in_window(&key, hour, limit).await?.is_none() {
            return refuse(retry_after, outcome).await;
        }
    }

    let code = sms_code::generate();
    let mut salt = vec![0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let ttl = state.config.sms.code_ttl.as_secs() as i64;
    let challenge = state
        .store
        .create_sms_challenge(NewSmsChallenge {
            account_id: account.id,
            binding,
            code_hash: sms_code::hash(&challenge_key(&state.key, &salt, phone), &code),
            salt,
            sent_at: now,
            expires_at: now + ttl,
        })
        .await?;
    let body = crate::sms_providers::render(
        &state.config.sms.templates,
        org.language,
        &state.config.issuer,
        &state.config.public_host(),
        &code,
    );
    match state.sms.send(phone, &body).await {
        Ok(()) => {
            audit::record(state, meta, event("sms.sent", "success")).await;
            state.metrics.sms("sent");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(error = %e, to = %phone.hint(), "text message not delivered");
            // A failed send enables nothing (SPEC §5): a code that may still have reached
            // the phone (a provider that timed out after sending) is void.
            state.store.claim_sms_challenge(challenge, MAX_ATTEMPTS, now).await?;
            audit::record(state, meta, event("sms.delivery_failed", "failure")).await;
            state.metrics.sms("delivery_failed");
            Err(Refusal::SmsDeliveryFailed)
        }
    }
}

/// Checks a code against the newest live challenge bound to `binding`, in constant
/// time; a right code is claimed atomically so it works once.
pub async fn check_code(state: &AppState, account_id: i64, binding: SmsBinding, code: &OtpCode) -> ServiceResult<bool> {
    let now = state.now();
    let Some(phone) = bound_phone(state, account_id, binding, now).await? else {
        return Ok(false);
    };
    let Some(challenge) = state.store.active_sms_challenge(account_id, binding, now).await? else {
        return Ok(false);
    };
    if challenge.attempts >= MAX_ATTEMPTS {
        return Ok(false);
    }
    // The try is counted before the code is compared, so parallel guesses cannot get more
    // than MAX_ATTEMPTS looks at one code: the claim below holds only while this try is
    // still among the first MAX_ATTEMPTS (attempts ≤ MAX_ATTEMPTS, counting itself).
    state.store.sms_challenge_failed(challenge.id).await?;
    // During a key rotation the code may come from a replica with another primary key.
    let matches = state.keyring.keys().any(|key| {
        let presented = sms_code::hash(&challenge_key(key, &challenge.salt, &phone), code.expose());
        constant_time_eq(&presented, &challenge.code_hash)
    });
    if !matches {
        return Ok(false);
    }
    Ok(state.store.claim_sms_challenge(challenge.id, MAX_ATTEMPTS + 1, now).await?)
}

/// The number a code for `binding` must have been sent to: the pending number for an
/// enrollment, the enrolled one for a sign-in or a step-up.
async fn bound_phone(
    state: &AppState,
    account_id: i64,
    binding: SmsBinding,
    now: i64,
) -> ServiceResult<Option<PhoneNumber>> {
    let sealed = match binding {
        SmsBinding::Enrollment(owner) => {
            state.store.pending(account_id, MethodKind::Sms, owner, now).await?.map(|p| p.sealed)
        }
        SmsBinding::Flow(_) | SmsBinding::Session(_) => {
            let methods = state.store.methods(account_id).await?;
            methods.into_iter().find(|m| m.kind == MethodKind::Sms).map(|m| m.sealed)
        }
    };
    sealed.map(|sealed| open_phone(state, account_id, &sealed)).transpose()
}

/// The enrolled number of an account, decrypted.
pub fn open_phone(state: &AppState, account_id: i64, sealed: &[u8]) -> ServiceResult<PhoneNumber> {
    // The callers hold the sealed bytes only: try each key (a previous one during a rotation).
    let raw = state.keyring.open_any(sealed, &Aad::Phone { account_id }.bytes())?;
    let text = std::str::from_utf8(&raw).map_err(|e| Refusal::Internal(e.to_string()))?;
    PhoneNumber::parse(text).map_err(|e| Refusal::Internal(e.to_string()))
}
