//! Recovery codes: ten single-use fallbacks, shown once and stored only as hashes.

use rand::Rng;
use sha2::{Digest, Sha256};

pub const COUNT: usize = 10;
// No 0/o, 1/l/i: codes are copied by hand from paper.
const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";

/// A code as shown: `xxxxx-xxxxx` (about 49 bits, enough for a hash that is never
/// exposed and a flow that dies after five wrong tries).
pub fn generate() -> Vec<String> {
    let mut rng = rand::rngs::OsRng;
    (0..COUNT)
        .map(|_| {
            let mut s = String::with_capacity(11);
            for i in 0..10 {
                if i == 5 {
                    s.push('-');
                }
                s.push(ALPHABET[rng.gen_range(0..ALPHABET.len())] as char);
            }
            s
        })
        .collect()
}

/// The canonical form of what a user typed: case, spaces and dashes do not matter.
pub fn normalize(input: &str) -> Option<String> {
    let s: String = input.chars().filter(|c| !matches!(c, ' ' | '-')).map(|c| c.to_ascii_lowercase()).collect();
    (s.len() == 10 && s.bytes().all(|b| ALPHABET.contains(&b))).then_some(s)
}

/// SHA-256 of the normalised code, bound to the account so equal codes of two
/// accounts never share a hash.
pub fn hash(account_id: i64, code: &str) -> Vec<u8> {
    let normalized = normalize(code).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(account_id.to_be_bytes());
    h.update(normalized.as_bytes());
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_distinct_codes_are_issued() {
        let codes = generate();
        assert_eq!(codes.len(), 10);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 11 && normalize(c).is_some()));
    }

    #[test]
    fn typing_variations_hash_alike() {
        let code = &generate()[0];
        let shouty = code.to_uppercase().replace('-', " ");
        assert_eq!(hash(7, code), hash(7, &shouty));
        assert_ne!(hash(7, code), hash(8, code));
        assert!(normalize("not-a-code").is_none());
    }
}
