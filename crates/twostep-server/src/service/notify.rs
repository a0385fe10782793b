//! Notifications by email (SPEC §12): to users who have an address, in their
//! organisation's language, on security events. A message never carries a code, and a
//! link only ever goes to the user it is for. A failed send is logged and audited and
//! never undoes or blocks the change it tells of.

use crate::service::RequestMeta;
use crate::service::audit::{self, Event};
use crate::state::AppState;
use twostep_core::domain::Language;
use twostep_core::store::{Account, Organization};

/// What happened.
#[derive(Debug, Clone, Copy)]
pub enum Notice<'a> {
    MethodEnabled(&'a str),
    MethodRemoved(&'a str),
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    PasswordChanged,
    TwoStepReset,
    SecondStepLocked,
    /// A setup link or password reset: the link is for this user alone.
    SetupLink {
        url: &'a str,
        expires_at: &'a str,
    },
}

impl Notice<'_> {
    /// The event's name in logs and the audit (never the link).
    pub fn name(&self) -> &'static str {
        match self {
            Self::MethodEnabled(_) => "method_enabled",
            Self::MethodRemoved(_) => "method_removed",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::PasswordChanged => "password_changed",
            Self::TwoStepReset => "two_step_reset",
            Self::SecondStepLocked => "second_step_locked",
            Self::SetupLink { .. } => "setup_link",
        }
    }
}

/// One email, ready to send.
#[derive(Clone)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl std::fmt::Debug for Email {
    // The body may hold a setup link: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email").field("subject", &self.subject).field("body", &"[redacted]").finish()
    }
}

fn method_name(kind: &str, lang: Language) -> &'static str {
    match (kind, lang) {
        ("totp", Language::English) => "authenticator app",
        ("totp", Language::Portuguese) => "aplicação de autenticação",
        ("sms", Language::English) => "text message",
        ("sms", Language::Portuguese) => "mensagem de texto",
        (_, Language::English) => "verification method",
        (_, Language::Portuguese) => "método de verificação",
    }
}

/// The subject and body in the organisation's language.
pub fn compose(org: &Organization, account: &Account, notice: Notice<'_>) -> (String, String) {
    let lang = org.language;
    let name = if account.display_name.is_empty() { account.username.as_str() } else { account.display_name.as_str() };
    let org_name = org.name.as_str();
    let (subject, line) = match (notice, lang) {
        (Notice::MethodEnabled(k), Language::English) => (
            "2-Step Verification method added".to_owned(),
            format!("A {} was added to your 2-Step Verification.", method_name(k, lang)),
        ),
        (Notice::MethodEnabled(k), Language::Portuguese) => (
            "Método de verificação em dois passos adicionado".to_owned(),
            format!("Foi adicionado o método \"{}\" à sua verificação em dois passos.", method_name(k, lang)),
        ),
        (Notice::MethodRemoved(k), Language::English) => (
            "2-Step Verification method removed".to_owned(),
            format!("A {} was removed from your 2-Step Verification.", method_name(k, lang)),
        ),
        (Notice::MethodRemoved(k), Language::Portuguese) => (
            "Método de verificação em dois passos removido".to_owned(),
            format!("Foi removido o método \"{}\" da sua verificação em dois passos.", method_name(k, lang)),
        ),
        (Notice::RecoveryCodesRegenerated, Language::English) => (
            "New recovery codes".to_owned(),
            "New recovery codes were made for your account; the old ones no longer work.".to_owned(),
        ),
        (Notice::RecoveryCodesRegenerated, Language::Portuguese) => (
            "Novos códigos de recuperação".to_owned(),
            "Foram gerados novos códigos de recuperação para a sua conta; os antigos deixaram de funcionar.".to_owned(),
        ),
        (Notice::RecoveryCodeUsed, Language::English) => (
            "A recovery code was used".to_owned(),
            "A recovery code was used to sign in to your account.".to_owned(),
        ),
        (Notice::RecoveryCodeUsed, Language::Portuguese) => (
            "Foi usado um código de recuperação".to_owned(),
            "Foi usado um código de recuperação para entrar na sua conta.".to_owned(),
        ),
        (Notice::PasswordChanged, Language::English) => {
            ("Your password was changed".to_owned(), "The password of your account was changed.".to_owned())
        }
        (Notice::PasswordChanged, Language::Portuguese) => {
            ("A sua palavra-passe foi alterada".to_owned(), "A palavra-passe da sua conta foi alterada.".to_owned())
        }
        (Notice::TwoStepReset, Language::English) => (
            "Your 2-Step Verification was reset".to_owned(),
            "An administrator removed every 2-Step Verification method from your account.".to_owned(),
        ),
        (Notice::TwoStepReset, Language::Portuguese) => (
            "A sua verificação em dois passos foi reposta".to_owned(),
            "Um administrador removeu todos os métodos de verificação em dois passos da sua conta.".to_owned(),
        ),
        (Notice::SecondStepLocked, Language::English) => (
            "2-Step Verification locked".to_owned(),
            "Too many wrong codes were entered for your account: its second step is locked for a while.".to_owned(),
        ),
        (Notice::SecondStepLocked, Language::Portuguese) => (
            "Verificação em dois passos bloqueada".to_owned(),
            "Foram introduzidos demasiados códigos errados na sua conta: o segundo passo está bloqueado por algum tempo."
                .to_owned(),
        ),
        (Notice::SetupLink { url, expires_at }, Language::English) => (
            "Choose your password".to_owned(),
            format!("Open this link to choose your password (it works once, until {expires_at}):\n\n{url}"),
        ),
        (Notice::SetupLink { url, expires_at }, Language::Portuguese) => (
            "Escolha a sua palavra-passe".to_owned(),
            format!("Abra este endereço para escolher a sua palavra-passe (funciona uma vez, até {expires_at}):\n\n{url}"),
        ),
    };
    let (hello, footer) = match lang {
        Language::English => {
            (format!("Hello {name},"), format!("If this was not you, tell your administrator at once.\n\n— {org_name}"))
        }
        Language::Portuguese => {
            (format!("Olá {name},"), format!("Se não foi você, avise já o seu administrador.\n\n— {org_name}"))
        }
    };
    (subject, format!("{hello}\n\n{line}\n\n{footer}\n"))
}

/// Sends the notice to the account's address, if it has one. Never fails: a failed
/// send is logged (without the message) and audited.
pub async fn send(state: &AppState, org: &Organization, account: &Account, notice: Notice<'_>, meta: &RequestMeta) {
    let Some(to) = account.email.clone().filter(|e| !e.is_empty()) else {
        return;
    };
    let (subject, body) = compose(org, account, notice);
    let email = Email { to, subject, body };
    let outcome = match state.mailer.send(&email).await {
        Ok(()) => {
            state.metrics.email("sent");
            "sent"
        }
        Err(cause) => {
            tracing::warn!(notice = notice.name(), account = %account.username, %cause, "email not sent");
            state.metrics.email("failed");
            "failed"
        }
    };
    audit::record(
        state,
        meta,
        Event {
            org_id: Some(org.id),
            kind: if outcome == "sent" { "email.sent" } else { "email.failed" },
            actor: None,
            subject: Some(&account.username),
            client: None,
            outcome: notice.name(),
        },
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use twostep_core::domain::AccountKind;

    fn org(language: Language) -> Organization {
        Organization {
            id: 1,
            slug: "acme".into(),
            name: "Acme".into(),
            addon: twostep_core::domain::AddonState::Connected,
            two_step_enabled: true,
            mandatory_for_organization: false,
            language,
            enrollment_period_days: 0,
            remember_device_days: 0,
        }
    }

    fn account() -> Account {
        Account {
            id: 1,
            org_id: 1,
            username: "maria".into(),
            kind: AccountKind::User,
            profile: None,
            password_hash: String::new(),
            phone_hint: None,
            locked_until: None,
            email: Some("maria@example.com".into()),
            display_name: "Maria".into(),
            disabled: false,
            access_code_required: false,
            enroll_by: None,
        }
    }

    #[test]
    fn messages_are_in_the_organizations_language() {
        let (subject, body) = compose(&org(Language::Portuguese), &account(), Notice::MethodEnabled("totp"));
        assert_eq!(subject, "Método de verificação em dois passos adicionado");
        assert!(body.starts_with("Olá Maria,") && body.contains("aplicação de autenticação"), "{body}");
        let (subject, _) = compose(&org(Language::English), &account(), Notice::SecondStepLocked);
        assert_eq!(subject, "2-Step Verification locked");
    }

    #[test]
    fn only_the_setup_link_message_carries_a_link() {
        let notices = [
            Notice::MethodEnabled("sms"),
            Notice::MethodRemoved("totp"),
            Notice::RecoveryCodesRegenerated,
            Notice::RecoveryCodeUsed,
            Notice::PasswordChanged,
            Notice::TwoStepReset,
            Notice::SecondStepLocked,
        ];
        for notice in notices {
            for lang in [Language::English, Language::Portuguese] {
                let (_, body) = compose(&org(lang), &account(), notice);
                assert!(!body.contains("http"), "{notice:?}: {body}");
            }
        }
        let link = Notice::SetupLink { url: "https://login.example.com/setup/abc", expires_at: "2026-12-04T00:00:00Z" };
        assert!(compose(&org(Language::English), &account(), link).1.contains("https://login.example.com/setup/abc"));
        assert!(
            !format!("{:?}", Email { to: "x".into(), subject: "s".into(), body: "secret".into() }).contains("secret")
        );
    }
}
