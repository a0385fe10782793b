//! HOTP (RFC 4226) and TOTP (RFC 6238), with the window and replay rules of SPEC §4.

use crate::Timestamp;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

/// The hash a TOTP key uses. Enrollment only ever issues SHA1 (SPEC §5), the one every
/// authenticator app honours; the others exist for the RFC 6238 vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

/// The length of an enrolled secret: 160 bits (RFC 4226 §4 recommends it).
pub const SECRET_LEN: usize = 20;
/// Seconds per time step (RFC 6238 §5.2 default).
pub const PERIOD: i64 = 30;
pub const DIGITS: u32 = 6;

fn hmac_digest(algorithm: Algorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    // `new_from_slice` accepts any key length for HMAC, so these never fail.
    match algorithm {
        Algorithm::Sha1 => Hmac::<sha1::Sha1>::new_from_slice(key)
            .map(|m| m.chain_update(msg).finalize().into_bytes().to_vec())
            .unwrap_or_default(),
        Algorithm::Sha256 => Hmac::<sha2::Sha256>::new_from_slice(key)
            .map(|m| m.chain_update(msg).finalize().into_bytes().to_vec())
            .unwrap_or_default(),
        Algorithm::Sha512 => Hmac::<sha2::Sha512>::new_from_slice(key)
            .map(|m| m.chain_update(msg).finalize().into_bytes().to_vec())
            .unwrap_or_default(),
    }
}

/// RFC 4226 §5.3 dynamic truncation: 31 bits from the offset given by the last nibble.
pub fn truncate(digest: &[u8]) -> u32 {
    let Some(last) = digest.last() else { return 0 };
    let offset = (last & 0x0f) as usize;
    let Some(bytes) = digest.get(offset..offset + 4) else { return 0 };
    u32::from_be_bytes([bytes[0] & 0x7f, bytes[1], bytes[2], bytes[3]])
}

/// RFC 4226 HOTP value for `counter`, zero-padded to `digits`.
pub fn hotp(algorithm: Algorithm, key: &[u8], counter: u64, digits: u32) -> String {
    let value = truncate(&hmac_digest(algorithm, key, &counter.to_be_bytes()));
    let modulus = 10u64.pow(digits);
    format!("{:0width$}", u64::from(value) % modulus, width = digits as usize)
}

/// The RFC 6238 time step of `now` (T0 = 0).
pub fn step_at(now: Timestamp) -> i64 {
    now.div_euclid(PERIOD)
}

/// The six-digit SHA1 code for `now` — what an authenticator app shows.
pub fn code_at(key: &[u8], now: Timestamp) -> String {
    hotp(Algorithm::Sha1, key, step_at(now).max(0) as u64, DIGITS)
}

/// Finds the time step whose code equals `code`, looking at the current step and one on
/// either side (RFC 6238 §5.2: one step of network delay), and nothing further. Every
/// candidate is compared in constant time and all three are always computed. The caller
/// must then claim the returned step atomically so it is accepted at most once.
pub fn matching_step(key: &[u8], code: &str, now: Timestamp) -> Option<i64> {
    let current = step_at(now);
    let mut found = None;
    for step in [current - 1, current, current + 1] {
        if step < 0 {
            continue;
        }
        let expected = hotp(Algorithm::Sha1, key, step as u64, DIGITS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// A new random 160-bit secret.
pub fn generate_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; SECRET_LEN];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// RFC 4648 base32 without padding, as authenticator apps expect.
pub fn encode_secret(key: &[u8]) -> String {
    base32::encode(base32::Alphabet::Rfc4648 { padding: false }, key)
}

/// The Key URI Format (`otpauth://totp/Issuer:account?secret=…&issuer=Issuer`). Only the
/// defaults SHA1/6/30 are used, so no algorithm/digits/period parameters are written.
pub fn otpauth_uri(issuer: &str, account: &str, key: &[u8]) -> String {
    let issuer_enc = percent_encode(issuer);
    format!("otpauth://totp/{issuer_enc}:{}?secret={}&issuer={issuer_enc}", percent_encode(account), encode_secret(key))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The RFC 4226 (appendix D) and RFC 6238 (appendix B) test vectors, kept in the
    /// repository (`crates/twostep-core/vectors/`) so that a clone tests on its own.
    fn vectors(name: &str) -> Value {
        let text = match name {
            "rfc4226-hotp.json" => include_str!("../../vectors/rfc4226-hotp.json"),
            "rfc6238-totp.json" => include_str!("../../vectors/rfc6238-totp.json"),
            other => panic!("no test vectors named {other}"),
        };
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn every_rfc4226_vector_matches() {
        let v = vectors("rfc4226-hotp.json");
        let key = v["secret_ascii"].as_str().unwrap().as_bytes();
        let cases = v["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 10);
        for case in cases {
            let counter = case["counter"].as_u64().unwrap();
            let digest = hmac_digest(Algorithm::Sha1, key, &counter.to_be_bytes());
            assert_eq!(u64::from(truncate(&digest)), case["truncated_dec"].as_u64().unwrap());
            assert_eq!(hotp(Algorithm::Sha1, key, counter, 6), case["hotp"].as_str().unwrap());
        }
    }

    #[test]
    fn every_rfc6238_vector_matches_for_each_hash() {
        let v = vectors("rfc6238-totp.json");
        let digits = v["digits"].as_u64().unwrap() as u32;
        let cases = v["cases"].as_array().unwrap();
        assert_eq!(cases.len(), 6);
        for (name, algorithm) in
            [("SHA1", Algorithm::Sha1), ("SHA256", Algorithm::Sha256), ("SHA512", Algorithm::Sha512)]
        {
            let seed = v["seeds_ascii"][name].as_str().unwrap().as_bytes();
            for case in cases {
                let time = case["time"].as_i64().unwrap();
                let t = u64::from_str_radix(case["t_hex"].as_str().unwrap(), 16).unwrap();
                assert_eq!(step_at(time) as u64, t);
                assert_eq!(hotp(algorithm, seed, t, digits), case[name].as_str().unwrap(), "{name} at {time}");
            }
        }
    }

    #[test]
    fn the_base32_seed_of_the_vectors_round_trips() {
        let v = vectors("rfc6238-totp.json");
        assert_eq!(encode_secret(b"12345678901234567890"), v["sha1_seed_base32"].as_str().unwrap());
    }

    #[test]
    fn one_step_either_side_is_accepted_and_two_are_not() {
        let key = b"12345678901234567890";
        let now = 1_111_111_111;
        let step = step_at(now);
        for delta in [-1i64, 0, 1] {
            let code = hotp(Algorithm::Sha1, key, (step + delta) as u64, 6);
            assert_eq!(matching_step(key, &code, now), Some(step + delta), "T{delta:+}");
        }
        for delta in [-2i64, 2] {
            let code = hotp(Algorithm::Sha1, key, (step + delta) as u64, 6);
            assert_eq!(matching_step(key, &code, now), None, "T{delta:+} accepted");
        }
    }

    #[test]
    fn code_at_is_the_current_step() {
        let key = b"12345678901234567890";
        // RFC 6238 vector at T=59 is 94287082 with 8 digits; 6 digits keep the last six.
        assert_eq!(code_at(key, 59), "287082");
    }

    #[test]
    fn enrolled_secrets_are_160_bits_of_unpadded_base32() {
        let key = generate_secret();
        assert_eq!(key.len(), 20);
        let b32 = encode_secret(&key);
        assert_eq!(b32.len(), 32);
        assert!(!b32.contains('='));
        assert_ne!(generate_secret(), key);
    }

    #[test]
    fn the_uri_follows_the_key_uri_format() {
        let uri = otpauth_uri("Twostep", "maria@acme", b"12345678901234567890");
        assert_eq!(uri, "otpauth://totp/Twostep:maria@acme?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Twostep");
        assert_eq!(otpauth_uri("My Co", "a b@x", b"1"), "otpauth://totp/My%20Co:a%20b@x?secret=GE&issuer=My%20Co");
    }
}
