//! `ApiError`: a [`Refusal`] of the service as the JSON API answers it — the one place a
//! refusal gets its HTTP status, its `Retry-After` and its body
//! `{"error":{"code","message",…}}`. Internal errors become a plain 500 whose cause is
//! logged, never sent.

use crate::service::Refusal;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use twostep_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(pub Refusal);

pub type ApiResult<T, E = ApiError> = Result<T, E>;

/// The HTTP status of a refusal; the pages answer with it too.
pub trait Status {
    fn status(&self) -> StatusCode;
}

impl Status for Refusal {
    fn status(&self) -> StatusCode {
        use Refusal as R;
        match self {
            R::InvalidRequest(_) | R::UnknownClient => StatusCode::BAD_REQUEST,
            R::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            R::InvalidCredentials | R::SessionInvalid | R::SessionRevoked | R::FlowExpired | R::InvalidCode { .. } => {
                StatusCode::UNAUTHORIZED
            }
            R::Forbidden
            | R::ForbiddenBecause(_)
            | R::TwoStepUnsupportedClient
            | R::TwoStepNotAvailable
            | R::StepUpRequired => StatusCode::FORBIDDEN,
            R::NotFound(_) => StatusCode::NOT_FOUND,
            R::AddonUnavailable | R::AddonNotConnected | R::TwoStepDisabled | R::MethodRequired | R::Conflict(_) => {
                StatusCode::CONFLICT
            }
            R::InvalidPhone | R::WeakPassword { .. } | R::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            R::AccountDisabled | R::AccessCodeRequired => StatusCode::FORBIDDEN,
            R::LinkExpired => StatusCode::GONE,
            R::TwoStepLocked { .. } => StatusCode::LOCKED,
            R::RateLimited { .. } | R::SmsRateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            R::SmsDeliveryFailed => StatusCode::BAD_GATEWAY,
            R::Unavailable | R::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            R::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    pub fn status(&self) -> StatusCode {
        self.0.status()
    }

    fn retry_after(&self) -> Option<i64> {
        match self.0 {
            Refusal::TwoStepLocked { retry_after }
            | Refusal::RateLimited { retry_after }
            | Refusal::SmsRateLimited { retry_after }
            | Refusal::Busy { retry_after } => Some(retry_after),
            Refusal::Unavailable => Some(1),
            _ => None,
        }
    }

    /// The error's JSON body: `{"error":{"code","message",…extra}}`.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code()));
        let message = match &self.0 {
            Refusal::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        error.insert("message".into(), json!(message));
        match &self.0 {
            Refusal::InvalidCode { attempts_remaining: Some(n) } => {
                error.insert("attempts_remaining".into(), json!(n));
            }
            Refusal::TwoStepLocked { retry_after }
            | Refusal::RateLimited { retry_after }
            | Refusal::SmsRateLimited { retry_after }
            | Refusal::Busy { retry_after } => {
                error.insert("retry_after".into(), json!(retry_after));
            }
            Refusal::WeakPassword { reasons } => {
                let list: Vec<Value> =
                    reasons.iter().map(|r| json!({ "code": r.as_str(), "message": r.message() })).collect();
                error.insert("reasons".into(), Value::Array(list));
            }
            _ => {}
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Refusal::Internal(cause) = &self.0 {
            tracing::error!(%cause, "internal error");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after()
            && let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// A refusal answered directly, as the API answers it (also the pages' fetch calls).
impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        ApiError(self).into_response()
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        Self(refusal)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self(e.into())
    }
}
