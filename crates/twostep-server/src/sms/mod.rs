//! Text-message providers behind one trait (SPEC §5): `log`, `webhook`, `twilio`.

mod message;

pub use message::render;

use crate::config::{SmsConfig, SmsProvider};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use twostep_core::domain::PhoneNumber;

/// Outbound calls give up after this long (the user is waiting).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
#[error("text message not delivered: {0}")]
pub struct SmsError(pub String);

#[async_trait::async_trait]
pub trait SmsSender: Send + Sync + 'static {
    async fn send(&self, to: &PhoneNumber, body: &str) -> Result<(), SmsError>;
}

/// Builds the configured provider; `outbox` receives copies in demo mode.
pub fn provider(config: &SmsConfig, outbox: Option<Outbox>) -> Result<Arc<dyn SmsSender>, String> {
    let client = || {
        reqwest::Client::builder()
            .timeout(SEND_TIMEOUT)
            .connect_timeout(SEND_TIMEOUT)
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
