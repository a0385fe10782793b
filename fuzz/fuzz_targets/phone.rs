//! Phone numbers as typed: parsing never panics, the result is E.164, parsing it again is
//! the identity, and the hint never shows more than three digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::domain::PhoneNumber;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(phone) = PhoneNumber::parse(text) else { return };
    let e164 = phone.e164();
    assert!(e164.starts_with('+'), "{e164}");
    assert!(e164[1..].bytes().all(|b| b.is_ascii_digit()), "{e164}");
    assert!(e164.len() <= 16, "{e164}");
    let again = PhoneNumber::parse(e164).unwrap_or_else(|e| panic!("{e164} does not parse again: {e}"));
    assert_eq!(again, phone);
    let hint = phone.hint();
    assert!(hint.chars().filter(char::is_ascii_digit).count() <= 3, "{hint}");
    assert!(!format!("{phone:?}").contains(&e164[1..]));
});
