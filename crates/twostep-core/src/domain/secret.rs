//! Values that must never be printed: passwords and one-time codes.

use super::ParseError;
use std::fmt;
use zeroize::Zeroizing;

/// A password as typed. `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(Zeroizing::new(raw.into()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Rules for new passwords (NIST SP 800-63B 5.1.1.2: at least 8 characters, no
    /// composition rules, refuse commonly used values). Sign-in accepts any input.
    pub fn check_strength(&self) -> Result<(), ParseError> {
        let s = self.expose();
        if s.chars().count() < 8 {
            return Err(ParseError("password is too weak: use at least 8 characters".into()));
        }
        if s.chars().count() > 1024 {
            return Err(ParseError("password is too long: at most 1024 characters".into()));
        }
        const COMMON: &[&str] = &[
            "password",
            "12345678",
            "123456789",
            "1234567890",
            "qwertyui",
            "qwerty123",
            "password1",
            "11111111",
            "00000000",
            "iloveyou",
            "abcdefgh",
            "letmein1",
        ];
        let lower = s.to_lowercase();
        let first = s.chars().next();
        if COMMON.contains(&lower.as_str()) || s.chars().all(|c| Some(c) == first) {
            return Err(ParseError("password is too weak: it is a commonly used password".into()));
        }
        Ok(())
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A six-digit one-time code (TOTP or SMS), as typed: spaces and dashes are dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

impl OtpCode {
    pub const DIGITS: usize = 6;

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        if digits.len() == Self::DIGITS && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(digits))
        } else {
            Err(ParseError("a code is 6 digits".into()))
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits_and_tolerate_spacing() {
        assert_eq!(OtpCode::parse("123 456").unwrap().expose(), "123456");
        assert_eq!(OtpCode::parse("123-456").unwrap().expose(), "123456");
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert!(OtpCode::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(Password::new("").check_strength().is_err());
        assert!(Password::new("short").check_strength().is_err());
        assert!(Password::new("password").check_strength().is_err());
        assert!(Password::new("aaaaaaaaaa").check_strength().is_err());
        assert!(Password::new("correct horse battery").check_strength().is_ok());
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        assert_eq!(format!("{:?}", Password::new("hunter2hunter2")), "Password([redacted])");
        assert_eq!(format!("{:?}", OtpCode::parse("123456").unwrap()), "OtpCode([redacted])");
    }
}
