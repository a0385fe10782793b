//! Rules for new passwords (SPEC §12; NIST SP 800-63B §5.1.1.2): 8 to 256 characters of
//! any Unicode after NFKC, no composition rules, and refused when among the common
//! passwords of a public breach corpus or when they contain the username or the
//! organisation slug. Sign-in accepts any input; only a password being set is judged.

use crate::domain::Password;
use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

pub const MIN_CHARS: usize = 8;
pub const MAX_CHARS: usize = 256;

/// Why a new password was refused; the API lists them as `reasons`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    TooShort,
    TooLong,
    Common,
    ContainsUsername,
    ContainsOrganization,
}

impl Weakness {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::Common => "common",
            Self::ContainsUsername => "contains_username",
            Self::ContainsOrganization => "contains_organization",
        }
    }

    /// What to tell the person, in English (the pages translate by code).
    pub fn message(self) -> &'static str {
        match self {
            Self::TooShort => "use at least 8 characters",
            Self::TooLong => "use at most 256 characters",
            Self::Common => "it is one of the most common passwords",
            Self::ContainsUsername => "it contains your username",
            Self::ContainsOrganization => "it contains the organization's name",
        }
    }
}

/// The list (see `data/README.md` for its sources and licences), NFKC and lower case.
static LIST_GZ: &[u8] = include_bytes!("../../data/common-passwords.txt.gz");

fn common() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut text = String::new();
        // The list is part of the binary and checked by a test: it cannot fail to inflate
        // in a released build, and an empty set would only weaken one check.
        if flate2::read::GzDecoder::new(LIST_GZ).read_to_string(&mut text).is_err() {
            text.clear();
        }
        text.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
    })
}

/// How many entries the common-password list holds.
pub fn common_count() -> usize {
    common().len()
}

fn fold(s: &str) -> String {
    s.nfkc().collect::<String>().to_lowercase()
}

/// Every rule a new password breaks, or none. `username` and `org_slug` are what the
/// account signs in with.
pub fn check(password: &Password, username: &str, org_slug: &str) -> Vec<Weakness> {
    let normal: String = password.expose().nfkc().collect();
    let folded = normal.to_lowercase();
    let chars = normal.chars().count();
    let mut weak = Vec::new();
    if chars < MIN_CHARS {
        weak.push(Weakness::TooShort);
    }
    if chars > MAX_CHARS {
        weak.push(Weakness::TooLong);
    }
    if common().contains(&folded) {
        weak.push(Weakness::Common);
    }
    let user = fold(username.trim());
    if !user.is_empty() && folded.contains(&user) {
        weak.push(Weakness::ContainsUsername);
    }
    let org = fold(org_slug.trim());
    if !org.is_empty() && folded.contains(&org) {
        weak.push(Weakness::ContainsOrganization);
    }
    weak
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reasons(pw: &str) -> Vec<&'static str> {
        check(&Password::new(pw), "maria", "acme").into_iter().map(Weakness::as_str).collect()
    }

    #[test]
    fn the_list_holds_over_a_hundred_thousand_common_passwords() {
        assert!(common_count() >= 100_000, "{}", common_count());
        for pw in ["password", "iloveyou", "qwertyuiop", "sunshine", "123456789"] {
            assert!(common().contains(pw), "{pw}");
        }
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        assert_eq!(reasons("Password1"), ["common"]);
        assert_eq!(reasons("QWERTYUIOP"), ["common"]);
        assert_eq!(reasons("correct horse battery"), Vec::<&str>::new());
    }

    #[test]
    fn length_counts_characters_after_nfkc() {
        assert_eq!(reasons("Xk3!"), ["too_short"]);
        assert!(reasons("ção-ção-").is_empty(), "8 characters, 12 bytes");
        assert_eq!(reasons(&"é".repeat(257)), ["too_long"]);
        assert!(reasons(&"é".repeat(256)).is_empty());
    }

    #[test]
    fn the_username_and_organization_may_not_be_inside() {
        assert_eq!(reasons("xx-MARIA-2026-zz"), ["contains_username"]);
        assert_eq!(reasons("welcome to Ａｃｍｅ now"), ["contains_organization"]);
    }
}
