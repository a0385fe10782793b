//! Checking a second-step code (TOTP, SMS or recovery code) under the account lockout.

use crate::service::audit::{self, Event};
use crate::service::notify::Notice;
use crate::service::{Refusal, RequestMeta, ServiceResult, sms};
use crate::state::AppState;
use serde::Deserialize;
use twostep_core::aad::Aad;
use twostep_core::credential::{recovery, totp};
use twostep_core::domain::{MethodKind, OtpCode};
use twostep_core::store::{Account, SmsBinding};

/// What a code is offered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeMethod {
    Totp,
    Sms,
    RecoveryCode,
    /// Not a code: a security key's assertion (see [`Proof::Key`]).
    Webauthn,
}

impl CodeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Sms => "sms",
            Self::RecoveryCode => "recovery_code",
            Self::Webauthn => "webauthn",
        }
    }
}

/// What is offered at a second step.
#[derive(Debug, Clone, Copy)]
pub enum Proof<'a> {
    Code(CodeMethod, &'a str),
    /// A WebAuthn assertion answering the challenge `challenge_id` (SPEC §14).
    Key {
        challenge_id: &'a str,
        credential: &'a serde_json::Value,
    },
}

impl Proof<'_> {
    /// The method's name in metrics and audit rows.
    pub fn method(&self) -> &'static str {
        match self {
            Self::Code(method, _) => method.as_str(),
            Self::Key { .. } => "webauthn",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// `factor` names the second factor for the session (`totp`, `sms`, `recovery_code`,
    /// `hwk` or `swk`), which becomes an app's `amr`.
    Accepted {
        recovery_codes_remaining: Option<i64>,
        factor: &'static str,
    },
    Wrong,
}

/// The context in which the code is checked: what an SMS code must be bound to.
pub struct CodeContext<'a> {
    pub account: &'a Account,
    pub client: Option<&'a str>,
    pub binding: SmsBinding,
    pub meta: &'a RequestMeta,
}

/// Checks what was offered without touching the lockout counters.
async fn check(state: &AppState, ctx: &CodeContext<'_>, proof: Proof<'_>) -> ServiceResult<Checked> {
    let account = ctx.account;
    let now = state.now();
    let (method, code) = match proof {
        Proof::Code(method, code) => (method, code),
        Proof::Key { challenge_id, credential } => {
            return crate::service::webauthn::check_assertion(state, ctx, challenge_id, credential).await;
        }
    };
    match method {
        // A key answers with an assertion, never a code.
        CodeMethod::Webauthn => Ok(Checked::Wrong),
        CodeMethod::Totp => {
            let Ok(code) = OtpCode::parse(code) else { return Ok(Checked::Wrong) };
            let methods = state.store.methods(account.id).await?;
            // Several authenticator apps (SPEC §14): the code is checked against each; the
            // one it matches claims the time step.
            let mut matched = None;
            for m in methods.iter().filter(|m| m.kind == MethodKind::Totp) {
                let secret = state.keyring.open(&m.key_id, &m.sealed, &Aad::Totp { account_id: account.id }.bytes())?;
                if let Some(step) = totp::matching_step(&secret, code.expose(), now) {
                    matched = Some((m.id, step));
                    break;
                }
            }
            let Some((method_id, step)) = matched else {
                return Ok(Checked::Wrong);
            };
            if state.store.claim_totp_step(method_id, step, now).await? {
                Ok(Checked::Accepted { recovery_codes_remaining: None, factor: "totp" })
            } else {
                // RFC 6238 §5.2: a code is accepted once; a second use is refused and noted.
                audit::record(
                    state,
                    ctx.meta,
                    Event {
                        org_id: Some(account.org_id),
                        kind: "two_step.replay_refused",
                        actor: Some(&account.username),
                        subject: Some(&account.username),
                        client: ctx.client,
                        outcome: "refused",
                    },
                )
                .await;
                Ok(Checked::Wrong)
            }
        }
        CodeMethod::RecoveryCode => {
            if recovery::normalize(code).is_none() {
                return Ok(Checked::Wrong);
            }
            let hash = recovery::hash(account.id, code);
            if state.store.claim_recovery_code(account.id, &hash, now).await? {
                let remaining = state.store.recovery_codes_remaining(account.id).await?;
                Ok(Checked::Accepted { recovery_codes_remaining: Some(remaining), factor: "recovery_code" })
            } else {
                Ok(Checked::Wrong)
            }
        }
        CodeMethod::Sms => {
            let Ok(code) = OtpCode::parse(code) else { return Ok(Checked::Wrong) };
            if !sms::check_code(state, account.id, ctx.binding, &code).await? {
                return Ok(Checked::Wrong);
            }
            if let Some(phone) = state.store.methods(account.id).await?.iter().find(|m| m.kind == MethodKind::Sms) {
                state.store.method_used(phone.id, None, now).await?;
            }
            Ok(Checked::Accepted { recovery_codes_remaining: None, factor: "sms" })
        }
    }
}

/// One second-step attempt taken from the account's allowance (SPEC §4) before a code is
/// looked at, so parallel guesses cannot exceed the limit. The outcome settles it
/// ([`Attempt::passed`], [`Attempt::failed`]); one dropped unsettled — an error, a request
/// that went away — is given back, so a count never sticks at the threshold without a
/// lock (SPEC §11.5).
pub struct Attempt {
    store: std::sync::Arc<dyn twostep_core::store::Store>,
    account_id: i64,
    settled: bool,
}

impl Attempt {
    /// Takes one attempt, or `Err(retry_after)` while the second step is locked.
    pub async fn reserve(state: &AppState, account_id: i64) -> ServiceResult<Result<Self, i64>> {
        Ok(match state.store.reserve_second_step_attempt(account_id, state.now()).await? {
            Ok(()) => Ok(Self { store: state.store.clone(), account_id, settled: false }),
            Err(retry_after) => Err(retry_after),
        })
    }

    /// The code was right: the consecutive count starts again.
    pub async fn passed(mut self, now: i64) -> ServiceResult<()> {
        self.store.second_step_passed(self.account_id, now).await?;
        self.settled = true;
        Ok(())
    }

    /// The code was wrong: the attempt stays counted, and a lock starts at the threshold
    /// (its end is returned).
    pub async fn failed(mut self, now: i64) -> ServiceResult<Option<i64>> {
        let locked = self.store.second_step_failed(self.account_id, now).await?;
        self.settled = true;
        Ok(locked)
    }
}

impl Drop for Attempt {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (store, account_id) = (self.store.clone(), self.account_id);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.release_second_step_attempt(account_id).await {
                    tracing::warn!(error = %e, account = account_id, "could not give back a second-step attempt");
                }
            });
        }
    }
}

/// Checks a second-step code under the per-account lockout (SPEC §4).
pub async fn second_step(state: &AppState, ctx: &CodeContext<'_>, proof: Proof<'_>) -> ServiceResult<Checked> {
    let method = proof.method();
    let account = ctx.account;
    let now = state.now();
    let attempt = match Attempt::reserve(state, account.id).await? {
        Ok(attempt) => attempt,
        Err(retry_after) => {
            audit::record(
                state,
                ctx.meta,
                Event {
                    org_id: Some(account.org_id),
                    kind: "two_step.locked_refused",
                    actor: Some(&account.username),
                    subject: Some(&account.username),
                    client: ctx.client,
                    outcome: "refused",
                },
            )
            .await;
            return Err(Refusal::TwoStepLocked { retry_after });
        }
    };
    let checked = check(state, ctx, proof).await?;
    let event = |kind, outcome| Event {
        org_id: Some(account.org_id),
        kind,
        actor: Some(&account.username),
        subject: Some(&account.username),
        client: ctx.client,
        outcome,
    };
    match checked {
        Checked::Accepted { recovery_codes_remaining, .. } => {
            attempt.passed(now).await?;
            let kind = if recovery_codes_remaining.is_some() {
                "two_step.recovery_code_used"
            } else {
                "two_step.code_accepted"
            };
            audit::record(state, ctx.meta, event(kind, method)).await;
            state.metrics.second_step("accepted", method);
            if recovery_codes_remaining.is_some() {
                notify_account(state, account, Notice::RecoveryCodeUsed, ctx.meta).await;
            }
        }
        Checked::Wrong => {
            audit::record(state, ctx.meta, event("two_step.code_refused", method)).await;
            state.metrics.second_step("refused", method);
            if let Some(until) = attempt.failed(now).await? {
                // The hook for notifying the user of a lock: an audit event and a log
                // line at warn level that an operator's alerting can follow.
                tracing::warn!(account = account.id, locked_for = until - now, "second step locked");
                audit::record(state, ctx.meta, event("two_step.locked", "locked")).await;
                notify_account(state, account, Notice::SecondStepLocked, ctx.meta).await;
            }
        }
    }
    Ok(checked)
}

/// Tells the account holder by email (SPEC §12); never fails the request.
pub async fn notify_account(
    state: &AppState,
    account: &twostep_core::store::Account,
    notice: Notice<'_>,
    meta: &crate::service::RequestMeta,
) {
    if account.email.is_none() {
        return;
    }
    match state.store.org_by_id(account.org_id).await {
        Ok(org) => crate::service::notify::send(state, &org, account, notice, meta).await,
        Err(e) => tracing::warn!(error = %e, "notification skipped: organization not readable"),
    }
}
