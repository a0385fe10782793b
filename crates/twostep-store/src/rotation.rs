//! [`RotationStore`]: the sealed secrets a key rotation moves, read and rewritten a batch at
//! a time.

use crate::SqlStore;
use crate::methods::method_kind;
use twostep_core::store::{RotationStore, SealedRecord, SealedSlot, StoreResult};

#[derive(sqlx::FromRow)]
struct SealedRow {
    source: String,
    account_id: i64,
    kind: String,
    org_id: i64,
    username_key: String,
    sealed: Vec<u8>,
    key_id: Option<String>,
}

// Every sealed secret not under key $1, at most $2, in a stable order. A record that
// cannot be opened stops the rotation (its key must be configured), so the order never
// needs to skip past one.
const SEALED_NOT_UNDER: &str = "SELECT source, account_id, kind, org_id, username_key, sealed, key_id FROM ( \
       SELECT 'method' AS source, m.account_id, m.kind, a.org_id, a.username_key, m.sealed, m.key_id \
         FROM methods m JOIN accounts a ON a.id = m.account_id WHERE m.sealed IS NOT NULL AND m.key_id <> $1 \
       UNION ALL \
       SELECT 'pending' AS source, p.account_id, p.kind, a.org_id, a.username_key, p.sealed, p.key_id \
         FROM pending_methods p JOIN accounts a ON a.id = p.account_id WHERE p.key_id <> $1 \
       UNION ALL \
       SELECT 'phone' AS source, a.id AS account_id, 'phone' AS kind, a.org_id, a.username_key, \
         a.phone_sealed AS sealed, a.phone_key_id AS key_id \
         FROM accounts a WHERE a.phone_sealed IS NOT NULL AND (a.phone_key_id IS NULL OR a.phone_key_id <> $1) \
     ) AS sealed ORDER BY source, account_id, kind LIMIT $2";

#[async_trait::async_trait]
impl RotationStore for SqlStore {
    async fn sealed_not_under(&self, key_id: &str, limit: i64) -> StoreResult<Vec<SealedRecord>> {
        on!(read self, |pool, sql| {
            let rows: Vec<SealedRow> =
                sqlx::query_as(sql(SEALED_NOT_UNDER)).bind(key_id).bind(limit).fetch_all(pool).await?;
            rows.into_iter()
                .map(|r| {
                    let slot = match r.source.as_str() {
                        "method" => SealedSlot::Method(method_kind(&r.kind)?),
                        "pending" => SealedSlot::Pending(method_kind(&r.kind)?),
                        _ => SealedSlot::AccountPhone,
                    };
                    Ok(SealedRecord {
                        slot,
                        account_id: r.account_id,
                        org_id: r.org_id,
                        username_key: r.username_key,
                        sealed: r.sealed,
                        key_id: r.key_id,
                    })
                })
                .collect()
        })
    }

    async fn reseal(&self, record: &SealedRecord, sealed: &[u8], key_id: &str) -> StoreResult<bool> {
        // $1 account, $2 kind, $3 new bytes, $4 new key id, $5 old key id, $6 old bytes.
        let (statement, kind) = match record.slot {
            SealedSlot::Method(kind) => (
                "UPDATE methods SET sealed = $3, key_id = $4 \
                 WHERE account_id = $1 AND kind = $2 AND key_id = $5 AND sealed = $6",
                kind.as_str(),
            ),
            SealedSlot::Pending(kind) => (
                "UPDATE pending_methods SET sealed = $3, key_id = $4 \
                 WHERE account_id = $1 AND kind = $2 AND key_id = $5 AND sealed = $6",
                kind.as_str(),
            ),
            SealedSlot::AccountPhone => (
                "UPDATE accounts SET phone_sealed = $3, phone_key_id = $4 \
                 WHERE id = $1 AND $2 = 'phone' AND phone_sealed = $6 \
                   AND (phone_key_id = $5 OR (phone_key_id IS NULL AND $5 IS NULL))",
                "phone",
            ),
        };
        on!(self, |pool, sql| {
            let done = sqlx::query(sql(statement))
                .bind(record.account_id)
                .bind(kind)
                .bind(sealed)
                .bind(key_id)
                .bind(&record.key_id)
                .bind(&record.sealed)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn sealed_counts(&self) -> StoreResult<Vec<(Option<String>, i64)>> {
        on!(read self, |pool, sql| {
            let rows: Vec<(Option<String>, i64)> = sqlx::query_as(sql("SELECT key_id, COUNT(*) FROM ( \
                   SELECT key_id FROM methods WHERE sealed IS NOT NULL \
                   UNION ALL SELECT key_id FROM pending_methods \
                   UNION ALL SELECT phone_key_id AS key_id FROM accounts WHERE phone_sealed IS NOT NULL \
                   UNION ALL SELECT key_id FROM signing_keys \
                 ) AS sealed GROUP BY key_id ORDER BY key_id"))
            .fetch_all(pool)
            .await?;
            Ok(rows)
        })
    }
}
