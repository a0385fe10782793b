//! One-time codes and recovery codes as typed by a person: parsing never panics, what is
//! accepted is canonical, and parsing the canonical form gives it back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::credential::{recovery, totp};
use twostep_core::domain::OtpCode;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    if let Ok(code) = OtpCode::parse(text) {
        let digits = code.expose();
        assert_eq!(digits.len(), OtpCode::DIGITS);
        assert!(digits.bytes().all(|b| b.is_ascii_digit()));
        assert!(OtpCode::parse(digits).is_ok_and(|again| again == code));
        // Checking a parsed code against a key is total, whatever the time.
        let _ = totp::matching_step(b"12345678901234567890", digits, i64::from(data.len() as u32) * 30);
    }
    // The TOTP check also sees raw input on paths that do not parse first.
    let _ = totp::matching_step(b"12345678901234567890", text, 59);

    match recovery::normalize(text) {
        Some(normal) => {
            assert_eq!(normal.len(), 10);
            assert_eq!(recovery::normalize(&normal).as_deref(), Some(normal.as_str()));
            assert_eq!(recovery::hash(7, text), recovery::hash(7, &normal));
        }
        None => {
            let _ = recovery::hash(7, text);
        }
    }
    let _ = twostep_server::api::login::code_method(text);
});
