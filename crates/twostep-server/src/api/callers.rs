//! Who may call an endpoint, said by the type of one handler argument: a live
//! [`Session`], an [`Admin`] of the organisation, a [`Caller`] (a session, or the
//! enrollment flow of a sign-in whose 2SV is mandatory), or the token of a
//! [`SignInFlow`] or an [`EnrollmentFlow`]. Each refuses with the API's usual error
//! (401 `session_invalid`/`session_revoked`, 403 `forbidden`, 401 `flow_expired`).
//!
//! SPEC §11.3 ("administrators re-confirm") is [`Admin::reconfirm`]: the actions that
//! weaken protection call it, some only for some inputs (making a profile optional, not
//! mandatory), so it is a method of the extracted `Admin` rather than a type of its own.

use crate::api::Bearer;
use crate::api::error::ApiError;
use crate::service::auth;
use crate::service::me::{self, Caller};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use twostep_core::store::SessionView;

pub use crate::service::admin::Admin;

/// A live session (`Authorization: Bearer <session token>`).
pub struct Session(pub SessionView);

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = Bearer::from_request_parts(parts, state).await?.session()?;
        Ok(Self(auth::authenticate(state, &token).await?))
    }
}

/// The session of an administrator of its organisation.
impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Session(session) = Session::from_request_parts(parts, state).await?;
        Ok(Admin::check(session)?)
    }
}

/// The caller of `/api/v1/me/two-step/…`: a session, or an enrollment flow's token.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = Bearer::from_request_parts(parts, state).await?.session()?;
        Ok(me::caller(state, &token).await?)
    }
}

/// The token of a sign-in flow waiting for its second step. The service looks the flow
/// up (and refuses one of another kind, expired, or failed too often) when it uses it,
/// after the body has been read.
pub struct SignInFlow(pub String);

impl<S: Send + Sync> FromRequestParts<S> for SignInFlow {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Self(Bearer::from_request_parts(parts, state).await?.flow()?))
    }
}

/// The token of an enrollment flow (a sign-in whose 2SV is mandatory and not set up).
pub struct EnrollmentFlow(pub String);

impl<S: Send + Sync> FromRequestParts<S> for EnrollmentFlow {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Ok(Self(Bearer::from_request_parts(parts, state).await?.flow()?))
    }
}
