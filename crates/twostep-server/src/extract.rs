//! Who is calling, as types: the JSON API's extractors live in `api::callers`, the pages'
//! in `web::callers`. This module holds what both share.

use axum::extract::{FromRequest, FromRequestParts, Request};

/// A request body `B` and a caller `A`, checked in that order: a malformed body is
/// refused before anyone is authenticated, as the handlers always did (axum runs every
/// `FromRequestParts` extractor before the body one, so the order has to be spelt out).
pub struct BodyThen<B, A>(pub B, pub A);

impl<S, B, A> FromRequest<S> for BodyThen<B, A>
where
    S: Send + Sync,
    B: FromRequest<S> + Send,
    A: FromRequestParts<S, Rejection = B::Rejection> + Send,
{
    type Rejection = B::Rejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let mut head = parts.clone();
        let b = B::from_request(Request::from_parts(parts, body), state).await?;
        let a = A::from_request_parts(&mut head, state).await?;
        Ok(Self(b, a))
    }
}
