//! Email providers (SPEC §12, `[email]`): `log` writes that a message would go out (its
//! kind, never its body: a setup link is a secret), `smtp` sends it.

use crate::config::{EmailConfig, EmailProvider};
use crate::service::notify::Email;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends one message; the error is a cause for the log, never shown to a user.
    async fn send(&self, email: &Email) -> Result<(), String>;
}

/// The default: nothing leaves the machine, and nothing secret reaches the log.
pub struct LogMailer;

#[async_trait::async_trait]
impl Mailer for LogMailer {
    async fn send(&self, email: &Email) -> Result<(), String> {
        tracing::info!(subject = %email.subject, "email (log provider): not sent");
        Ok(())
    }
}

/// SMTP through lettre over rustls: `smtps://` is implicit TLS (port 465 by default),
/// `smtp://…?tls=required` is STARTTLS (587), `smtp://` alone is plain (a local relay, tests).
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl SmtpMailer {
    pub fn new(config: &EmailConfig) -> Result<Self, String> {
        // The URL may hold a password: errors name the setting, never its value.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.smtp_url.expose())
            .map_err(|_| "email.smtp_url is not a valid SMTP URL".to_owned())?
            .timeout(Some(config.timeout))
            .build();
        let from = config.from.parse::<Mailbox>().map_err(|e| format!("email.from is not an address: {e}"))?;
        Ok(Self { transport, from, timeout: config.timeout })
    }
}

#[async_trait::async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &Email) -> Result<(), String> {
        let to = email.to.parse::<Mailbox>().map_err(|e| format!("bad recipient address: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())
            .map_err(|e| format!("cannot build the message: {e}"))?;
        // lettre's timeout bounds each read and write; this bounds the whole exchange.
        match tokio::time::timeout(self.timeout + self.timeout, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("SMTP: {e}")),
            Err(_) => Err("SMTP: timed out".into()),
        }
    }
}

/// The provider the configuration names.
pub fn provider(config: &EmailConfig) -> Result<std::sync::Arc<dyn Mailer>, String> {
    match config.provider {
        EmailProvider::Log => Ok(std::sync::Arc::new(LogMailer)),
        EmailProvider::Smtp => Ok(std::sync::Arc::new(SmtpMailer::new(config)?)),
    }
}
