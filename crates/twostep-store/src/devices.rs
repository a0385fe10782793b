//! [`DeviceStore`]: devices whose second step is remembered (SPEC §14).

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::store::{DeviceStore, RememberedDevice, StoreResult};

#[async_trait::async_trait]
impl DeviceStore for SqlStore {
    async fn remember_device(
        &self,
        account_id: i64,
        token_hash: &[u8],
        user_agent: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("INSERT INTO remembered_devices (account_id, token_hash, user_agent, created_at, \
                 last_used_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)"))
            .bind(account_id)
            .bind(token_hash)
            .bind(user_agent)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn use_device(&self, account_id: i64, token_hash: &[u8], now: Timestamp) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("UPDATE remembered_devices SET last_used_at = $3 \
                 WHERE account_id = $1 AND token_hash = $2 AND expires_at > $3"))
            .bind(account_id)
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn devices(&self, account_id: i64, now: Timestamp) -> StoreResult<Vec<RememberedDevice>> {
        on!(read self, |pool, sql| {
            let rows: Vec<(i64, Option<String>, i64, i64, i64)> = sqlx::query_as(sql(
                "SELECT id, user_agent, created_at, last_used_at, expires_at FROM remembered_devices \
                 WHERE account_id = $1 AND expires_at > $2 ORDER BY last_used_at DESC, id DESC",
            ))
            .bind(account_id)
            .bind(now)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(id, user_agent, created_at, last_used_at, expires_at)| RememberedDevice {
                    id,
                    user_agent,
                    created_at,
                    last_used_at,
                    expires_at,
                })
                .collect())
        })
    }

    async fn forget_device(&self, account_id: i64, id: i64) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("DELETE FROM remembered_devices WHERE account_id = $1 AND id = $2"))
                .bind(account_id)
                .bind(id)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn forget_devices(&self, account_id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("DELETE FROM remembered_devices WHERE account_id = $1"))
                .bind(account_id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn device_counts(&self, org_id: i64, now: Timestamp) -> StoreResult<Vec<(i64, i64)>> {
        on!(read self, |pool, sql| {
            let rows: Vec<(i64, i64)> = sqlx::query_as(sql(
                "SELECT d.account_id, COUNT(*) FROM remembered_devices d JOIN accounts a ON a.id = d.account_id \
                 WHERE a.org_id = $1 AND d.expires_at > $2 GROUP BY d.account_id",
            ))
            .bind(org_id)
            .bind(now)
            .fetch_all(pool)
            .await?;
            Ok(rows)
        })
    }
}
