//! Who may see a page, said by the type of one handler argument, as `api::callers` says
//! it for the JSON API: a [`SignedIn`] session (otherwise the browser goes to `/login`,
//! with the reason in a flash cookie when the session was revoked or expired), or a
//! [`SignedInAdmin`] (a non-admin gets the "forbidden" page). A handler with a form takes
//! them through `BodyThen<Posted<_>, _>` so the form and its CSRF token are checked
//! first, as they always were.

use super::ctx::Ctx;
use super::{error_page, signed_in};
use crate::service::admin::Admin;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use twostep_core::store::SessionView;

/// The signed-in session of the browser.
pub struct SignedIn(pub SessionView);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(ctx) = Ctx::from_request_parts(parts, state).await;
        signed_in(&ctx, state).await.map(Self)
    }
}

/// The signed-in session of an administrator of its organisation.
pub struct SignedInAdmin(pub SessionView, pub Admin);

impl FromRequestParts<AppState> for SignedInAdmin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Ok(ctx) = Ctx::from_request_parts(parts, state).await;
        let session = signed_in(&ctx, state).await?;
        match Admin::check(session.clone()) {
            Ok(admin) => Ok(Self(session, admin)),
            Err(e) => Err(error_page(&ctx, &e)),
        }
    }
}
