//! Password hashing with argon2id (SPEC §10: m=19456 KiB, t=2, p=1). These calls are
//! CPU-bound for tens of milliseconds: callers run them off the async runtime.

use crate::domain::Password;
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use std::sync::{Mutex, OnceLock};

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

/// Checks a password against a stored PHC string, at the parameters stored with it. A
/// malformed hash never matches. The same computation as argon2's `verify_password`, but
/// in working memory that is reused (see [`with_memory`]).
pub fn verify(password: &Password, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(parsed.algorithm);
    let version = parsed.version.map(Version::try_from).transpose();
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&parsed)) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = zeroize::Zeroizing::new(vec![0u8; expected.len()]);
    let computed = with_memory(argon.params(), |memory| {
        argon.hash_password_into_with_memory(password.expose().as_bytes(), salt, &mut out, memory)
    });
    computed.is_ok() && crate::crypto::constant_time_eq(&out, expected.as_bytes())
}

/// Argon2's working memory (19 MiB here), kept for the next hash instead of freed. Freed
/// blocks this large stay with the allocator arena of whichever blocking thread used them,
/// so a burst of sign-ins over many threads left hundreds of MiB resident; reusing at
/// most one block set per core bounds it to what the hashes running at once need.
fn with_memory<T>(params: &Params, hash: impl FnOnce(&mut [Block]) -> T) -> T {
    static FREE: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());
    let blocks = params.block_count();
    let reused = FREE.lock().ok().and_then(|mut free| free.pop()).filter(|m| m.len() == blocks);
    let mut memory = reused.unwrap_or_else(|| vec![Block::default(); blocks]);
    let result = hash(&mut memory);
    let keep = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    if let Ok(mut free) = FREE.lock()
        && free.len() < keep
    {
        free.push(memory);
    }
    result
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
    fn a_hash_made_at_other_parameters_is_checked_at_its_own() {
        let pw = Password::new("correct horse battery");
        let salt = SaltString::generate(&mut OsRng);
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(64, 1, 1, None).unwrap());
        let phc = argon.hash_password(pw.expose().as_bytes(), &salt).unwrap().to_string();
        assert!(verify(&pw, &phc), "{phc}");
        assert!(verify(&pw, &phc), "again, in reused memory of another size");
        assert!(!verify(&Password::new("correct horse batterz"), &phc));
    }

    #[test]
    fn the_dummy_never_matches() {
        assert!(!verify_dummy(&Password::new("twostep dummy password")));
    }
}
