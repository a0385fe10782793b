//! Key rotation: every TOTP secret and phone number at rest moves to a new key, a batch
//! at a time, while replicas keep serving. Each record is rewritten with a conditional
//! update on the bytes that were read, so a concurrent write (a new enrollment, a
//! disabled method) always wins; what is left is picked up by the next batch or the next
//! run. Nothing is deleted, so an interrupted rotation simply runs again.

use anyhow::bail;
use std::time::Duration;
use twostep_core::aad::Aad;
use twostep_core::crypto::{Keyring, SecretKey};
use twostep_core::store::{SealedRecord, SealedSlot, prelude::*};

#[derive(Debug, Clone)]
pub struct RotateOptions {
    /// Records read and rewritten per batch.
    pub batch_size: i64,
    /// Stop after this many records (the rest are left for another run).
    pub max_records: Option<u64>,
}

impl Default for RotateOptions {
    fn default() -> Self {
        Self { batch_size: 500, max_records: None }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rotated {
    /// Records now sealed under the new key by this run.
    pub resealed: u64,
    /// Records that changed between being read and being rewritten (left to the newer
    /// write, and looked at again).
    pub changed_meanwhile: u64,
    /// Records still under another key when the run ended.
    pub remaining: u64,
}

/// Consecutive batches in which every record changed meanwhile before giving up.
const MAX_IDLE_BATCHES: u32 = 50;

/// The associated data a record was sealed with: the writers and rotation both take it
/// from `twostep_core::aad`, so they cannot disagree.
pub fn associated_data(record: &SealedRecord) -> Vec<u8> {
    Aad::of_record(record).bytes()
}

fn describe(record: &SealedRecord) -> String {
    let what = match record.slot {
        SealedSlot::Method(kind) => format!("the {kind} method"),
        SealedSlot::Pending(kind) => format!("the {kind} enrollment in progress"),
        SealedSlot::AccountPhone => "the phone number".to_owned(),
    };
    format!("{what} of account {} ({})", record.account_id, record.username_key)
}

/// Re-encrypts every record not under `new`, opening each with the key it names in
/// `keyring` (any key of the keyring for a record without a key id).
pub async fn rotate(
    store: &dyn Store,
    keyring: &Keyring,
    new: &SecretKey,
    options: &RotateOptions,
) -> anyhow::Result<Rotated> {
    let mut report = Rotated::default();
    let mut idle = 0;
    loop {
        let mut limit = options.batch_size.max(1);
        if let Some(max) = options.max_records {
            let left = max.saturating_sub(report.resealed);
            if left == 0 {
                break;
            }
            limit = limit.min(i64::try_from(left).unwrap_or(i64::MAX));
        }
        let batch = store.sealed_not_under(new.id(), limit).await?;
        if batch.is_empty() {
            break;
        }
        let before = report.resealed;
        for record in &batch {
            let aad = associated_data(record);
            let opened = match record.key_id.as_deref().and_then(|id| keyring.get(id)) {
                Some(key) => key.open(&record.sealed, &aad),
                None => keyring.open_any(&record.sealed, &aad),
            };
            let Ok(plain) = opened else {
                bail!(
                    "cannot open {} (sealed with key {}): add that key's file to previous_key_files and run again; \
                     {} records were re-encrypted before this one",
                    describe(record),
                    record.key_id.as_deref().unwrap_or("unknown"),
                    report.resealed
                );
            };
            let sealed = new.seal(&plain, &aad)?;
            if store.reseal(record, &sealed, new.id()).await? {
                report.resealed += 1;
            } else {
                report.changed_meanwhile += 1;
            }
        }
        if report.resealed == before {
            // Every record of the batch was rewritten by someone else meanwhile: let them
            // settle, then read again.
            idle += 1;
            if idle >= MAX_IDLE_BATCHES {
                bail!("records keep changing while being re-encrypted; run the rotation again");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        } else {
            idle = 0;
        }
        tracing::info!(resealed = report.resealed, "key rotation progress");
    }
    // The keys that sign ID and access tokens (SPEC §13) are sealed too.
    for key in store.signing_keys(i64::MIN).await? {
        if key.key_id == new.id() {
            continue;
        }
        let aad = Aad::SigningKey { kid: &key.kid }.bytes();
        let Ok(plain) =
            keyring.get(&key.key_id).map_or_else(|| keyring.open_any(&key.sealed, &aad), |k| k.open(&key.sealed, &aad))
        else {
            bail!(
                "cannot open the signing key {} (sealed with key {}): add that key's file to previous_key_files and run again",
                key.kid,
                key.key_id
            );
        };
        let sealed = new.seal(&plain, &aad)?;
        if store.reseal_signing_key(&key.kid, &key.sealed, &sealed, new.id()).await? {
            report.resealed += 1;
        } else {
            report.changed_meanwhile += 1;
        }
    }
    report.remaining = store
        .sealed_counts()
        .await?
        .into_iter()
        .filter(|(id, _)| id.as_deref() != Some(new.id()))
        .map(|(_, n)| u64::try_from(n).unwrap_or(0))
        .sum();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use twostep_core::domain::{MethodKind, Username};

    #[test]
    fn an_account_phone_is_opened_with_the_data_it_was_sealed_with() {
        let record = SealedRecord {
            slot: SealedSlot::AccountPhone,
            account_id: 3,
            org_id: 7,
            username_key: "maria".into(),
            sealed: Vec::new(),
            key_id: None,
        };
        // As the writers (account creation, enrollment) spell it.
        let username = Username::parse("Maria").unwrap();
        let username_key = username.key();
        assert_eq!(associated_data(&record), Aad::AccountPhone { org_id: 7, username_key: &username_key }.bytes());
        let totp = SealedRecord { slot: SealedSlot::Pending(MethodKind::Totp), ..record.clone() };
        assert_eq!(associated_data(&totp), Aad::Totp { account_id: 3 }.bytes());
        let sms = SealedRecord { slot: SealedSlot::Method(MethodKind::Sms), ..record };
        assert_eq!(associated_data(&sms), Aad::Phone { account_id: 3 }.bytes());
    }
}
