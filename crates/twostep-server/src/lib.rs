//! Twostep's server: the JSON API, the pages, the SMS providers and the command line.
//! `main.rs` stays thin; tests build the same application through [`startup`].
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod check;
pub mod cli;
pub mod commands;
pub mod commands_users;
pub mod config;
pub mod demo;
pub mod edge;
pub mod email;
pub mod extract;
pub mod key;
pub mod malloc;
pub mod metrics;
pub mod oidc;
pub mod qr;
pub mod rotation;
pub mod service;
pub mod sms_providers;
pub mod startup;
pub mod state;
pub mod touches;
pub mod web;
