//! [`SmsStore`]: text-message codes and when one was last sent.

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::store::{NewSmsChallenge, SmsBinding, SmsChallenge, SmsStore, StoreResult};

#[async_trait::async_trait]
impl SmsStore for SqlStore {
    async fn mark_sms_send(
        &self,
        account_id: i64,
        binding: SmsBinding,
        now: Timestamp,
        gap: i64,
    ) -> StoreResult<Result<(), i64>> {
        on!(self, |pool, sql| {
            // $1 account, $2 flow or session id, $3 now, $4 now - gap.
            let (mark, last) = match binding {
                SmsBinding::Flow(_) => (
                    sql("UPDATE flows SET last_sms_at = $3 WHERE id = $2 AND account_id = $1 \
                         AND (last_sms_at IS NULL OR last_sms_at <= $4)"),
                    sql("SELECT last_sms_at FROM flows WHERE id = $2 AND account_id = $1"),
                ),
                SmsBinding::Session(_) => (
                    sql("UPDATE sessions SET last_sms_at = $3 WHERE id = $2 AND account_id = $1 \
                         AND (last_sms_at IS NULL OR last_sms_at <= $4)"),
                    sql("SELECT last_sms_at FROM sessions WHERE id = $2 AND account_id = $1"),
                ),
                SmsBinding::Enrollment(_) => (
                    sql("UPDATE pending_methods SET last_sms_at = $3 WHERE account_id = $1 AND kind = 'sms' \
                         AND owner = $2 AND (last_sms_at IS NULL OR last_sms_at <= $4)"),
                    sql(
                        "SELECT last_sms_at FROM pending_methods WHERE account_id = $1 AND kind = 'sms' AND owner = $2",
                    ),
                ),
            };
            // The row a send is marked on: a flow or session by id, a pending enrollment by owner.
            let target = match binding {
                SmsBinding::Enrollment(owner) => owner.key(),
                SmsBinding::Flow(id) | SmsBinding::Session(id) => id.to_string(),
            };
            let done = match binding {
                SmsBinding::Enrollment(_) => sqlx::query(mark).bind(account_id).bind(&target),
                _ => sqlx::query(mark).bind(account_id).bind(binding.id()),
            }
            .bind(now)
            .bind(now - gap)
            .execute(pool)
            .await?;
            if done.rows_affected() == 1 {
                return Ok(Ok(()));
            }
            let last: Option<Option<i64>> = match binding {
                SmsBinding::Enrollment(_) => sqlx::query_scalar(last).bind(account_id).bind(&target),
                _ => sqlx::query_scalar(last).bind(account_id).bind(binding.id()),
            }
            .fetch_optional(pool)
            .await?;
            Ok(Err(match last {
                Some(Some(at)) => (at + gap - now).max(1),
                _ => 0,
            }))
        })
    }

    async fn create_sms_challenge(&self, c: NewSmsChallenge) -> StoreResult<i64> {
        on!(self, |pool, sql| {
            let id: i64 = sqlx::query_scalar(sql(
                "INSERT INTO sms_challenges (account_id, flow_id, purpose, salt, code_hash, sent_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            ))
            .bind(c.account_id)
            .bind(c.binding.id())
            .bind(c.binding.purpose())
            .bind(&c.salt)
            .bind(&c.code_hash)
            .bind(c.sent_at)
            .bind(c.expires_at)
            .fetch_one(pool)
            .await?;
            Ok(id)
        })
    }

    async fn active_sms_challenge(
        &self,
        account_id: i64,
        binding: SmsBinding,
        now: Timestamp,
    ) -> StoreResult<Option<SmsChallenge>> {
        on!(read self, |pool, sql| {
            let row: Option<(i64, Vec<u8>, Vec<u8>, i64, i64)> =
                sqlx::query_as(sql("SELECT id, salt, code_hash, attempts, expires_at FROM sms_challenges \
                 WHERE account_id = $1 AND purpose = $3 AND flow_id = $2 \
                 AND used_at IS NULL AND expires_at > $4 ORDER BY id DESC LIMIT 1"))
                .bind(account_id)
                .bind(binding.id())
                .bind(binding.purpose())
                .bind(now)
                .fetch_optional(pool)
                .await?;
            Ok(row.map(|(id, salt, code_hash, attempts, expires_at)| SmsChallenge {
                id,
                salt,
                code_hash,
                attempts,
                expires_at,
            }))
        })
    }

    async fn claim_sms_challenge(&self, id: i64, max_attempts: i64, now: Timestamp) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("UPDATE sms_challenges SET used_at = $2 WHERE id = $1 AND used_at IS NULL \
                 AND attempts < $3 AND expires_at > $2"))
            .bind(id)
            .bind(now)
            .bind(max_attempts)
            .execute(pool)
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn sms_challenge_failed(&self, id: i64) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE sms_challenges SET attempts = attempts + 1 WHERE id = $1"))
                .bind(id)
                .execute(pool)
                .await?;
            Ok(())
        })
    }
}
