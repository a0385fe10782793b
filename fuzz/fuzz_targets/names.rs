//! Usernames, slugs, client names, languages, methods and audit times from requests and
//! the command line: parsing never panics and accepted values are in canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twostep_core::domain::{ClientName, Language, MethodKind, OrgSlug, ProfileSlug, Username};
use twostep_server::service::{parse_rfc3339, rfc3339};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };

    if let Ok(user) = Username::parse(text) {
        assert!(!user.as_str().is_empty() && user.as_str().chars().count() <= 128);
        assert!(Username::parse(user.as_str()).is_ok_and(|again| again == user));
        let _ = user.key();
    }
    for slug in [
        OrgSlug::parse(text).map(|s| s.to_string()),
        ProfileSlug::parse(text).map(|s| s.to_string()),
        ClientName::parse(text).map(|s| s.to_string()),
    ]
    .into_iter()
    .flatten()
    {
        assert!((1..=64).contains(&slug.len()), "{slug}");
        assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
        assert!(OrgSlug::parse(&slug).is_ok());
    }
    if let Some(lang) = Language::parse(text) {
        assert_eq!(Language::parse(lang.as_str()), Some(lang));
    }
    if let Some(method) = MethodKind::parse(text) {
        assert_eq!(method.as_str(), text);
    }
    if let Some(ts) = parse_rfc3339(text) {
        // What the API writes back parses to the same second.
        let written = rfc3339(ts);
        if !written.is_empty() {
            assert_eq!(parse_rfc3339(&written), Some(ts), "{text} → {written}");
        }
    }
});
