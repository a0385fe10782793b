//! Identifiers: organisation and profile slugs, usernames, client names.

use super::ParseError;
use serde::Serialize;
use std::fmt;

fn slug(kind: &str, raw: &str) -> Result<String, ParseError> {
    let s = raw.trim();
    let valid = !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && s.as_bytes()[0].is_ascii_alphanumeric();
    if valid {
        Ok(s.to_owned())
    } else {
        Err(ParseError(format!(
            "{kind} {raw:?} is not valid: use 1-64 lowercase letters, digits, '-' or '_', starting with a letter or digit"
        )))
    }
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// An organisation's slug, e.g. `acme`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct OrgSlug(String);
string_newtype!(OrgSlug);

impl OrgSlug {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        slug("organization", raw).map(Self)
    }
}

/// A profile's slug, e.g. `technician`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ProfileSlug(String);
string_newtype!(ProfileSlug);

impl ProfileSlug {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        slug("profile", raw).map(Self)
    }
}

/// A username as typed; equality and lookup use [`Username::key`], its case-folded form
/// (usernames are unique per organisation, case-insensitively — SPEC §2).
#[derive(Debug, Clone, Serialize)]
pub struct Username(String);
string_newtype!(Username);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let valid =
            !s.is_empty() && s.chars().count() <= 128 && !s.chars().any(|c| c.is_control() || c.is_whitespace());
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(ParseError(format!("username {raw:?} is not valid: use 1-128 characters without spaces")))
        }
    }

    /// The form that is unique within an organisation (SPEC §11.9): Unicode NFKC and full
    /// case folding (Unicode's NFKC_Casefold, as UTS #39 recommends for identifiers), so
    /// "Maria", "MARIA" and "Ｍａｒｉａ" are one account, and so are "Strauß" and "STRAUSS".
    pub fn key(&self) -> String {
        use unicode_normalization::UnicodeNormalization;
        let folded = caseless::default_case_fold_str(&self.0.nfkc().collect::<String>());
        folded.nfkc().collect()
    }
}

impl PartialEq for Username {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Username {}

/// The name of a client app, e.g. `web` or `technician-app`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ClientName(String);
string_newtype!(ClientName);

impl ClientName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        slug("client", raw).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_compare_after_nfkc_and_case_folding() {
        let key = |s: &str| Username::parse(s).unwrap().key();
        assert_eq!(key("Maria"), "maria");
        assert_eq!(key("ＭＡＲＩＡ"), "maria");
        assert_eq!(key("Strauß"), key("STRAUSS"));
        assert_eq!(key("e\u{301}lise"), key("\u{c9}LISE"));
        assert_ne!(key("maria"), key("mario"));
    }

    #[test]
    fn usernames_compare_without_case() {
        let a = Username::parse("Maria.Silva").unwrap();
        let b = Username::parse("maria.silva").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.key(), "maria.silva");
        assert_eq!(a.as_str(), "Maria.Silva");
    }

    #[test]
    fn blank_or_spaced_usernames_are_refused() {
        assert!(Username::parse("").is_err());
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse("a b").is_err());
    }

    #[test]
    fn slugs_are_lowercase_words() {
        assert!(OrgSlug::parse("acme").is_ok());
        assert!(OrgSlug::parse("acme-2").is_ok());
        assert!(OrgSlug::parse("Acme").is_err());
        assert!(OrgSlug::parse("-acme").is_err());
        assert!(OrgSlug::parse("").is_err());
        assert!(ProfileSlug::parse("field tech").is_err());
    }
}
