//! Password hashing with argon2id (SPEC §10: m=19456 KiB, t=2, p=1). These calls are
//! CPU-bound for tens of milliseconds: callers run them off the async runtime.

use crate::domain::Password;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn hasher() -> Result<Argon2<'static>, HashError> {
    // OWASP's argon2id baseline, which is also the SPEC's minimum.
    let params = Params::new(19_456, 2, 1, None).map_err(|e| HashError(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`).
pub fn hash(password: &Password) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks a password against a stored PHC string. A malformed hash never matches.
pub fn verify(password: &Password, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(argon) = hasher() else {
        return false;
    };
    argon.verify_password(password.expose().as_bytes(), &parsed).is_ok()
}

/// Verifies against a fixed hash of the same cost, so that an unknown username takes as
/// long as a wrong password (SPEC §4) and always fails.
pub fn verify_dummy(password: &Password) -> bool {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash(&Password::new("twostep dummy password")).ok());
    if let Some(phc) = dummy {
        let _ = verify(password, phc);
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let pw = Password::new("correct horse battery");
        let phc = hash(&pw).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify(&pw, &phc));
        assert!(!verify(&Password::new("correct horse batterz"), &phc));
        assert!(!verify(&pw, "not a hash"));
    }

    #[test]
    fn the_dummy_never_matches() {
        assert!(!verify_dummy(&Password::new("twostep dummy password")));
    }
}
