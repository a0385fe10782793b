//! The associated data of every sealed secret, in one place.
//!
//! AES-256-GCM binds each ciphertext to its associated data (`crypto::SecretKey::seal`), so a
//! secret copied to another row does not open there. The writer of a secret and key rotation
//! (which opens and re-seals every one of them) must spell that data identically; both call
//! [`Aad::bytes`], and rotation finds the variant for a stored row with [`Aad::of_record`].
//! The byte formats are stored forever: changing one makes every existing secret unreadable.

use crate::domain::MethodKind;
use crate::store::{SealedRecord, SealedSlot};

/// What a sealed secret is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aad<'a> {
    /// A TOTP secret (enabled or being set up) of an account: `totp:{account_id}`.
    Totp { account_id: i64 },
    /// An SMS number (enabled or being set up) of an account: `phone:{account_id}`.
    Phone { account_id: i64 },
    /// The number given when an account was created, bound to its organisation and
    /// lowercase username (`Username::key`): `account-phone:{org_id}:{username_key}`.
    AccountPhone { org_id: i64, username_key: &'a str },
    /// A private key that signs ID and access tokens, bound to its `kid`: `signing-key:{kid}`.
    SigningKey { kid: &'a str },
    /// A security key's credential is public data and is never sealed; rows of that kind
    /// are never sealed records, but rotation still needs a total mapping.
    WebauthnUnsealed,
}

impl<'a> Aad<'a> {
    /// The associated data of an enabled or pending method of `kind`.
    pub fn method(kind: MethodKind, account_id: i64) -> Self {
        match kind {
            MethodKind::Totp => Aad::Totp { account_id },
            MethodKind::Sms => Aad::Phone { account_id },
            MethodKind::Webauthn => Aad::WebauthnUnsealed,
        }
    }

    /// The associated data a stored record was sealed with, as its writer spelt it.
    pub fn of_record(record: &'a SealedRecord) -> Self {
        match record.slot {
            SealedSlot::Method(kind) | SealedSlot::Pending(kind) => Aad::method(kind, record.account_id),
            SealedSlot::AccountPhone => Aad::AccountPhone { org_id: record.org_id, username_key: &record.username_key },
        }
    }

    /// The bytes handed to the cipher.
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Aad::Totp { account_id } => format!("totp:{account_id}").into_bytes(),
            Aad::Phone { account_id } => format!("phone:{account_id}").into_bytes(),
            Aad::AccountPhone { org_id, username_key } => format!("account-phone:{org_id}:{username_key}").into_bytes(),
            Aad::SigningKey { kid } => format!("signing-key:{kid}").into_bytes(),
            Aad::WebauthnUnsealed => b"webauthn:unsealed".to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(slot: SealedSlot) -> SealedRecord {
        SealedRecord { slot, account_id: 3, org_id: 7, username_key: "maria".into(), sealed: Vec::new(), key_id: None }
    }

    #[test]
    fn a_totp_secret_is_bound_to_its_account() {
        assert_eq!(Aad::Totp { account_id: 42 }.bytes(), b"totp:42");
        assert_eq!(Aad::of_record(&record(SealedSlot::Method(MethodKind::Totp))).bytes(), b"totp:3");
        assert_eq!(Aad::of_record(&record(SealedSlot::Pending(MethodKind::Totp))).bytes(), b"totp:3");
    }

    #[test]
    fn an_sms_number_is_bound_to_its_account() {
        assert_eq!(Aad::Phone { account_id: 42 }.bytes(), b"phone:42");
        assert_eq!(Aad::of_record(&record(SealedSlot::Method(MethodKind::Sms))).bytes(), b"phone:3");
        assert_eq!(Aad::of_record(&record(SealedSlot::Pending(MethodKind::Sms))).bytes(), b"phone:3");
    }

    #[test]
    fn an_account_phone_is_bound_to_its_organisation_and_username() {
        let username = crate::domain::Username::parse("Maria").unwrap();
        let key = username.key();
        assert_eq!(Aad::AccountPhone { org_id: 7, username_key: &key }.bytes(), b"account-phone:7:maria");
        assert_eq!(Aad::of_record(&record(SealedSlot::AccountPhone)).bytes(), b"account-phone:7:maria");
    }

    #[test]
    fn a_signing_key_is_bound_to_its_kid() {
        assert_eq!(Aad::SigningKey { kid: "k-2026-01" }.bytes(), b"signing-key:k-2026-01");
    }

    #[test]
    fn a_security_key_has_a_placeholder_because_it_is_never_sealed() {
        assert_eq!(Aad::method(MethodKind::Webauthn, 3).bytes(), b"webauthn:unsealed");
        assert_eq!(Aad::of_record(&record(SealedSlot::Pending(MethodKind::Webauthn))).bytes(), b"webauthn:unsealed");
    }

    #[test]
    fn formats_do_not_collide_across_kinds() {
        let all = [
            Aad::Totp { account_id: 1 }.bytes(),
            Aad::Phone { account_id: 1 }.bytes(),
            Aad::AccountPhone { org_id: 1, username_key: "1" }.bytes(),
            Aad::SigningKey { kid: "1" }.bytes(),
            Aad::WebauthnUnsealed.bytes(),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }
}
