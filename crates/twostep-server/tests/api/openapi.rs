//! The OpenAPI document covers every route, body and error code (issue 7).

use crate::both;
use crate::support::TestApp;
use serde_json::Value;

both!(the_openapi_document_describes_every_route_and_every_route_answers, the_docs_page_is_served_from_the_binary);

/// Every endpoint of SPEC §6 plus Twostep's additions.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/api/v1/login"),
    ("post", "/api/v1/login/sms"),
    ("post", "/api/v1/login/verify"),
    ("post", "/api/v1/logout"),
    ("get", "/api/v1/session"),
    ("get", "/api/v1/me/two-step"),
    ("post", "/api/v1/me/two-step/totp"),
    ("post", "/api/v1/me/two-step/totp/confirm"),
    ("delete", "/api/v1/me/two-step/totp"),
    ("post", "/api/v1/me/two-step/sms"),
    ("post", "/api/v1/me/two-step/sms/confirm"),
    ("delete", "/api/v1/me/two-step/sms"),
    ("post", "/api/v1/me/two-step/recovery-codes"),
    ("post", "/api/v1/me/two-step/verify"),
    ("post", "/api/v1/me/two-step/verify/sms"),
    ("post", "/api/v1/login/webauthn"),
    ("post", "/api/v1/me/two-step/webauthn"),
    ("post", "/api/v1/me/two-step/webauthn/confirm"),
    ("delete", "/api/v1/me/two-step/methods/{id}"),
    ("post", "/api/v1/me/two-step/verify/webauthn"),
    ("get", "/api/v1/me/sessions"),
    ("delete", "/api/v1/me/sessions/{id}"),
    ("get", "/api/v1/admin/two-step"),
    ("post", "/api/v1/admin/two-step/connect"),
    ("post", "/api/v1/admin/two-step/enable"),
    ("post", "/api/v1/admin/two-step/disable"),
    ("put", "/api/v1/admin/two-step/profiles/{slug}"),
    ("put", "/api/v1/admin/two-step/organization"),
    ("put", "/api/v1/admin/two-step/enrollment-period"),
    ("put", "/api/v1/admin/two-step/remember-device"),
    ("get", "/api/v1/me/devices"),
    ("delete", "/api/v1/me/devices/{id}"),
    ("post", "/api/v1/login/skip-enrollment"),
    ("get", "/api/v1/admin/two-step/users"),
    ("delete", "/api/v1/admin/users/{username}/two-step"),
    ("get", "/api/v1/admin/audit"),
    ("get", "/api/v1/admin/apps"),
    ("post", "/api/v1/admin/apps"),
    ("delete", "/api/v1/admin/apps/{client_id}"),
    ("post", "/api/v1/admin/apps/{client_id}/secret"),
    ("post", "/api/v1/me/password"),
    ("post", "/api/v1/login/access-code"),
    ("post", "/api/v1/setup/{token}"),
    ("get", "/api/v1/admin/users"),
    ("post", "/api/v1/admin/users"),
    ("patch", "/api/v1/admin/users/{username}"),
    ("delete", "/api/v1/admin/users/{username}"),
    ("post", "/api/v1/admin/users/{username}/password-reset"),
    ("post", "/api/v1/admin/users/{username}/access-code"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
];

async fn the_openapi_document_describes_every_route_and_every_route_answers(app: TestApp) {
    let r = app.get("/api/openapi.json", None).await;
    assert_eq!(r.status, 200);
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in ROUTES {
        let op = &paths.get(*path).unwrap_or_else(|| panic!("{path} missing"))[*method];
        assert!(op.is_object(), "{method} {path} missing");
        assert!(!op["responses"].as_object().unwrap().is_empty(), "{method} {path} has no responses");
    }
    let documented: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(documented, ROUTES.len(), "the document has routes this test does not know");
    // Every documented route is really routed: no 404/405 from the router.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "1")
                .replace("{slug}", "technician")
                .replace("{username}", "maria")
                .replace("{token}", "x");
            let r =
                app.call(method.to_uppercase().parse().unwrap(), &concrete, None, Some(serde_json::json!({}))).await;
            assert!(r.status != 405, "{method} {path} is not routed");
            if r.status == 404 {
                panic!("{method} {path} is not routed: {}", r.text);
            }
        }
    }
    // Every error code the API can give is named in the schema.
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for code in [
        "invalid_request",
        "unknown_client",
        "invalid_credentials",
        "session_invalid",
        "session_revoked",
        "flow_expired",
        "invalid_code",
        "forbidden",
        "two_step_unsupported_client",
        "two_step_not_available",
        "step_up_required",
        "not_found",
        "addon_unavailable",
        "addon_not_connected",
        "two_step_disabled",
        "method_required",
        "invalid_phone",
        "two_step_locked",
        "rate_limited",
        "sms_rate_limited",
        "sms_delivery_failed",
        "unavailable",
        "weak_password",
        "account_disabled",
        "access_code_required",
        "link_expired",
        "conflict",
    ] {
        assert!(codes.contains(&code), "{code} not in ErrorCode");
    }
    // Request bodies are described.
    let login = &paths["/api/v1/login"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(login.is_object(), "login body undocumented");
    let _: &Value = login;
}

async fn the_docs_page_is_served_from_the_binary(app: TestApp) {
    let r = app.http.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let html = r.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    assert!(!html.contains("https://") && !html.contains("http://"), "the docs page loads something from elsewhere");
}
