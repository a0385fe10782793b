//! SPEC §13: forward authentication for reverse proxies — `/auth/forward` in its two
//! modes, `?require=2sv`, `/login?rd=` only within `forward_auth.allowed_domains` (no open
//! redirect), `cookie_domain` — and a real nginx with `auth_request` in front of an app.

use crate::support::{PASSWORD, TestApp};
use crate::{both, both_with};
use serde_json::json;
use twostep_server::config::Config;

both!(
    the_forward_endpoint_names_the_user_of_a_session_cookie_and_refuses_others,
    require_2sv_refuses_a_session_without_a_second_step,
);

mod allowed {
    use super::*;
    both_with!(super::example_com;
        login_returns_only_to_addresses_under_the_allowed_domains,
        nginx_auth_request_lets_signed_in_users_through_and_sends_others_to_sign_in,
    );
}

mod shared {
    use super::*;
    both_with!(super::shared_cookie; a_shared_cookie_domain_names_the_session_cookie_without_the_host_prefix);
}

fn example_com(config: &mut Config) {
    config.forward_auth.allowed_domains = vec!["example.com".into()];
}

/// The session cookie as the pages set it (public_url is https in the tests).
fn cookie(token: &str) -> String {
    format!("__Host-twostep_session={token}")
}

async fn forward(app: &TestApp, query: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = app
        .http
        .get(app.url(&format!("/auth/forward{query}")))
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "wiki.example.com")
        .header("x-forwarded-uri", "/pages/1?tab=history");
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

async fn the_forward_endpoint_names_the_user_of_a_session_cookie_and_refuses_others(app: TestApp) {
    let admin = app.acme(false).await;
    let patch = json!({ "display_name": "Maria Silva", "email": "maria@acme.example" });
    let r = app.call(reqwest::Method::PATCH, "/api/v1/admin/users/maria", Some(&admin), Some(patch)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = app.session("acme", "maria").await;
    let r = forward(&app, "", Some(&cookie(&token))).await;
    assert_eq!(r.status(), 200);
    let h = |name: &str| r.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(h("remote-user").as_deref(), Some("maria"));
    assert_eq!(h("remote-org").as_deref(), Some("acme"));
    assert_eq!(h("remote-profile").as_deref(), Some("technician"));
    assert_eq!(h("remote-two-step").as_deref(), Some("no"));
    assert_eq!(h("remote-name").as_deref(), Some("Maria Silva"));
    assert_eq!(h("remote-email").as_deref(), Some("maria@acme.example"));
    // nginx mode: 401; Caddy/Traefik mode: 302 to the sign-in page with the original URL.
    assert_eq!(forward(&app, "", None).await.status(), 401);
    assert_eq!(forward(&app, "", Some(&cookie("not-a-session"))).await.status(), 401);
    let r = forward(&app, "?redirect=1", None).await;
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        "https://login.example.com/login?rd=https%3A%2F%2Fwiki.example.com%2Fpages%2F1%3Ftab%3Dhistory"
    );
    // A session that ended is refused at once.
    app.post("/api/v1/logout", Some(&token), json!({})).await;
    assert_eq!(forward(&app, "", Some(&cookie(&token))).await.status(), 401);
}

async fn require_2sv_refuses_a_session_without_a_second_step(app: TestApp) {
    app.acme(true).await;
    let plain = app.session("acme", "maria").await;
    let enrolling = app.session("acme", "maria").await;
    let (secret, _) = app.enroll_totp(&enrolling).await;
    assert_eq!(forward(&app, "?require=2sv", Some(&cookie(&plain))).await.status(), 403);
    let r = app.login("acme", "maria", PASSWORD, "web").await;
    let flow = r.body["flow"]["token"].as_str().unwrap().to_owned();
    let code = app.next_code(&secret);
    let v = app.post("/api/v1/login/verify", Some(&flow), json!({ "method": "totp", "code": code })).await;
    let verified = v.body["session"]["token"].as_str().unwrap().to_owned();
    let r = forward(&app, "?require=2sv", Some(&cookie(&verified))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["remote-two-step"], "verified");
}

/// The open-redirect checks of issue 16: `/login?rd=` for a signed-in browser goes to `rd`
/// only when it is under an allowed domain; everything else lands on the home page.
async fn login_returns_only_to_addresses_under_the_allowed_domains(app: TestApp) {
    app.acme(false).await;
    let token = app.session("acme", "maria").await;
    let login = |rd: &str| {
        let (app, token) = (&app, token.clone());
        let rd: String = url::form_urlencoded::byte_serialize(rd.as_bytes()).collect();
        async move {
            let r = app
                .http
                .get(app.url(&format!("/login?rd={rd}")))
                .header("cookie", cookie(&token))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
            r.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    for good in ["https://wiki.example.com/pages/1?tab=history", "https://example.com/", "https://a.b.example.com/x"] {
        assert_eq!(login(good).await, good, "{good}");
    }
    for evil in [
        "//evil.com",
        "/\\evil.com",
        "https://evil.com",
        "https://evil.com/https://wiki.example.com",
        "https://example.com@evil.com",
        "https://wiki.example.com:x@evil.com/",
        "https://evil.com\\@wiki.example.com",
        "https:%2F%2Fevil.com",
        "https://evil.com%2F.example.com",
        "https://example.com.evil.com",
        "https://evilexample.com",
        "http://wiki.example.com/",
        "javascript:alert(1)//example.com",
        "https://wiki.example.com\t.evil.com",
        "  https://evil.com",
    ] {
        assert_eq!(login(evil).await, "/", "{evil:?} must not be followed");
    }
    // The same through a sign-in: the form keeps rd, the home page sends the browser on.
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(app.url("/login?rd=https%3A%2F%2Fwiki.example.com%2Fdoc")).send().await.unwrap();
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let jar = cookies.join("; ");
    let form = [("csrf", csrf.as_str()), ("organization", "acme"), ("username", "maria"), ("password", PASSWORD)];
    let r = http.post(app.url("/login")).header("cookie", &jar).form(&form).send().await.unwrap();
    assert_eq!(r.headers()["location"], "/");
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .find(|c| c.starts_with("__Host-twostep_session="))
        .unwrap();
    // A page that moves on by itself: a redirect would be stopped by the sign-in form's
    // `form-action 'self'` in a real browser.
    let r = http.get(app.url("/")).header("cookie", format!("{jar}; {session}")).send().await.unwrap();
    let page = r.text().await.unwrap();
    assert_eq!(crate::support::meta_refresh(&page).as_deref(), Some("https://wiki.example.com/doc"), "{page}");
}

fn shared_cookie(config: &mut Config) {
    example_com(config);
    config.forward_auth.cookie_domain = "example.com".into();
}

async fn a_shared_cookie_domain_names_the_session_cookie_without_the_host_prefix(app: TestApp) {
    app.acme(false).await;
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(app.url("/login")).send().await.unwrap();
    let seed = page.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let form = [("csrf", csrf.as_str()), ("organization", "acme"), ("username", "maria"), ("password", PASSWORD)];
    let r = http.post(app.url("/login")).header("cookie", &seed).form(&form).send().await.unwrap();
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("twostep_session="))
        .expect("the session cookie, named without __Host-");
    assert!(set.contains("Domain=example.com") && set.contains("Secure") && set.contains("HttpOnly"), "{set}");
    let pair = set.split(';').next().unwrap();
    let r = http.get(app.url("/auth/forward")).header("cookie", pair).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["remote-user"], "maria");
}

/// A real nginx (`auth_request`) in front of an app; skipped with a note when no nginx
/// is installed (`.ci/run` installs Debian's and sets `TWOSTEP_TEST_NGINX`).
async fn nginx_auth_request_lets_signed_in_users_through_and_sends_others_to_sign_in(app: TestApp) {
    let nginx = std::env::var("TWOSTEP_TEST_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".into());
    if !std::path::Path::new(&nginx).exists() {
        eprintln!("skipped: nginx test (install nginx or set TWOSTEP_TEST_NGINX)");
        return;
    }
    app.acme(false).await;
    let token = app.session("acme", "maria").await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let upstream = app.base.trim_start_matches("http://");
    // The app behind the proxy: it knows nothing of sign-in and greets whoever nginx names.
    let backend = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_upstream = backend.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = backend.accept().await {
            let mut buf = vec![0u8; 8192];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).to_lowercase();
            let header = |name: &str| {
                request.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")).map(|v| v.trim().to_owned()))
            };
            let body = format!(
                "hello {} ({})\n",
                header("remote-user").unwrap_or_default(),
                header("remote-two-step").unwrap_or_default()
            );
            let answer =
                format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    let d = dir.path().display();
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location = /_twostep {{
      internal;
      proxy_pass http://{upstream}/auth/forward;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host wiki.example.com;
      proxy_set_header X-Forwarded-Uri $request_uri;
    }}
    location = /_twostep_2sv {{
      internal;
      proxy_pass http://{upstream}/auth/forward?require=2sv;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
    }}
    root {d}/www;
    location / {{
      auth_request /_twostep;
      auth_request_set $user $upstream_http_remote_user;
      auth_request_set $twostep $upstream_http_remote_two_step;
      proxy_set_header Remote-User $user;
      proxy_set_header Remote-Two-Step $twostep;
      error_page 401 = @signin;
      proxy_pass http://{app_upstream};
    }}
    location /admin/ {{
      auth_request /_twostep_2sv;
      try_files /index.html =404;
    }}
    location @signin {{
      return 302 https://login.example.com/login?rd=https://wiki.example.com$request_uri;
    }}
  }}
}}
"#
    );
    std::fs::write(dir.path().join("nginx.conf"), conf).unwrap();
    std::fs::create_dir(dir.path().join("www")).unwrap();
    std::fs::write(dir.path().join("www/index.html"), "the app\n").unwrap();
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _nginx = Stop(
        std::process::Command::new(&nginx)
            .args(["-p", &d.to_string(), "-c", &format!("{d}/nginx.conf"), "-e", &format!("{d}/error.log")])
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if http.get(&base).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let log = || std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    assert!(ready, "nginx did not start: {}", log());
    let anonymous = http.get(format!("{base}/pages/1")).send().await.unwrap();
    assert_eq!(anonymous.status(), 302, "{}", log());
    assert_eq!(anonymous.headers()["location"], "https://login.example.com/login?rd=https://wiki.example.com/pages/1");
    let signed_in = http.get(format!("{base}/pages/1")).header("cookie", cookie(&token)).send().await.unwrap();
    assert_eq!(signed_in.status(), 200, "{}", log());
    assert_eq!(signed_in.text().await.unwrap(), "hello maria (no)\n", "the upstream sees Remote-User");
    let admin = http.get(format!("{base}/admin/")).header("cookie", cookie(&token)).send().await.unwrap();
    assert_eq!(admin.status(), 403, "require=2sv");
    // Signed out: the next request through nginx is sent to sign in.
    app.post("/api/v1/logout", Some(&token), json!({})).await;
    let after = http.get(format!("{base}/pages/1")).header("cookie", cookie(&token)).send().await.unwrap();
    assert_eq!(after.status(), 302);
}
