//! SPEC §12 notifications through the `smtp` provider, against a real SMTP server this
//! test runs over TCP: one that accepts, one that refuses, one that hangs. A failed send
//! is logged and audited and never blocks the change.

use crate::both_with;
use crate::support::{PASSWORD, TestApp};
use serde_json::json;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use twostep_server::config::{Config, EmailProvider};

#[derive(Clone, Copy, PartialEq)]
enum Behaviour {
    Accept,
    Refuse,
    Hang,
}

/// Messages received, by server port: (recipient, full DATA text).
type Inbox = Mutex<HashMap<u16, Vec<(String, String)>>>;

fn inbox() -> &'static Inbox {
    static INBOX: OnceLock<Inbox> = OnceLock::new();
    INBOX.get_or_init(Default::default)
}

/// A minimal SMTP server (RFC 5321: greeting, EHLO, MAIL, RCPT, DATA, QUIT) on its own
/// thread; returns its port.
fn start(behaviour: Behaviour) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                if behaviour == Behaviour::Hang {
                    // Accept the connection and say nothing, ever.
                    std::thread::sleep(Duration::from_secs(60));
                    return;
                }
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut say = |line: &str| {
                    let _ = stream.write_all(format!("{line}\r\n").as_bytes());
                };
                say("220 test.local ESMTP");
                let mut rcpt = String::new();
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let upper = line.to_ascii_uppercase();
                    if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        say("250-test.local");
                        say("250 8BITMIME");
                    } else if upper.starts_with("MAIL FROM") {
                        if behaviour == Behaviour::Refuse {
                            say("550 5.7.1 relaying denied");
                        } else {
                            say("250 OK");
                        }
                    } else if upper.starts_with("RCPT TO") {
                        rcpt = line.trim().trim_start_matches("RCPT TO:").trim_matches(['<', '>']).to_owned();
                        say("250 OK");
                    } else if upper.starts_with("DATA") {
                        say("354 go ahead");
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            data.push_str(&line);
                        }
                        inbox().lock().unwrap().entry(port).or_default().push((rcpt.clone(), data));
                        say("250 queued");
                    } else if upper.starts_with("QUIT") {
                        say("221 bye");
                        return;
                    } else if upper.starts_with("RSET") || upper.starts_with("NOOP") {
                        say("250 OK");
                    } else {
                        say("502 not implemented");
                    }
                }
            });
        }
    });
    port
}

fn configure(c: &mut Config, behaviour: Behaviour) {
    let port = start(behaviour);
    c.email.provider = EmailProvider::Smtp;
    c.email.smtp_url = format!("smtp://127.0.0.1:{port}").into();
    c.email.from = "Twostep <no-reply@test.local>".into();
    c.email.timeout = Duration::from_secs(1);
}

fn accepting(c: &mut Config) {
    configure(c, Behaviour::Accept)
}
fn refusing(c: &mut Config) {
    configure(c, Behaviour::Refuse)
}
fn hanging(c: &mut Config) {
    configure(c, Behaviour::Hang)
}
/// STARTTLS required, from a server that does not offer it.
fn requiring_tls(c: &mut Config) {
    configure(c, Behaviour::Accept);
    let url = format!("{}?tls=required", c.email.smtp_url.expose());
    c.email.smtp_url = url.into();
}

fn port_of(app: &TestApp) -> u16 {
    let url = url::Url::parse(app.state.config.email.smtp_url.expose()).unwrap();
    url.port().unwrap()
}

fn messages(app: &TestApp) -> Vec<(String, String)> {
    inbox().lock().unwrap().get(&port_of(app)).cloned().unwrap_or_default()
}

/// Mail is sent after the answer has been decided; give the server a moment.
async fn wait_for(app: &TestApp, n: usize) -> Vec<(String, String)> {
    let start = Instant::now();
    loop {
        let got = messages(app);
        if got.len() >= n || start.elapsed() > Duration::from_secs(5) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Quoted-printable soft line breaks undone, so a long link can be searched for.
fn unfolded(data: &str) -> String {
    data.replace("=\r\n", "").replace("=3D", "=")
}

async fn the_setup_link_goes_to_the_user_alone_and_events_are_notified(app: TestApp) {
    let admin = app.acme(true).await;
    let r = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "username": "joao", "profile": "technician", "email": "joao@example.com" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let url = r.body["setup_link"]["url"].as_str().unwrap().to_owned();
    let token = url.rsplit('/').next().unwrap().to_owned();
    let got = wait_for(&app, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "joao@example.com");
    let body = unfolded(&got[0].1);
    assert!(body.contains("Subject: Choose your password"), "{body}");
    assert!(body.contains(&token), "the link is in the user's own message");

    // Password changed, then a method enabled: both told, and no secret in either.
    let done =
        app.post(&format!("/api/v1/setup/{token}"), None, json!({ "password": "violet tangerine orbit 42" })).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let session = app.session_with("joao", "violet tangerine orbit 42").await;
    let (secret, codes) = app.enroll_totp(&session).await;
    let got = wait_for(&app, 3).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got[1].1.contains("Subject: Your password was changed"), "{}", got[1].1);
    assert!(got[2].1.contains("Subject: 2-Step Verification method added"), "{}", got[2].1);
    for (_, data) in &got[1..] {
        let data = unfolded(data);
        assert!(!data.contains(&token) && !data.contains("violet tangerine"));
        for code in &codes {
            assert!(!data.contains(code.as_str()));
        }
        let _ = &secret;
    }
    let events = app.events("acme").await;
    assert_eq!(events.iter().filter(|e| e.event.kind == "email.sent").count(), 3);
    // An admin reset is told too, to the user only.
    assert_eq!(app.delete("/api/v1/admin/users/joao/two-step", Some(&admin)).await.status, 204);
    let got = wait_for(&app, 4).await;
    assert!(got[3].1.contains("Subject: Your 2-Step Verification was reset"));
}

async fn a_refusing_server_never_blocks_the_change(app: TestApp) {
    let admin = app.acme(false).await;
    let r = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "username": "joao", "profile": "technician", "email": "j@example.com" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(messages(&app).is_empty());
    let events = app.events("acme").await;
    let failed: Vec<_> = events.iter().filter(|e| e.event.kind == "email.failed").collect();
    assert_eq!(failed.len(), 1, "{events:?}");
    assert_eq!(failed[0].event.subject.as_deref(), Some("joao"));
    assert_eq!(failed[0].event.outcome, "setup_link");
}

async fn a_hanging_server_times_out_and_never_blocks_the_change(app: TestApp) {
    let admin = app.acme(false).await;
    let started = Instant::now();
    let r = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "username": "joao", "profile": "technician", "email": "j@example.com" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let events = app.events("acme").await;
    assert!(events.iter().any(|e| e.event.kind == "email.failed"), "{events:?}");
    // The password change of a user with an address still happens.
    let maria = app.session("acme", "maria").await;
    let email = json!({ "email": "maria@example.com" });
    assert_eq!(
        app.call(reqwest::Method::PATCH, "/api/v1/admin/users/maria", Some(&admin), Some(email)).await.status,
        200
    );
    let r = app
        .post(
            "/api/v1/me/password",
            Some(&maria),
            json!({ "current_password": PASSWORD, "new_password": "violet tangerine orbit 42" }),
        )
        .await;
    assert_eq!(r.status, 204);
}

/// With `tls=required`, a server without STARTTLS gets nothing in clear.
async fn required_tls_is_never_downgraded_to_plain_text(app: TestApp) {
    let admin = app.acme(false).await;
    let r = app
        .post(
            "/api/v1/admin/users",
            Some(&admin),
            json!({ "username": "joao", "profile": "technician", "email": "j@example.com" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(messages(&app).is_empty(), "a message went out in clear");
    assert!(app.events("acme").await.iter().any(|e| e.event.kind == "email.failed"));
}

mod tls {
    use super::*;
    both_with!(super::requiring_tls; required_tls_is_never_downgraded_to_plain_text);
}

mod accept {
    use super::*;
    both_with!(super::accepting; the_setup_link_goes_to_the_user_alone_and_events_are_notified);
}
mod refuse {
    use super::*;
    both_with!(super::refusing; a_refusing_server_never_blocks_the_change);
}
mod hang {
    use super::*;
    both_with!(super::hanging; a_hanging_server_times_out_and_never_blocks_the_change);
}
