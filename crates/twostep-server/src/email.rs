//! Email providers (SPEC §12, `[email]`): `log` writes that a message would go out (its
//! kind, never its body: a setup link is a secret), `smtp` sends it.

use crate::config::{EmailConfig, EmailProvider};
use crate::service::notify::Email;

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

/// The provider the configuration names.
pub fn provider(config: &EmailConfig) -> Result<std::sync::Arc<dyn Mailer>, String> {
    match config.provider {
        EmailProvider::Log => Ok(std::sync::Arc::new(LogMailer)),
        EmailProvider::Smtp => Err("the smtp email provider is not available in this build".into()),
    }
}
