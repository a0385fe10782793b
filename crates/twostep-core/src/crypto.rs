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
    /// A record names a key that is not loaded: list its file in `previous_key_files`.
    #[error("a stored secret was sealed with key {0}, which is not configured (secret_key_file, previous_key_files)")]
    UnknownKey(String),
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

/// The keys a replica holds: the primary seals every new record; the others only open
/// records sealed before a rotation finished. Each record stores the id of the key that
/// sealed it, so opening never guesses.
#[derive(Clone, Debug)]
pub struct Keyring {
    primary: SecretKey,
    others: Vec<SecretKey>,
}

impl Keyring {
    /// `others` may repeat the primary or each other; duplicates are dropped.
    pub fn new(primary: SecretKey, others: impl IntoIterator<Item = SecretKey>) -> Self {
        let mut kept: Vec<SecretKey> = Vec::new();
        for key in others {
            if key.id() != primary.id() && kept.iter().all(|k| k.id() != key.id()) {
                kept.push(key);
            }
        }
        Self { primary, others: kept }
    }

    /// The key that seals new records.
    pub fn primary(&self) -> &SecretKey {
        &self.primary
    }

    /// The key with this id, if loaded.
    pub fn get(&self, key_id: &str) -> Option<&SecretKey> {
        std::iter::once(&self.primary).chain(&self.others).find(|k| k.id() == key_id)
    }

    /// Every loaded key, the primary first.
    pub fn keys(&self) -> impl Iterator<Item = &SecretKey> {
        std::iter::once(&self.primary).chain(&self.others)
    }

    /// Every loaded key id, the primary first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys().map(SecretKey::id).collect()
    }

    /// Seals with the primary key: the sealed bytes and the id to store beside them.
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<(Vec<u8>, String), CryptoError> {
        Ok((self.primary.seal(plaintext, context)?, self.primary.id().to_owned()))
    }

    /// Opens a record with the key whose id it carries.
    pub fn open(&self, key_id: &str, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.get(key_id).ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?.open(sealed, context)
    }

    /// Opens a record whose key id is not at hand, trying each key (the primary first).
    /// AES-GCM authenticates, so a wrong key fails cleanly rather than yielding garbage.
    pub fn open_any(&self, sealed: &[u8], context: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        std::iter::once(&self.primary)
            .chain(&self.others)
            .find_map(|k| k.open(sealed, context).ok())
            .ok_or(CryptoError::Decrypt)
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
    fn a_keyring_seals_with_its_primary_and_opens_by_key_id() {
        let (old, new) = (SecretKey::generate(), SecretKey::generate());
        let before = Keyring::new(old.clone(), []);
        let (sealed_old, id_old) = before.seal(b"+351912345678", b"phone:7").unwrap();
        assert_eq!(id_old, old.id());
        let during = Keyring::new(new.clone(), [old.clone(), new.clone(), old.clone()]);
        assert_eq!(during.ids(), [new.id(), old.id()]);
        let (sealed_new, id_new) = during.seal(b"JBSWY3DPEHPK3PXP", b"totp:7").unwrap();
        assert_eq!(id_new, new.id());
        assert_eq!(during.open(&id_old, &sealed_old, b"phone:7").unwrap().as_slice(), b"+351912345678");
        assert_eq!(during.open(&id_new, &sealed_new, b"totp:7").unwrap().as_slice(), b"JBSWY3DPEHPK3PXP");
        assert_eq!(during.open_any(&sealed_old, b"phone:7").unwrap().as_slice(), b"+351912345678");
        assert!(during.open(&id_old, &sealed_old, b"phone:8").is_err());
        // The old key alone cannot open what the new one sealed, and says which key is missing.
        match before.open(&id_new, &sealed_new, b"totp:7") {
            Err(CryptoError::UnknownKey(id)) => assert_eq!(id, new.id()),
            other => panic!("expected UnknownKey, got {other:?}"),
        }
        assert!(before.open_any(&sealed_new, b"totp:7").is_err());
        assert!(!format!("{during:?}").contains(new.to_hex().as_str()));
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
