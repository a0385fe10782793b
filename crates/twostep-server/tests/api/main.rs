//! API tests: the real application on port 0, on SQLite and PostgreSQL.

#[path = "../common/mod.rs"]
mod common;
mod support;

mod accounts;
mod email;
mod forward;
mod hardening;
mod login;
mod oidc;
mod openapi;
mod policy;
mod properties;
mod rollout;
mod sms;
mod totp;
mod webauthn;
