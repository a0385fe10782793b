//! Text-message providers behind one trait (SPEC §5): `log`, `webhook`, `twilio`.

mod message;

pub use message::{check_templates, render};

use crate::config::{SmsConfig, SmsProvider};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use twostep_core::domain::PhoneNumber;

#[derive(Debug, thiserror::Error)]
#[error("text message not delivered: {0}")]
pub struct SmsError(pub String);

#[async_trait::async_trait]
pub trait SmsSender: Send + Sync + 'static {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError>;
}

/// Builds the configured provider; `outbox` receives copies in demo mode. Refuses
/// settings the provider cannot work with, so a misconfiguration stops the start.
pub fn provider(config: &SmsConfig, outbox: Option<Outbox>) -> Result<Arc<dyn SmsSender>, String> {
    check_templates(&config.templates)?;
    // Outbound calls give up after `sms.timeout` (5 s by default): the user is waiting.
    let client = || {
        reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))
    };
    Ok(match config.provider {
        SmsProvider::Log => Arc::new(LogSender { outbox }),
        SmsProvider::Webhook => {
            if config.webhook_url.is_empty() {
                return Err("sms.provider = \"webhook\" needs sms.webhook_url".into());
            }
            Arc::new(WebhookSender {
                client: client()?,
                url: config.webhook_url.clone(),
                token: config.webhook_token.expose().to_owned(),
            })
        }
        SmsProvider::Twilio => {
            if config.twilio_account_sid.is_empty()
                || config.twilio_auth_token.is_empty()
                || config.twilio_from.is_empty()
            {
                return Err(
                    "sms.provider = \"twilio\" needs sms.twilio_account_sid, twilio_auth_token and twilio_from".into(),
                );
            }
            Arc::new(TwilioSender {
                client: client()?,
                base_url: config.twilio_base_url.trim_end_matches('/').to_owned(),
                account_sid: config.twilio_account_sid.clone(),
                auth_token: config.twilio_auth_token.expose().to_owned(),
                from: config.twilio_from.clone(),
            })
        }
    })
}

/// A message kept for the demo outbox page.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub to: String,
    pub body: String,
    pub at: i64,
}

/// The last messages sent in demo mode, newest first (shown at `/dev/outbox`).
#[derive(Debug, Clone, Default)]
pub struct Outbox(Arc<Mutex<VecDeque<OutboxMessage>>>);

impl Outbox {
    const KEEP: usize = 50;

    pub fn push(&self, message: OutboxMessage) {
        if let Ok(mut q) = self.0.lock() {
            q.push_front(message);
            q.truncate(Self::KEEP);
        }
    }

    pub fn messages(&self) -> Vec<OutboxMessage> {
        self.0.lock().map(|q| q.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Development provider: the message goes to the server log (and the demo outbox).
/// It is the only place a code is ever logged; use `webhook` or `twilio` in production.
pub struct LogSender {
    outbox: Option<Outbox>,
}

#[async_trait::async_trait]
impl SmsSender for LogSender {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError> {
        tracing::info!(target: "twostep::sms::log", to = %to.hint(), body, "text message (log provider)");
        if let Some(outbox) = &self.outbox {
            let at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or_default();
            outbox.push(OutboxMessage { to: to.e164().to_owned(), body: body.to_owned(), at });
        }
        Ok(())
    }
}

/// POSTs `{"to","body"}` as JSON, with an optional bearer token.
pub struct WebhookSender {
    client: reqwest::Client,
    url: String,
    token: String,
}

#[async_trait::async_trait]
impl SmsSender for WebhookSender {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError> {
        let mut request = self.client.post(&self.url).json(&serde_json::json!({ "to": to.e164(), "body": body }));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        let response = request.send().await.map_err(|e| SmsError(describe(e)))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(SmsError(format!("webhook answered {}", response.status())))
        }
    }
}

/// Twilio's Messages API: a form POST to `{base}/2010-04-01/Accounts/{sid}/Messages.json`.
pub struct TwilioSender {
    client: reqwest::Client,
    base_url: String,
    account_sid: String,
    auth_token: String,
    from: String,
}

#[async_trait::async_trait]
impl SmsSender for TwilioSender {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError> {
        let url = format!("{}/2010-04-01/Accounts/{}/Messages.json", self.base_url, self.account_sid);
        let response = self
            .client
            .post(url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&[("To", to.e164()), ("From", self.from.as_str()), ("Body", body)])
            .send()
            .await
            .map_err(|e| SmsError(describe(e)))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(SmsError(format!("Twilio answered {}", response.status())))
        }
    }
}

/// A transport error without the URL (which may carry credentials).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        e.without_url().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode, Uri};
    use std::time::Duration;

    /// What the fake provider received.
    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        headers: HeaderMap,
        body: String,
    }

    #[derive(Clone)]
    struct Fake {
        seen: Arc<Mutex<Vec<Seen>>>,
        status: StatusCode,
        delay: Duration,
    }

    async fn record(State(fake): State<Fake>, uri: Uri, headers: HeaderMap, body: String) -> StatusCode {
        fake.seen.lock().unwrap().push(Seen { path: uri.path().to_owned(), headers, body });
        tokio::time::sleep(fake.delay).await;
        fake.status
    }

    /// A provider on 127.0.0.1:0 that answers every POST with `status` after `delay`.
    async fn fake(status: StatusCode, delay: Duration) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = axum::Router::new().fallback(axum::routing::post(record)).with_state(Fake {
            seen: seen.clone(),
            status,
            delay,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), seen)
    }

    fn phone() -> PhoneNumber {
        PhoneNumber::parse("+351 912 345 678").unwrap()
    }

    fn webhook(url: String, token: &str) -> SmsConfig {
        let mut c = SmsConfig { provider: SmsProvider::Webhook, webhook_url: url, ..SmsConfig::default() };
        if !token.is_empty() {
            c.webhook_token = toml::Value::String(token.into()).try_into().unwrap();
        }
        c
    }

    fn twilio(base: String) -> SmsConfig {
        SmsConfig {
            provider: SmsProvider::Twilio,
            twilio_account_sid: "AC0123".into(),
            twilio_auth_token: toml::Value::String("tw-secret".into()).try_into().unwrap(),
            twilio_from: "+15005550006".into(),
            twilio_base_url: base,
            ..SmsConfig::default()
        }
    }

    #[tokio::test]
    async fn the_webhook_gets_json_and_the_bearer_token() {
        let (url, seen) = fake(StatusCode::NO_CONTENT, Duration::ZERO).await;
        let sender = provider(&webhook(format!("{url}/sms"), "hook-token"), None).unwrap();
        sender.send(&phone(), "123456 is your code").await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, "/sms");
        assert_eq!(seen[0].headers["authorization"], "Bearer hook-token");
        assert_eq!(seen[0].headers["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_str(&seen[0].body).unwrap();
        assert_eq!(body, serde_json::json!({ "to": "+351912345678", "body": "123456 is your code" }));
    }

    #[tokio::test]
    async fn without_a_token_the_webhook_gets_no_authorization() {
        let (url, seen) = fake(StatusCode::OK, Duration::ZERO).await;
        provider(&webhook(url, ""), None).unwrap().send(&phone(), "hi").await.unwrap();
        assert!(seen.lock().unwrap()[0].headers.get("authorization").is_none());
    }

    #[tokio::test]
    async fn an_error_status_or_no_answer_is_a_failed_send() {
        let (url, _) = fake(StatusCode::INTERNAL_SERVER_ERROR, Duration::ZERO).await;
        let e = provider(&webhook(url, ""), None).unwrap().send(&phone(), "hi").await.unwrap_err();
        assert!(e.0.contains("500"), "{e}");
        // Nobody listens on a port that was just released.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = provider(&webhook(format!("http://127.0.0.1:{port}/x?key=in-the-url"), ""), None)
            .unwrap()
            .send(&phone(), "hi")
            .await
            .unwrap_err();
        assert!(!e.to_string().contains("in-the-url"), "the URL may carry credentials: {e}");
    }

    #[tokio::test]
    async fn a_provider_slower_than_the_timeout_is_a_failed_send() {
        let (url, _) = fake(StatusCode::OK, Duration::from_secs(60)).await;
        let config = SmsConfig { timeout: Duration::from_millis(200), ..webhook(url, "") };
        let sender = provider(&config, None).unwrap();
        let started = std::time::Instant::now();
        let e = sender.send(&phone(), "hi").await.unwrap_err();
        assert_eq!(e.0, "timed out");
        // Far less than the provider's minute (a cold client first loads its TLS roots).
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn twilio_gets_a_form_with_basic_auth_at_the_account_path() {
        let (url, seen) = fake(StatusCode::CREATED, Duration::ZERO).await;
        provider(&twilio(format!("{url}/")), None).unwrap().send(&phone(), "123456 é o código").await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen[0].path, "/2010-04-01/Accounts/AC0123/Messages.json");
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode("AC0123:tw-secret");
        assert_eq!(seen[0].headers["authorization"], format!("Basic {basic}").as_str());
        assert_eq!(seen[0].headers["content-type"], "application/x-www-form-urlencoded");
        let form: Vec<(String, String)> = url::form_urlencoded::parse(seen[0].body.as_bytes()).into_owned().collect();
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(field("To"), Some("+351912345678"));
        assert_eq!(field("From"), Some("+15005550006"));
        assert_eq!(field("Body"), Some("123456 é o código"));

        let (url, _) = fake(StatusCode::UNAUTHORIZED, Duration::ZERO).await;
        let e = provider(&twilio(url), None).unwrap().send(&phone(), "x").await.unwrap_err();
        assert!(e.0.contains("401"), "{e}");
    }

    #[test]
    fn a_provider_without_its_settings_does_not_start() {
        let e = provider(&webhook(String::new(), ""), None).err().unwrap();
        assert!(e.contains("webhook_url"), "{e}");
        let e = provider(&SmsConfig { twilio_from: String::new(), ..twilio("http://x".into()) }, None).err().unwrap();
        assert!(e.contains("twilio_from"), "{e}");
        let bad =
            SmsConfig { templates: [("en".to_string(), "no code here".to_string())].into(), ..SmsConfig::default() };
        assert!(provider(&bad, None).is_err());
    }

    /// Log lines written while the guard lives, as text.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn the_log_provider_logs_the_message_but_only_the_hint_of_the_number() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        provider(&SmsConfig::default(), None).unwrap().send(&phone(), "123456 is your code").await.unwrap();
        let logged = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("123456 is your code"), "the log provider's job: {logged}");
        assert!(logged.contains("••••••678"), "{logged}");
        assert!(!logged.contains("912345678"), "{logged}");
    }

    #[tokio::test]
    async fn the_log_provider_keeps_a_copy_in_the_demo_outbox() {
        let outbox = Outbox::default();
        provider(&SmsConfig::default(), Some(outbox.clone())).unwrap().send(&phone(), "123456 …").await.unwrap();
        let messages = outbox.messages();
        assert_eq!(messages.len(), 1);
        assert_eq!((messages[0].to.as_str(), messages[0].body.as_str()), ("+351912345678", "123456 …"));
        for n in 0..60 {
            outbox.push(OutboxMessage { to: "+1".into(), body: n.to_string(), at: 0 });
        }
        let messages = outbox.messages();
        assert_eq!(messages.len(), Outbox::KEEP);
        assert_eq!(messages[0].body, "59", "newest first");
    }
}
