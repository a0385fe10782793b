//! Notifications by email (SPEC §12): to users who have an address, in their
//! organisation's language, on security events. A message never carries a code, and a
//! link only ever goes to the user it is for. A failed send is logged and audited and
//! never undoes or blocks the change it tells of.

use crate::service::RequestMeta;
use crate::service::audit::{self, Event};
use crate::state::AppState;
use crate::web::i18n;
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

/// The subject and body in the organisation's language: the `email_` messages of
/// `locales/<language>/messages.ftl` (greeting, the line for the notice, footer).
pub fn compose(org: &Organization, account: &Account, notice: Notice<'_>) -> (String, String) {
    let lang = org.language;
    let name = if account.display_name.is_empty() { account.username.as_str() } else { account.display_name.as_str() };
    let key = format!("email_{}", notice.name());
    let subject = i18n::text(lang, &format!("{key}_subject"), &[]);
    let line = match notice {
        Notice::MethodEnabled(kind) | Notice::MethodRemoved(kind) => i18n::text(lang, &key, &[("method", kind.into())]),
        Notice::SetupLink { url, expires_at } => {
            i18n::text(lang, &key, &[("url", url.into()), ("expires_at", expires_at.into())])
        }
        _ => i18n::text(lang, &key, &[]),
    };
    let hello = i18n::text(lang, "email_hello", &[("name", name.into())]);
    let footer = i18n::text(lang, "email_footer", &[("organization", org.name.as_str().into())]);
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
    use twostep_core::domain::{AccountKind, Language};

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
        let (_, body) = compose(&org(Language::English), &account(), Notice::MethodEnabled("webauthn"));
        assert!(body.contains("A security key or passkey was added"), "{body}");
        let (subject, _) = compose(&org(Language::English), &account(), Notice::SecondStepLocked);
        assert_eq!(subject, "2-Step Verification locked");
        let (subject, body) = compose(&org(Language::Spanish), &account(), Notice::MethodRemoved("sms"));
        assert_eq!(subject, "Método de verificación en dos pasos eliminado");
        assert_eq!(
            body,
            "Hola, Maria:\n\nSe han eliminado los mensajes de texto a su teléfono de su verificación en dos pasos.\n\n\
             Si no ha sido usted, avise de inmediato a su administrador.\n\n— Acme\n"
        );
    }

    #[test]
    fn every_notice_has_its_words_in_every_language() {
        // Unit tests fail on any message Fluent cannot fill in (a key or a value missing).
        let link = Notice::SetupLink { url: "https://login.example.com/setup/abc", expires_at: "2026-12-04T00:00:00Z" };
        let notices = [
            Notice::MethodEnabled("totp"),
            Notice::MethodEnabled("sms"),
            Notice::MethodEnabled("webauthn"),
            Notice::MethodRemoved("totp"),
            Notice::MethodRemoved("sms"),
            Notice::MethodRemoved("webauthn"),
            Notice::RecoveryCodesRegenerated,
            Notice::RecoveryCodeUsed,
            Notice::PasswordChanged,
            Notice::TwoStepReset,
            Notice::SecondStepLocked,
            link,
        ];
        for lang in Language::ALL {
            for notice in notices {
                let (subject, body) = compose(&org(lang), &account(), notice);
                assert!(!subject.is_empty() && !subject.contains('{'), "{lang} {notice:?}: {subject}");
                let paragraphs: Vec<&str> = body.trim_end().split("\n\n").collect();
                assert!(
                    paragraphs.len() >= 4 && paragraphs.iter().all(|p| !p.trim().is_empty()),
                    "{lang} {notice:?}: {body}"
                );
                assert!(paragraphs[0].contains("Maria") && body.ends_with("— Acme\n"), "{lang} {notice:?}: {body}");
            }
            let (_, body) = compose(&org(lang), &account(), link);
            assert!(
                body.contains("until 2026-12-04T00:00:00Z") || body.contains("até 2026") || body.contains("hasta 2026")
            );
            assert!(body.contains("\n\nhttps://login.example.com/setup/abc\n\n"), "{lang}: {body}");
        }
        let (_, body) = compose(&org(Language::English), &account(), Notice::MethodEnabled("totp"));
        assert!(body.contains("An authenticator app was added"), "{body}");
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
            for lang in Language::ALL {
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
