//! Six-digit SMS codes from the OS CSPRNG, stored as keyed hashes.

use rand::Rng;
use sha2::{Digest, Sha256};

pub fn generate() -> String {
    format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32))
}

/// SHA-256 over the code and the id of the challenge it belongs to, so a hash of one
/// challenge says nothing about another.
pub fn hash(challenge_salt: &[u8], code: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(challenge_salt);
    h.update(code.as_bytes());
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = generate();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
