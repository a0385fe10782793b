//! Request bodies through the API's own JSON path (`api::parse_body`, used by its
//! extractor): any bytes give a body or 400 `invalid_request` in the error shape.
#![no_main]

use axum::http::StatusCode;
use axum::response::IntoResponse;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use twostep_server::api::admin::MandatoryBody;
use twostep_server::api::login::{LoginBody, VerifyBody};
use twostep_server::api::me::{CodeBody, PhoneBody, StepUpBody};
use twostep_server::api::parse_body;
use twostep_server::service::Refusal;

fn check<T: DeserializeOwned>(data: &[u8]) {
    if let Err(e) = parse_body::<T>(data) {
        assert!(matches!(e, Refusal::InvalidRequest(_)), "{e:?}");
        assert_eq!(e.into_response().status(), StatusCode::BAD_REQUEST);
    }
}

fuzz_target!(|data: &[u8]| {
    check::<LoginBody>(data);
    check::<VerifyBody>(data);
    check::<CodeBody>(data);
    check::<PhoneBody>(data);
    check::<StepUpBody>(data);
    check::<MandatoryBody>(data);
    check::<serde_json::Value>(data);
});
