//! Twostep's domain: accounts, policy, credentials and the sign-in state machine.
//!
//! Nothing here knows HTTP or SQL; time is always passed in and storage is reached
//! through the [`store::Store`] trait.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod aad;
pub mod clock;
pub mod credential;
pub mod crypto;
pub mod domain;
pub mod flow;
pub mod oauth;
pub mod policy;
pub mod store;

pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
