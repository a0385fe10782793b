//! Bearer headers, `X-Forwarded-For` and sealed secrets: never a panic; a token is only
//! taken from a well-formed header; a damaged sealed record never opens.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::IpAddr;
use twostep_core::crypto::{SecretKey, TokenHash};
use twostep_server::api::{bearer_token, client_ip};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(token) = bearer_token(Some(text)) {
            assert!(!token.is_empty() && token.len() <= 512);
            assert!(text.trim().get(..6).is_some_and(|s| s.eq_ignore_ascii_case("bearer")));
            assert_eq!(TokenHash::of(&token).0.len(), 32);
        }
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let peer: IpAddr = [203, 0, 113, 9].into();
        // From an untrusted peer the header is ignored; from a trusted one the answer is
        // an address of the list or the proxy itself.
        assert_eq!(client_ip(Some(peer), Some(text), &[proxy]), Some(peer));
        if let Some(ip) = client_ip(Some(proxy), Some(text), &[proxy]) {
            assert!(ip == proxy || text.contains(&ip.to_string()) || text.contains(':'), "{ip} from {text:?}");
        }
        let _ = SecretKey::from_hex(text);
    }
    let key = SecretKey::from_bytes([7; 32]);
    assert!(key.open(data, b"account:1").is_err(), "garbage opened as a sealed secret");
});
