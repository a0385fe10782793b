//! Properties of the whole router under generated requests (issue 7): to every documented
//! endpoint, with any documented method, bearer token, path parameter, query string and
//! body, the answer is never a 5xx, and every 4xx is `{"error":{"code","message"}}` with a
//! code the OpenAPI document lists.

use crate::support::{PASSWORD, TestApp};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};
use twostep_core::credential::totp;
use twostep_store::testing::Backend;

#[test]
fn generated_requests_never_get_a_server_error_and_errors_keep_their_shape_on_sqlite() {
    run(Backend::Sqlite, 400);
}

#[test]
fn generated_requests_never_get_a_server_error_and_errors_keep_their_shape_on_postgres() {
    run(Backend::Postgres, 150);
}

/// What a generated request carries in `Authorization`.
#[derive(Debug, Clone)]
enum Auth {
    None,
    /// `Bearer` and one of the seeded tokens (sessions and flows of real users).
    Seeded(usize),
    /// `Bearer` and anything.
    Bearer(String),
    /// A whole header value, whatever its scheme.
    Raw(String),
}

#[derive(Debug, Clone)]
enum Body {
    None,
    Json(Value),
    /// A JSON document cut short.
    Truncated(Value, usize),
    Bytes(Vec<u8>),
    /// Larger than the 64 KiB limit.
    Huge,
}

#[derive(Debug, Clone)]
struct Request {
    /// Index into the documented routes (taken modulo their number).
    route: usize,
    /// Another method than the documented one, sometimes.
    method: Option<Method>,
    params: Vec<String>,
    query: Option<String>,
    auth: Auth,
    body: Body,
    json_content_type: bool,
}

/// Printable ASCII and a few awkward characters, for header values and text.
fn text(max: usize) -> impl Strategy<Value = String> {
    let chars = prop_oneof![
        8 => (0x20u8..0x7f).prop_map(char::from),
        1 => prop::sample::select(vec!['é', '•', '\u{0}', '\n', '\t', '😀', '\u{202e}']),
    ];
    prop::collection::vec(chars, 0..max).prop_map(|c| c.into_iter().collect())
}

/// Words the API gives meaning to, so generated bodies reach past the first check.
fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "acme",
            "boss",
            "maria",
            "guest",
            "nina",
            "nobody",
            "web",
            "api",
            "technician-app",
            "unknown-app",
            "totp",
            "sms",
            "recovery_code",
            "123456",
            "000000",
            "12 34 56",
            "+351912345678",
            "00351912345678",
            "912345678",
            "abcde-fghjk",
            PASSWORD,
            "",
            " ",
        ])
        .prop_map(str::to_owned),
        text(24),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        word().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(8), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object with some of the fields the endpoints read, each of any type.
fn json_body() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "organization",
        "username",
        "password",
        "client",
        "method",
        "code",
        "phone",
        "mandatory",
        "extra",
    ]);
    let field = prop_oneof![
        4 => word().prop_map(Value::String),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => json_value(),
    ];
    prop_oneof![
        6 => prop::collection::btree_map(key, field, 0..6)
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    let method = prop_oneof![
        6 => Just(None),
        1 => prop::sample::select(vec![Method::GET, Method::POST, Method::PUT, Method::DELETE]).prop_map(Some),
    ];
    let param = prop_oneof![
        prop::sample::select(vec!["1", "0", "-1", "99999999999999999999", "technician", "admin", "maria", "boss", "x"])
            .prop_map(str::to_owned),
        text(20),
    ];
    let query_value = prop_oneof![
        prop::sample::select(vec!["", "0", "1", "50", "100", "101", "-5", "abc", "1e3", "2030-01-01T00:00:00Z", "9"])
            .prop_map(str::to_owned),
        text(16),
    ];
    let query = prop_oneof![
        3 => Just(None),
        2 => (prop::option::of(query_value.clone()), prop::option::of(query_value))
            .prop_map(|(l, b)| {
                let mut q = Vec::new();
                if let Some(l) = l { q.push(format!("limit={}", encode(&l))) }
                if let Some(b) = b { q.push(format!("before={}", encode(&b))) }
                Some(q.join("&"))
            }),
        1 => text(24).prop_map(|q| Some(encode_loose(&q))),
    ];
    let auth = prop_oneof![
        2 => Just(Auth::None),
        6 => (0usize..16).prop_map(Auth::Seeded),
        1 => text(40).prop_map(Auth::Bearer),
        1 => text(40).prop_map(Auth::Raw),
    ];
    let body = prop_oneof![
        2 => Just(Body::None),
        6 => json_body().prop_map(Body::Json),
        1 => (json_body(), any::<usize>()).prop_map(|(v, at)| Body::Truncated(v, at)),
        1 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Body::Bytes),
        1 => Just(Body::Huge),
    ];
    (any::<usize>(), method, prop::collection::vec(param, 2), query, auth, body, any::<bool>()).prop_map(
        |(route, method, params, query, auth, body, json_content_type)| Request {
            route,
            method,
            params,
            query,
            auth,
            body,
            json_content_type,
        },
    )
}

/// Percent-encodes everything but unreserved characters (a path segment or query value).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Keeps `=` and `&` so a raw query string still has structure.
fn encode_loose(s: &str) -> String {
    s.split('&').map(|pair| pair.split('=').map(encode).collect::<Vec<_>>().join("=")).collect::<Vec<_>>().join("&")
}

/// The seeded world: `acme` with 2SV on, `maria` enrolled in TOTP, `nina` in a mandatory
/// profile without a method; tokens of every kind a client can hold.
async fn seed(app: &TestApp) -> Vec<String> {
    let admin = app.acme(true).await;
    app.profile("acme", "ops", false).await;
    app.account("acme", "nina", Some("ops")).await;
    let r = app.put("/api/v1/admin/two-step/profiles/ops", Some(&admin), json!({ "mandatory": true })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let maria = app.session("acme", "maria").await;
    let (secret, _codes) = app.enroll_totp(&maria).await;
    let guest = app.session("acme", "guest").await;

    let mut tokens = vec![admin, maria, guest];
    for _ in 0..3 {
        let r = app.login("acme", "maria", PASSWORD, "web").await;
        assert_eq!(r.body["status"], "two_step_required", "{}", r.body);
        tokens.push(r.body["flow"]["token"].as_str().unwrap_or_default().to_owned());
    }
    for _ in 0..3 {
        let r = app.login("acme", "nina", PASSWORD, "web").await;
        assert_eq!(r.body["status"], "two_step_enrollment_required", "{}", r.body);
        tokens.push(r.body["flow"]["token"].as_str().unwrap_or_default().to_owned());
    }
    // A verified session of maria (step-up fresh), and one that was ended.
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    let flow = r.body["flow"]["token"].as_str().unwrap_or_default().to_owned();
    let code = app.next_code(&secret);
    let r = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    assert_eq!(r.status, 200, "{}", r.body);
    tokens.push(r.body["session"]["token"].as_str().unwrap_or_default().to_owned());
    let ended = app.session("acme", "boss").await;
    assert_eq!(app.post("/api/v1/logout", Some(&ended), json!({})).await.status, 204);
    tokens.push(ended);
    // And a current TOTP code, so some verify calls can succeed.
    tokens.push(totp::code_at(&secret, app.now()));
    tokens
}

fn run(backend: Backend, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let Some(app) = rt.block_on(TestApp::spawn(backend)) else { return };
    let tokens = rt.block_on(seed(&app));
    let doc = rt.block_on(app.get("/api/openapi.json", None)).body;
    let mut routes: Vec<(Method, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.push((method.to_uppercase().parse().unwrap(), path.clone()));
        }
    }
    assert!(routes.len() >= 29, "{routes:?}");
    let codes: Vec<String> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();

    let config = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases),
        failure_persistence: None,
        max_shrink_iters: 256,
        ..ProptestConfig::default()
    };
    // A new connection for every request: a connection the server closed after refusing a
    // body it did not read is never reused, so a transport error can only be a crash.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&request(), |req| {
        let (documented, template) = &routes[req.route % routes.len()];
        let mut params = req.params.iter();
        let path = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') { encode(params.next().map_or("", String::as_str)) } else { segment.into() }
            })
            .collect::<Vec<_>>()
            .join("/");
        let url = match &req.query {
            Some(q) => app.url(&format!("{path}?{q}")),
            None => app.url(&path),
        };
        let method = req.method.clone().unwrap_or_else(|| documented.clone());
        let mut builder = http.request(method.clone(), url);
        builder = match &req.auth {
            Auth::None => builder,
            Auth::Seeded(i) => builder.bearer_auth(&tokens[i % tokens.len()]),
            Auth::Bearer(t) => builder.header("authorization", format!("Bearer {t}")),
            Auth::Raw(v) => builder.header("authorization", v.as_str()),
        };
        if req.json_content_type {
            builder = builder.header("content-type", "application/json");
        }
        builder = match &req.body {
            Body::None => builder,
            Body::Json(v) => builder.body(v.to_string()),
            Body::Truncated(v, at) => {
                let s = v.to_string().into_bytes();
                let cut = at % (s.len() + 1);
                builder.body(s[..cut].to_vec())
            }
            Body::Bytes(b) => builder.body(b.clone()),
            Body::Huge => builder.body(format!("{{\"code\":\"{}\"}}", "1".repeat(70 * 1024))),
        };
        let (status, text) = rt.block_on(async {
            match builder.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    (status, res.text().await.unwrap_or_default())
                }
                // Header values reqwest will not send are not requests at all.
                Err(e) if e.is_builder() => (0, String::new()),
                Err(e) => {
                    let mut chain = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(cause) = source {
                        chain.push_str(&format!(": {cause}"));
                        source = cause.source();
                    }
                    (599, chain)
                }
            }
        });
        if status == 0 {
            return Ok(());
        }
        let what = format!("{method} {path} {:?} auth={:?} body={:?}", req.query, req.auth, req.body);
        prop_assert!(status < 500, "{what} → {status} {text}");
        if status >= 400 {
            let body: Value = serde_json::from_str(&text)
                .map_err(|e| TestCaseError::fail(format!("{what} → {status}, not JSON ({e}): {text}")))?;
            let code = body["error"]["code"].as_str().unwrap_or_default();
            prop_assert!(body["error"]["message"].is_string(), "{what} → {status}, no message: {text}");
            prop_assert!(codes.iter().any(|c| c == code), "{what} → {status}, undocumented code: {text}");
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
