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

/// Organisation language for messages sent to people (SMS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    English,
    #[serde(rename = "pt")]
    Portuguese,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Portuguese => "pt",
        }
    }

    /// Accepts `en`, `pt` and regional tags such as `pt-BR`.
    pub fn parse(s: &str) -> Option<Self> {
        let primary = s.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::English),
            "pt" => Some(Self::Portuguese),
            _ => None,
        }
    }
}
