//! Secrets at rest (AES-256-GCM) and bearer tokens (random, stored as SHA-256).

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the secret key must be 32 bytes (64 hex characters)")]
    BadKey,
    #[error("a stored secret could not be decrypted (wrong key or damaged record)")]
    Decrypt,
}

/// The AES-256-GCM key that protects TOTP secrets and phone numbers. `Debug` is redacted.
#[derive(Clone)]
pub struct SecretKey {
    key: Zeroizing<[u8; 32]>,
    /// A short id derived from the key, stored beside each record so a rotation can tell
    /// which key sealed it.
    id: String,
}

impl SecretKey {
    pub fn generate() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self::from_bytes(key)
    }

    pub fn from_bytes(key: [u8; 32]) -> Self {
        let digest = Sha256::digest([b"twostep-key-id:".as_slice(), &key].concat());
        Self { key: Zeroizing::new(key), id: hex::encode(&digest[..4]) }
    }

    /// Parses the key file's text: 64 hex characters (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, CryptoError> {
        let bytes = hex::decode(text.trim()).map_err(|_| CryptoError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CryptoError::BadKey)?;
        Ok(Self::from_bytes(key))
    }

    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(*self.key))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Seals `plaintext` with a fresh random nonce; `context` (e.g. the account id) is
    /// authenticated so a record copied to another account fails to open.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let cipher = Aes256Gcm::new_from_slice(self.key.as_slice()).map_err(|_| CryptoError::BadKey)?;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .map_err(|_| CryptoError::Decrypt)?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    pub fn open(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let cipher = Aes256Gcm::new_from_slice(self.key.as_slice()).map_err(|_| CryptoError::BadKey)?;
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: context })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(id={}, [redacted])", self.id)
    }
}

/// A bearer token as handed to a client: 256 random bits, base64url. Only its SHA-256
/// ([`TokenHash`]) is ever stored.
pub struct Token(Zeroizing<String>);

impl Token {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.expose())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// SHA-256 of a presented token: the lookup key in storage. A lookup by hash is an
/// index search on a value the attacker cannot steer, so it leaks no timing about
/// stored tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(pub Vec<u8>);

impl TokenHash {
    pub fn of(presented: &str) -> Self {
        Self(Sha256::digest(presented.as_bytes()).to_vec())
    }
}

/// Constant-time equality for codes and digests.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_context() {
        let key = SecretKey::generate();
        let sealed = key.seal(b"JBSWY3DPEHPK3PXP", b"account:7").unwrap();
        assert!(!sealed.windows(16).any(|w| w == b"JBSWY3DPEHPK3PXP"));
        assert_eq!(key.open(&sealed, b"account:7").unwrap().as_slice(), b"JBSWY3DPEHPK3PXP");
        assert!(key.open(&sealed, b"account:8").is_err());
        assert!(SecretKey::generate().open(&sealed, b"account:7").is_err());
        assert!(key.open(b"short", b"account:7").is_err());
    }

    #[test]
    fn two_seals_of_the_same_secret_differ() {
        let key = SecretKey::generate();
        assert_ne!(key.seal(b"x", b"c").unwrap(), key.seal(b"x", b"c").unwrap());
    }

    #[test]
    fn keys_round_trip_through_hex_and_never_print() {
        let key = SecretKey::generate();
        let again = SecretKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(key.id(), again.id());
        assert!(!format!("{key:?}").contains(key.to_hex().as_str()));
        assert!(SecretKey::from_hex("abcd").is_err());
    }

    #[test]
    fn tokens_are_256_bits_and_hash_stably() {
        let t = Token::generate();
        assert_eq!(t.expose().len(), 43);
        assert_eq!(t.hash(), TokenHash::of(t.expose()));
        assert_ne!(Token::generate().expose(), t.expose());
        assert_eq!(format!("{t:?}"), "Token([redacted])");
    }
}
