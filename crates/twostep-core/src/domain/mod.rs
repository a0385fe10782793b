//! Values parsed once at the edge: if one of these exists, it is valid.

mod names;
mod phone;
mod secret;

pub use names::{ClientName, OrgSlug, ProfileSlug, Username};
pub use phone::{NumberFacts, PhoneNumber};
pub use secret::{OtpCode, Password};

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a value given by a person or a client was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// The kind of an account: users may use 2SV, contacts never (SPEC §2, §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    User,
    Contact,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Contact => "contact",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "user" => Some(Self::User),
            "contact" => Some(Self::Contact),
            _ => None,
        }
    }
}

/// The 2SV add-on's lifecycle in an organisation (SPEC §3.1–3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddonState {
    Unavailable,
    Available,
    Connected,
}

impl AddonState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::Available => "available",
            Self::Connected => "connected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "unavailable" => Some(Self::Unavailable),
            "available" => Some(Self::Available),
            "connected" => Some(Self::Connected),
            _ => None,
        }
    }
}

/// A verification method (recovery codes are a fallback, not a method).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    Totp,
    Sms,
    /// A security key or passkey (WebAuthn, SPEC §14).
    Webauthn,
}

impl MethodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Sms => "sms",
            Self::Webauthn => "webauthn",
        }
    }

    /// The name a method gets when its owner gives none (SPEC §14).
    pub fn default_name(self) -> &'static str {
        match self {
            Self::Totp => "Authenticator app",
            Self::Sms => "Phone",
            Self::Webauthn => "Security key",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "totp" => Some(Self::Totp),
            "sms" => Some(Self::Sms),
            "webauthn" => Some(Self::Webauthn),
            _ => None,
        }
    }
}

impl fmt::Display for MethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language Twostep speaks: an organisation's setting (its text messages and emails), a
/// page's language (cookie, `Accept-Language`), the CLI's `--language`. Stored as its code
/// (`en`, `pt`, `es`). The words themselves are data: one directory of Fluent files per
/// language under `crates/twostep-server/locales/<code>/`, and a test there fails when a
/// directory and this list disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    English,
    #[serde(rename = "pt")]
    Portuguese,
    #[serde(rename = "es")]
    Spanish,
}

impl Language {
    /// Every language, English (the fallback) first.
    pub const ALL: [Self; 3] = [Self::English, Self::Portuguese, Self::Spanish];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Portuguese => "pt",
            Self::Spanish => "es",
        }
    }

    /// Accepts a code (`en`, `pt`, `es`) and regional tags such as `pt-BR` or `es_MX`.
    pub fn parse(s: &str) -> Option<Self> {
        let primary = s.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        Self::ALL.into_iter().find(|l| l.as_str() == primary)
    }

    /// The codes, for messages that list them: "en, pt, es".
    pub fn codes() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }

    /// The preferred of the languages we have in an `Accept-Language` header (RFC 9110
    /// §12.5.4 quality values); English when none matches.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let mut ranges: Vec<(f32, Self)> = header
            .unwrap_or("")
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.split(';');
                let tag = pieces.next()?.trim();
                let q = pieces
                    .filter_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()))
                    .next()
                    .unwrap_or(1.0);
                Some((q, Self::parse(tag)?))
            })
            .filter(|(q, _)| *q > 0.0)
            .collect();
        // Stable: among equal weights, the order the browser gave wins.
        ranges.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranges.first().map(|r| r.1).unwrap_or_default()
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Language;

    #[test]
    fn languages_parse_from_codes_and_regional_tags() {
        assert_eq!(Language::parse("es"), Some(Language::Spanish));
        assert_eq!(Language::parse("es_MX"), Some(Language::Spanish));
        assert_eq!(Language::parse(" PT-br"), Some(Language::Portuguese));
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(Language::parse(""), None);
        for l in Language::ALL {
            assert_eq!(Language::parse(l.as_str()), Some(l));
        }
        assert_eq!(Language::codes(), "en, pt, es");
    }

    #[test]
    fn accept_language_picks_the_best_supported_language() {
        assert_eq!(Language::from_accept_language(Some("pt-PT,pt;q=0.9,en;q=0.8")), Language::Portuguese);
        assert_eq!(Language::from_accept_language(Some("fr-FR, en;q=0.5, pt;q=0.7")), Language::Portuguese);
        assert_eq!(Language::from_accept_language(Some("es-ES,es;q=0.9,en;q=0.8")), Language::Spanish);
        assert_eq!(Language::from_accept_language(Some("de, es-419;q=0.6, en-GB;q=0.8")), Language::English);
        assert_eq!(Language::from_accept_language(Some("de, en-GB;q=0.8")), Language::English);
        assert_eq!(Language::from_accept_language(Some("pt;q=0")), Language::English);
        assert_eq!(Language::from_accept_language(None), Language::English);
    }
}
