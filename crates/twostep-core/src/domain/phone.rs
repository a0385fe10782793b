//! Phone numbers, normalised to E.164 with the `phonenumber` crate.

use super::ParseError;
use std::fmt;

/// A valid phone number in E.164 form (`+351912345678`). Its `Debug` hides all but the
/// last three digits, since full numbers must never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

/// What the numbering plan says of a number, for the SMS-pumping guards (SPEC §11.10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFacts {
    /// Mobile, or a plan where fixed lines and mobiles cannot be told apart (the USA).
    pub receives_texts: bool,
    /// The ISO 3166-1 alpha-2 code of the number's region (`PT`), when known.
    pub region: Option<String>,
}

impl PhoneNumber {
    /// Parses international input ("+351 912 345 678", "00351912345678").
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        let international = match trimmed.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => trimmed.to_owned(),
        };
        let invalid =
            || ParseError("not a valid phone number: give it in international form, e.g. +351 912 345 678".to_owned());
        if !international.starts_with('+') || international.len() > 32 {
            return Err(invalid());
        }
        let parsed = phonenumber::parse(None, &international).map_err(|_| invalid())?;
        if !phonenumber::is_valid(&parsed) {
            return Err(invalid());
        }
        Ok(Self(parsed.format().mode(phonenumber::Mode::E164).to_string()))
    }

    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The number's type and region, from the numbering plan's metadata.
    pub fn facts(&self) -> NumberFacts {
        let Ok(parsed) = phonenumber::parse(None, &self.0) else {
            return NumberFacts { receives_texts: false, region: None };
        };
        let kind = parsed.number_type(&phonenumber::metadata::DATABASE);
        NumberFacts {
            receives_texts: matches!(kind, phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile),
            region: parsed.country().id().map(|id| format!("{id:?}")),
        }
    }

    /// What may be shown or logged: the last three digits only, e.g. `••••••789`.
    pub fn hint(&self) -> String {
        let digits: Vec<char> = self.0.chars().filter(char::is_ascii_digit).collect();
        let keep = digits.len().saturating_sub(3);
        let tail: String = digits[keep..].iter().collect();
        format!("••••••{tail}")
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaced_numbers_are_normalised_to_e164() {
        let p = PhoneNumber::parse("+351 912 345 678").unwrap();
        assert_eq!(p.e164(), "+351912345678");
        assert_eq!(p.hint(), "••••••678");
        assert_eq!(PhoneNumber::parse("00351912345678").unwrap(), p);
    }

    #[test]
    fn invalid_numbers_are_refused() {
        for bad in ["", "12345", "+1", "not a number", "+351 12", "912345678"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn mobiles_receive_texts_and_fixed_lines_do_not() {
        let mobile = PhoneNumber::parse("+351 912 345 678").unwrap().facts();
        assert_eq!(mobile, NumberFacts { receives_texts: true, region: Some("PT".into()) });
        let fixed = PhoneNumber::parse("+351 213 456 789").unwrap().facts();
        assert_eq!(fixed, NumberFacts { receives_texts: false, region: Some("PT".into()) });
        let premium = PhoneNumber::parse("+44 909 876 5432").unwrap().facts();
        assert!(!premium.receives_texts, "{premium:?}");
        // North America cannot tell fixed from mobile: accepted.
        assert!(PhoneNumber::parse("+1 415 555 0123").unwrap().facts().receives_texts);
    }

    #[test]
    fn debug_never_shows_the_full_number() {
        let p = PhoneNumber::parse("+14155550123").unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("4155550123"), "{shown}");
    }
}
