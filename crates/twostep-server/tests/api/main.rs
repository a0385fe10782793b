//! API tests: the real application on port 0, on SQLite and PostgreSQL.

mod support;

mod accounts;
mod email;
mod hardening;
mod login;
mod openapi;
mod policy;
mod properties;
mod sms;
mod totp;
