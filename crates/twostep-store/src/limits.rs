//! [`LimitStore`]: the per-account second-step lockout (SPEC §4) and fixed-window counters,
//! each step one conditional statement so limits hold across replicas.

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::flow::lockout;
use twostep_core::store::{LimitStore, StoreResult};

#[async_trait::async_trait]
impl LimitStore for SqlStore {
    async fn reserve_second_step_attempt(&self, account_id: i64, now: Timestamp) -> StoreResult<Result<(), i64>> {
        on!(self, |pool, sql| {
            let reserved = sqlx::query(sql("UPDATE accounts SET second_step_failures = second_step_failures + 1 \
                 WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) AND second_step_failures < $3"))
            .bind(account_id)
            .bind(now)
            .bind(lockout::THRESHOLD)
            .execute(pool)
            .await?;
            if reserved.rows_affected() == 1 {
                return Ok(Ok(()));
            }
            let until: Option<i64> = sqlx::query_scalar(sql("SELECT locked_until FROM accounts WHERE id = $1"))
                .bind(account_id)
                .fetch_one(pool)
                .await?;
            // Without a lock the threshold is taken by attempts still being checked.
            Ok(Err(lockout::remaining(until, now).unwrap_or(1)))
        })
    }

    async fn second_step_failed(&self, account_id: i64, now: Timestamp) -> StoreResult<Option<Timestamp>> {
        on!(self, |pool, sql| {
            let until: Option<i64> = sqlx::query_scalar(sql(
                "UPDATE accounts SET second_step_locks = second_step_locks + 1, second_step_failures = 0, \
                   locked_until = $2 + ($4 * (CAST(1 AS BIGINT) << CAST(CASE WHEN second_step_locks >= 10 THEN 10 \
                     ELSE second_step_locks END AS INTEGER))) \
                 WHERE id = $1 AND second_step_failures >= $3 RETURNING locked_until",
            ))
            .bind(account_id)
            .bind(now)
            .bind(lockout::THRESHOLD)
            .bind(lockout::BASE_SECONDS)
            .fetch_optional(pool)
            .await?;
            Ok(until)
        })
    }

    async fn second_step_passed(&self, account_id: i64, now: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE accounts SET second_step_failures = 0, last_two_step_at = $2 WHERE id = $1"))
                .bind(account_id)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(())
        })
    }

    async fn release_second_step_attempt(&self, account_id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE accounts SET second_step_failures = second_step_failures - 1 \
                 WHERE id = $1 AND second_step_failures > 0"))
            .bind(account_id)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn count_in_window(&self, key: &str, window_start: Timestamp, limit: i64) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let count: Option<i64> =
                sqlx::query_scalar(sql("INSERT INTO rate_counters (key, window_start, count) VALUES ($1, $2, 1) \
                 ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + 1 \
                 WHERE rate_counters.count < $3 RETURNING count"))
                .bind(key)
                .bind(window_start)
                .bind(limit)
                .fetch_optional(pool)
                .await?;
            // A first insert may exceed a limit of 0; treat that as full too.
            Ok(count.filter(|c| *c <= limit))
        })
    }

    async fn window_count(&self, key: &str, window_start: Timestamp) -> StoreResult<i64> {
        on!(read self, |pool, sql| {
            let count: Option<i64> =
                sqlx::query_scalar(sql("SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2"))
                    .bind(key)
                    .bind(window_start)
                    .fetch_optional(pool)
                    .await?;
            Ok(count.unwrap_or(0))
        })
    }

    async fn uncount_in_window(&self, key: &str, window_start: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "UPDATE rate_counters SET count = count - 1 WHERE key = $1 AND window_start = $2 AND count > 0",
            ))
            .bind(key)
            .bind(window_start)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn clear_counter(&self, key: &str) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("DELETE FROM rate_counters WHERE key = $1")).bind(key).execute(pool).await?;
            Ok(())
        })
    }
}
