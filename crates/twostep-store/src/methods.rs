//! [`MethodStore`]: enabled methods, enrollments under way, WebAuthn ceremonies, recovery
//! codes and the admin reset.

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::domain::MethodKind;
use twostep_core::store::*;

/// Claims an authenticator app's time step: true only if it is later than every step that
/// app accepted before, so a code is accepted once (RFC 6238 §5.2). Marks the app used.
/// These claims are made by `LimitStore::settle_second_step`.
pub(crate) static CLAIM_TOTP_STEP: &str = "UPDATE methods SET last_step = $2, last_used_at = $3 \
     WHERE id = $1 AND kind = 'totp' AND (last_step IS NULL OR last_step < $2)";
pub(crate) static CLAIM_RECOVERY_CODE: &str =
    "UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL";
pub(crate) static RECOVERY_CODES_LEFT: &str =
    "SELECT COUNT(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL";

#[derive(sqlx::FromRow)]
struct MethodRow {
    id: i64,
    kind: String,
    name: String,
    sealed: Option<Vec<u8>>,
    key_id: Option<String>,
    phone_hint: Option<String>,
    enabled_at: i64,
    last_used_at: Option<i64>,
    credential: Option<String>,
}

impl TryFrom<MethodRow> for Method {
    type Error = sqlx::Error;

    fn try_from(r: MethodRow) -> Result<Self, sqlx::Error> {
        Ok(Method {
            id: r.id,
            kind: method_kind(&r.kind)?,
            name: r.name,
            sealed: r.sealed.unwrap_or_default(),
            key_id: r.key_id.unwrap_or_default(),
            phone_hint: r.phone_hint,
            enabled_at: r.enabled_at,
            last_used_at: r.last_used_at,
            credential: r.credential,
        })
    }
}

#[derive(sqlx::FromRow)]
struct CeremonyRow {
    id: String,
    account_id: i64,
    purpose: String,
    name: Option<String>,
    state: String,
    expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct PendingRow {
    account_id: i64,
    owner: String,
    kind: String,
    name: Option<String>,
    sealed: Vec<u8>,
    key_id: String,
    phone_hint: Option<String>,
    expires_at: i64,
}

// Statements shared by several transactions, written once. Macros rather than functions:
// they run on either backend's transaction inside `on!`.

/// A write to the account row first: PostgreSQL locks the row and SQLite takes the write
/// lock, so a concurrent removal waits here and then sees this one's result before it
/// counts (SPEC §11.6).
macro_rules! lock_account {
    ($tx:expr, $sql:ident, $account_id:expr) => {
        sqlx::query($sql("UPDATE accounts SET second_step_locks = second_step_locks WHERE id = $1"))
            .bind($account_id)
            .execute(&mut *$tx)
            .await?
    };
}

/// After a method is removed: remembered devices are forgotten (SPEC §14) and the
/// recovery codes go with the last method.
macro_rules! after_removal {
    ($tx:expr, $sql:ident, $account_id:expr) => {
        sqlx::query($sql("DELETE FROM remembered_devices WHERE account_id = $1"))
            .bind($account_id)
            .execute(&mut *$tx)
            .await?;
        sqlx::query($sql(
            "DELETE FROM recovery_codes WHERE account_id = $1 \
             AND NOT EXISTS (SELECT 1 FROM methods WHERE account_id = $1)",
        ))
        .bind($account_id)
        .execute(&mut *$tx)
        .await?;
    };
}

/// Replaces an account's recovery codes with these hashes.
macro_rules! store_recovery_codes {
    ($tx:expr, $sql:ident, $account_id:expr, $hashes:expr) => {
        sqlx::query($sql("DELETE FROM recovery_codes WHERE account_id = $1"))
            .bind($account_id)
            .execute(&mut *$tx)
            .await?;
        for hash in $hashes {
            sqlx::query($sql("INSERT INTO recovery_codes (account_id, code_hash) VALUES ($1, $2)"))
                .bind($account_id)
                .bind(hash)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

pub(crate) fn method_kind(s: &str) -> Result<MethodKind, sqlx::Error> {
    MethodKind::parse(s).ok_or_else(|| sqlx::Error::Decode(format!("unknown method kind {s:?}").into()))
}

#[async_trait::async_trait]
impl MethodStore for SqlStore {
    async fn methods(&self, account_id: i64) -> StoreResult<Vec<Method>> {
        on!(read self, |pool, sql| {
            let rows: Vec<MethodRow> = sqlx::query_as(sql(
                "SELECT id, kind, name, sealed, key_id, phone_hint, enabled_at, last_used_at, credential \
                 FROM methods WHERE account_id = $1 ORDER BY kind DESC, id",
            ))
            .bind(account_id)
            .fetch_all(pool)
            .await?;
            rows.into_iter().map(Method::try_from).collect()
        })
    }

    async fn put_pending(&self, p: Pending) -> StoreResult<()> {
        // One enrollment of a kind per account at a time: a newer one, begun elsewhere,
        // replaces it (and the older owner then finds nothing to confirm).
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO pending_methods (account_id, kind, sealed, key_id, phone_hint, expires_at, owner, name) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (account_id, kind) DO UPDATE SET sealed = excluded.sealed, \
                   key_id = excluded.key_id, phone_hint = excluded.phone_hint, expires_at = excluded.expires_at, \
                   owner = excluded.owner, last_sms_at = NULL, name = excluded.name",
            ))
            .bind(p.account_id)
            .bind(p.kind.as_str())
            .bind(&p.sealed)
            .bind(&p.key_id)
            .bind(&p.phone_hint)
            .bind(p.expires_at)
            .bind(p.owner.key())
            .bind(&p.name)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn pending(
        &self,
        account_id: i64,
        kind: MethodKind,
        owner: EnrollmentOwner,
        now: Timestamp,
    ) -> StoreResult<Option<Pending>> {
        on!(read self, |pool, sql| {
            let row: Option<PendingRow> = sqlx::query_as(sql(
                "SELECT account_id, owner, kind, name, sealed, key_id, phone_hint, expires_at FROM pending_methods \
                 WHERE account_id = $1 AND kind = $2 AND expires_at > $3 AND owner = $4",
            ))
            .bind(account_id)
            .bind(kind.as_str())
            .bind(now)
            .bind(owner.key())
            .fetch_optional(pool)
            .await?;
            row.filter(|r| r.owner == owner.key())
                .map(|r| {
                    Ok(Pending {
                        account_id: r.account_id,
                        owner,
                        kind: method_kind(&r.kind)?,
                        name: r.name,
                        sealed: r.sealed,
                        key_id: r.key_id,
                        phone_hint: r.phone_hint,
                        expires_at: r.expires_at,
                    })
                })
                .transpose()
        })
    }

    async fn enable_method(&self, e: EnableMethod) -> StoreResult<bool> {
        let p = &e.pending;
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            // Claiming the pending record first makes two confirmations of one enrollment
            // enable it once. A record a key rotation re-encrypted meanwhile (same secret,
            // another key) is still the one that was confirmed; a replaced one is not.
            let claimed = sqlx::query(sql("DELETE FROM pending_methods WHERE account_id = $1 AND kind = $2 \
                 AND (sealed = $3 OR key_id <> $4) AND owner = $5"))
            .bind(p.account_id)
            .bind(p.kind.as_str())
            .bind(&p.sealed)
            .bind(&p.key_id)
            .bind(p.owner.key())
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() != 1 {
                return Ok(false);
            }
            // One phone per account: a confirmed number replaces the old one. Authenticator
            // apps and keys add up (SPEC §14).
            if p.kind == MethodKind::Sms {
                sqlx::query(sql("DELETE FROM methods WHERE account_id = $1 AND kind = 'sms'"))
                    .bind(p.account_id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(sql(
                "INSERT INTO methods (account_id, kind, name, sealed, key_id, phone_hint, enabled_at, last_step) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            ))
            .bind(p.account_id)
            .bind(p.kind.as_str())
            .bind(p.name.clone().unwrap_or_else(|| p.kind.default_name().to_owned()))
            .bind(&p.sealed)
            .bind(&p.key_id)
            .bind(&p.phone_hint)
            .bind(e.at)
            .bind(e.totp_step)
            .execute(&mut *tx)
            .await?;
            if let Some(hashes) = &e.recovery_hashes {
                store_recovery_codes!(tx, sql, p.account_id, hashes);
            }
            sqlx::query(sql("UPDATE accounts SET last_two_step_at = $2 WHERE id = $1"))
                .bind(p.account_id)
                .bind(e.at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn disable_method(&self, account_id: i64, kind: MethodKind, keep_last: bool) -> StoreResult<Removal> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            lock_account!(tx, sql, account_id);
            let kinds: Vec<String> = sqlx::query_scalar(sql("SELECT kind FROM methods WHERE account_id = $1"))
                .bind(account_id)
                .fetch_all(&mut *tx)
                .await?;
            if !kinds.iter().any(|k| k == kind.as_str()) {
                return Ok(Removal::NotFound);
            }
            if keep_last && kinds.iter().all(|k| k == kind.as_str()) {
                return Ok(Removal::LastMethod);
            }
            sqlx::query(sql("DELETE FROM methods WHERE account_id = $1 AND kind = $2"))
                .bind(account_id)
                .bind(kind.as_str())
                .execute(&mut *tx)
                .await?;
            after_removal!(tx, sql, account_id);
            tx.commit().await?;
            Ok(Removal::Removed)
        })
    }

    async fn remove_method(
        &self,
        account_id: i64,
        method_id: i64,
        keep_last: bool,
    ) -> StoreResult<(Removal, Option<Method>)> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            lock_account!(tx, sql, account_id);
            let rows: Vec<MethodRow> = sqlx::query_as(sql(
                "SELECT id, kind, name, sealed, key_id, phone_hint, enabled_at, last_used_at, credential \
                 FROM methods WHERE account_id = $1 ORDER BY kind DESC, id",
            ))
            .bind(account_id)
            .fetch_all(&mut *tx)
            .await?;
            let count = rows.len();
            let Some(row) = rows.into_iter().find(|r| r.id == method_id) else {
                return Ok((Removal::NotFound, None));
            };
            if keep_last && count == 1 {
                return Ok((Removal::LastMethod, None));
            }
            sqlx::query(sql("DELETE FROM methods WHERE id = $1 AND account_id = $2"))
                .bind(method_id)
                .bind(account_id)
                .execute(&mut *tx)
                .await?;
            after_removal!(tx, sql, account_id);
            tx.commit().await?;
            Ok((Removal::Removed, Some(Method::try_from(row)?)))
        })
    }

    async fn method_used(&self, method_id: i64, credential: Option<&str>, now: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "UPDATE methods SET last_used_at = $2, credential = COALESCE($3, credential) WHERE id = $1",
            ))
            .bind(method_id)
            .bind(now)
            .bind(credential)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn enable_key(&self, k: NewKey) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let taken: Option<i64> = sqlx::query_scalar(sql("SELECT id FROM methods WHERE credential_id = $1"))
                .bind(&k.credential_id)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                return Ok(None);
            }
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO methods (account_id, kind, name, credential_id, credential, enabled_at) \
                 VALUES ($1, 'webauthn', $2, $3, $4, $5) RETURNING id",
            ))
            .bind(k.account_id)
            .bind(&k.name)
            .bind(&k.credential_id)
            .bind(&k.credential)
            .bind(k.at)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(hashes) = &k.recovery_hashes {
                store_recovery_codes!(tx, sql, k.account_id, hashes);
            }
            sqlx::query(sql("UPDATE accounts SET last_two_step_at = $2 WHERE id = $1"))
                .bind(k.account_id)
                .bind(k.at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(id))
        })
    }

    async fn put_ceremony(&self, c: Ceremony) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO webauthn_ceremonies (id, account_id, owner, purpose, name, state, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            ))
            .bind(&c.id)
            .bind(c.account_id)
            .bind(c.owner.key())
            .bind(c.purpose.as_str())
            .bind(&c.name)
            .bind(&c.state)
            .bind(c.expires_at)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn take_ceremony(
        &self,
        id: &str,
        owner: EnrollmentOwner,
        purpose: CeremonyPurpose,
        now: Timestamp,
    ) -> StoreResult<Option<Ceremony>> {
        on!(self, |pool, sql| {
            let row: Option<CeremonyRow> =
                sqlx::query_as(sql("DELETE FROM webauthn_ceremonies WHERE id = $1 AND owner = $2 AND purpose = $3 \
                 RETURNING id, account_id, purpose, name, state, expires_at"))
                .bind(id)
                .bind(owner.key())
                .bind(purpose.as_str())
                .fetch_optional(pool)
                .await?;
            Ok(row.filter(|r| r.expires_at > now && r.purpose == purpose.as_str()).map(|r| Ceremony {
                id: r.id,
                account_id: r.account_id,
                owner,
                purpose,
                name: r.name,
                state: r.state,
                expires_at: r.expires_at,
            }))
        })
    }

    async fn replace_recovery_codes(&self, account_id: i64, hashes: Vec<Vec<u8>>) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            store_recovery_codes!(tx, sql, account_id, &hashes);
            tx.commit().await?;
            Ok(())
        })
    }

    async fn recovery_codes_remaining(&self, account_id: i64) -> StoreResult<i64> {
        on!(read self, |pool, sql| {
            let n: i64 = sqlx::query_scalar(sql(RECOVERY_CODES_LEFT))
            .bind(account_id)
            .fetch_one(pool)
            .await?;
            Ok(n)
        })
    }

    async fn reset_two_step(&self, account_id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            for statement in [
                "DELETE FROM methods WHERE account_id = $1",
                "DELETE FROM remembered_devices WHERE account_id = $1",
                "DELETE FROM pending_methods WHERE account_id = $1",
                "DELETE FROM webauthn_ceremonies WHERE account_id = $1",
                "DELETE FROM recovery_codes WHERE account_id = $1",
                "DELETE FROM sms_challenges WHERE account_id = $1",
                "DELETE FROM flows WHERE account_id = $1",
                "DELETE FROM sessions WHERE account_id = $1",
                "UPDATE accounts SET second_step_failures = 0, locked_until = NULL WHERE id = $1",
            ] {
                sqlx::query(sql(statement)).bind(account_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
