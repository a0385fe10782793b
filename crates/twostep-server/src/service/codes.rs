//! Checking a second-step code (TOTP, SMS or recovery code) under the account lockout.

use crate::service::audit::{self, Event};
use crate::service::notify::Notice;
use crate::service::{Refusal, RequestMeta, ServiceResult, sms};
use crate::state::AppState;
use serde::Deserialize;
use twostep_core::aad::Aad;
use twostep_core::credential::{recovery, totp};
use twostep_core::domain::{MethodKind, OtpCode};
use twostep_core::store::{Account, Claim, NewSession, SecondStep, Settled, SmsBinding};

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

/// A proof as far as it can be judged without writing: what it claims in the store (an
/// authenticator app's time step, a recovery code, or nothing when it matched no method),
/// or a proof whose check writes on its own (a text-message code, a key's assertion).
enum Judged<'p> {
    Claim { claim: Claim, factor: &'static str },
    Writes(Proof<'p>),
}

async fn judge<'p>(state: &AppState, account: &Account, proof: Proof<'p>) -> ServiceResult<Judged<'p>> {
    let now = state.now();
    let nothing = |factor| Ok(Judged::Claim { claim: Claim::Nothing, factor });
    match proof {
        // A key answers with an assertion, never a code.
        Proof::Code(CodeMethod::Webauthn, _) => nothing("webauthn"),
        Proof::Code(CodeMethod::Totp, code) => {
            let Ok(code) = OtpCode::parse(code) else { return nothing("totp") };
            let methods = state.store.methods(account.id).await?;
            // Several authenticator apps (SPEC §14): the code is checked against each; the
            // one it matches claims the time step.
            for m in methods.iter().filter(|m| m.kind == MethodKind::Totp) {
                let secret = state.keyring.open(&m.key_id, &m.sealed, &Aad::Totp { account_id: account.id }.bytes())?;
                if let Some(step) = totp::matching_step(&secret, code.expose(), now) {
                    return Ok(Judged::Claim { claim: Claim::TotpStep { method_id: m.id, step }, factor: "totp" });
                }
            }
            nothing("totp")
        }
        Proof::Code(CodeMethod::RecoveryCode, code) => {
            if recovery::normalize(code).is_none() {
                return nothing("recovery_code");
            }
            let hash = recovery::hash(account.id, code);
            Ok(Judged::Claim { claim: Claim::RecoveryCode { hash }, factor: "recovery_code" })
        }
        Proof::Code(CodeMethod::Sms, _) | Proof::Key { .. } => Ok(Judged::Writes(proof)),
    }
}

/// Checks a proof whose check writes on its own (a text-message code is spent, a key's
/// challenge ended), without touching the lockout counters.
async fn check_writing(state: &AppState, ctx: &CodeContext<'_>, proof: Proof<'_>) -> ServiceResult<Checked> {
    let account = ctx.account;
    match proof {
        Proof::Key { challenge_id, credential } => {
            crate::service::webauthn::check_assertion(state, ctx, challenge_id, credential).await
        }
        Proof::Code(CodeMethod::Sms, code) => {
            let Ok(code) = OtpCode::parse(code) else { return Ok(Checked::Wrong) };
            if !sms::check_code(state, account.id, ctx.binding, &code).await? {
                return Ok(Checked::Wrong);
            }
            if let Some(phone) = state.store.methods(account.id).await?.iter().find(|m| m.kind == MethodKind::Sms) {
                state.store.method_used(phone.id, None, state.now()).await?;
            }
            Ok(Checked::Accepted { recovery_codes_remaining: None, factor: "sms" })
        }
        Proof::Code(..) => Ok(Checked::Wrong),
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

/// At sign-in, the flow a second step ends and the session it opens when it passes
/// (its `second_factor` is set from the proof).
pub struct Opening {
    pub flow_id: i64,
    pub session: NewSession,
}

/// Checks a second-step proof under the per-account lockout (SPEC §4). With an
/// [`Opening`], the session is open when this returns [`Checked::Accepted`], and only the
/// caller that ends the flow gets it ([`Refusal::FlowExpired`] for the others).
///
/// A proof judged in memory (an authenticator app's code, a recovery code) is settled in
/// one transaction: attempt, claim, count, and the session
/// ([`twostep_core::store::LimitStore::settle_second_step`]). One whose check writes on its
/// own takes an [`Attempt`] first.
pub async fn second_step(
    state: &AppState,
    ctx: &CodeContext<'_>,
    proof: Proof<'_>,
    opening: Option<Opening>,
) -> ServiceResult<Checked> {
    let method = proof.method();
    let account = ctx.account;
    let now = state.now();
    let event = |kind, outcome| Event {
        org_id: Some(account.org_id),
        kind,
        actor: Some(&account.username),
        subject: Some(&account.username),
        client: ctx.client,
        outcome,
    };
    let opening_with = |factor: &str, opening: Opening| {
        let session = NewSession { second_factor: Some(factor.to_owned()), two_step_verified: true, ..opening.session };
        (opening.flow_id, session)
    };
    let (checked, locked_until) = match judge(state, account, proof).await? {
        Judged::Claim { claim, factor } => {
            let replay = matches!(claim, Claim::TotpStep { .. });
            let open = opening.map(|o| opening_with(factor, o));
            match state.store.settle_second_step(SecondStep { account_id: account.id, now, claim, open }).await? {
                Settled::Locked { retry_after } => {
                    audit::record(state, ctx.meta, event("two_step.locked_refused", "refused")).await;
                    return Err(Refusal::TwoStepLocked { retry_after });
                }
                Settled::FlowEnded => return Err(Refusal::FlowExpired),
                Settled::Accepted { recovery_codes_remaining, .. } => {
                    (Checked::Accepted { recovery_codes_remaining, factor }, None)
                }
                Settled::Refused { locked_until } => {
                    if replay {
                        // RFC 6238 §5.2: a code is accepted once; a second use is refused and noted.
                        audit::record(state, ctx.meta, event("two_step.replay_refused", "refused")).await;
                    }
                    (Checked::Wrong, locked_until)
                }
            }
        }
        Judged::Writes(proof) => {
            let attempt = match Attempt::reserve(state, account.id).await? {
                Ok(attempt) => attempt,
                Err(retry_after) => {
                    audit::record(state, ctx.meta, event("two_step.locked_refused", "refused")).await;
                    return Err(Refusal::TwoStepLocked { retry_after });
                }
            };
            match check_writing(state, ctx, proof).await? {
                Checked::Accepted { recovery_codes_remaining, factor } => {
                    attempt.passed(now).await?;
                    if let Some((flow_id, session)) = opening.map(|o| opening_with(factor, o)) {
                        state.store.open_session_from_flow(flow_id, session).await?.ok_or(Refusal::FlowExpired)?;
                    }
                    (Checked::Accepted { recovery_codes_remaining, factor }, None)
                }
                Checked::Wrong => (Checked::Wrong, attempt.failed(now).await?),
            }
        }
    };
    match checked {
        Checked::Accepted { recovery_codes_remaining, .. } => {
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
            if let Some(until) = locked_until {
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
