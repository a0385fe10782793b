//! [`LimitStore`]: the per-account second-step lockout (SPEC §4) and fixed-window counters,
//! each step one conditional statement so limits hold across replicas.

use crate::SqlStore;
use crate::methods::{CLAIM_RECOVERY_CODE, CLAIM_TOTP_STEP, RECOVERY_CODES_LEFT};
use crate::sessions::{open_session_in, open_session_on};
use crate::writer::Keep;
use rusqlite::{OptionalExtension, params};
use twostep_core::Timestamp;
use twostep_core::flow::lockout;
use twostep_core::store::{Claim, LimitStore, SecondStep, Settled, StoreResult};

/// Takes one attempt from the allowance unless locked or at the threshold.
static RESERVE: &str = "UPDATE accounts SET second_step_failures = second_step_failures + 1 \
     WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) AND second_step_failures < $3";
static LOCKED_UNTIL: &str = "SELECT locked_until FROM accounts WHERE id = $1";
/// At the threshold: a lock, doubling with each lock up to 2^10 times the base.
static FAILED: &str = "UPDATE accounts SET second_step_locks = second_step_locks + 1, second_step_failures = 0, \
       locked_until = $2 + ($4 * (CAST(1 AS BIGINT) << CAST(CASE WHEN second_step_locks >= 10 THEN 10 \
         ELSE second_step_locks END AS INTEGER))) \
     WHERE id = $1 AND second_step_failures >= $3 RETURNING locked_until";
static PASSED: &str = "UPDATE accounts SET second_step_failures = 0, last_two_step_at = $2 WHERE id = $1";

/// PostgreSQL: an authenticator app's code that opens a session, settled in one statement
/// (one round trip instead of the transaction's eight) when nothing stands in its way.
/// The account, the app and the flow are locked in that order (as the transaction below
/// takes them), each after the one before it qualified; `FOR UPDATE` re-reads each
/// locked row at its newest version, so a step claimed or a lock set by a request that
/// committed meanwhile is seen. Every write is gated on all three: either the attempt
/// passes, the step is claimed, the flow ends, the account notes its sign-in and the
/// session opens, or nothing at all is written and no row comes back. The caller then
/// runs the transaction, which says why (locked, replayed, flow ended) and counts the
/// failure. Same statements as RESERVE + CLAIM_TOTP_STEP + PASSED + `open_session_in!`,
/// with the attempt reserved and released at once (the failures start again from 0).
/// $1 account, $2 now, $3 threshold, $4 method, $5 step, $6 flow; $7-$18 the session, as
/// INSERT_SESSION takes it (`bind_new_session!`).
static SETTLE_TOTP_AT_ONCE: &str = "WITH a AS MATERIALIZED (SELECT id FROM accounts \
       WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2) AND second_step_failures < $3 FOR UPDATE), \
     m AS MATERIALIZED (SELECT id FROM methods WHERE id = $4 AND kind = 'totp' \
       AND (last_step IS NULL OR last_step < $5) AND EXISTS (SELECT 1 FROM a) FOR UPDATE), \
     f AS MATERIALIZED (SELECT id FROM flows WHERE id = $6 AND EXISTS (SELECT 1 FROM m) FOR UPDATE), \
     claimed AS (UPDATE methods SET last_step = $5, last_used_at = $2 \
       WHERE id IN (SELECT id FROM m) AND EXISTS (SELECT 1 FROM f)), \
     passed AS (UPDATE accounts SET second_step_failures = 0, last_two_step_at = $2, last_sign_in_at = $13 \
       WHERE id IN (SELECT id FROM a) AND EXISTS (SELECT 1 FROM f)), \
     ended AS (DELETE FROM flows WHERE id IN (SELECT id FROM f)) \
     INSERT INTO sessions (token_hash, org_id, account_id, client, two_step_verified, last_two_step_at, created_at, \
       last_seen_at, expires_at, ip, user_agent, second_factor, revoke_at) \
     SELECT $7, $8, $9, $10, $11, $12, $13, $13, $14, $15, $16, $17, $18 FROM f RETURNING id";

#[async_trait::async_trait]
impl LimitStore for SqlStore {
    async fn reserve_second_step_attempt(&self, account_id: i64, now: Timestamp) -> StoreResult<Result<(), i64>> {
        on!(self, |pool, sql| {
            let reserved =
                sqlx::query(sql(RESERVE)).bind(account_id).bind(now).bind(lockout::THRESHOLD).execute(pool).await?;
            if reserved.rows_affected() == 1 {
                return Ok(Ok(()));
            }
            let until: Option<i64> = sqlx::query_scalar(sql(LOCKED_UNTIL)).bind(account_id).fetch_one(pool).await?;
            // Without a lock the threshold is taken by attempts still being checked.
            Ok(Err(lockout::remaining(until, now).unwrap_or(1)))
        })
    }

    async fn second_step_failed(&self, account_id: i64, now: Timestamp) -> StoreResult<Option<Timestamp>> {
        on!(self, |pool, sql| {
            let until: Option<i64> = sqlx::query_scalar(sql(FAILED))
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
            sqlx::query(sql(PASSED)).bind(account_id).bind(now).execute(pool).await?;
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

    async fn settle_second_step(&self, step: SecondStep) -> StoreResult<Settled> {
        if let Some(writer) = &self.sqlite_writer {
            // SQLite on a file: in the writer's next batch (see `writer`).
            return self.on_writer(writer, move |conn| settle_on(conn, &step)).await;
        }
        let SecondStep { account_id, now, claim, open } = step;
        if let (crate::Pool::Postgres(pool), Claim::TotpStep { method_id, step }, Some((flow_id, s))) =
            (&self.pool, &claim, &open)
            && s.account_id == account_id
        {
            let pool = &crate::timed::Timed { pool, waits: &self.waits };
            let query = sqlx::query_scalar(SETTLE_TOTP_AT_ONCE)
                .bind(account_id)
                .bind(now)
                .bind(lockout::THRESHOLD)
                .bind(method_id)
                .bind(step)
                .bind(flow_id);
            let opened: Option<i64> =
                crate::sessions::bind_new_session!(query, s).fetch_optional(pool).await.map_err(crate::map_err)?;
            if let Some(id) = opened {
                return Ok(Settled::Accepted { recovery_codes_remaining: None, session_id: Some(id) });
            }
        }
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let reserved =
                sqlx::query(sql(RESERVE)).bind(account_id).bind(now).bind(lockout::THRESHOLD).execute(&mut *tx).await?;
            if reserved.rows_affected() != 1 {
                let until: Option<i64> =
                    sqlx::query_scalar(sql(LOCKED_UNTIL)).bind(account_id).fetch_one(&mut *tx).await?;
                tx.rollback().await?;
                // Without a lock the threshold is taken by attempts still being checked.
                return Ok(Settled::Locked { retry_after: lockout::remaining(until, now).unwrap_or(1) });
            }
            let held = match &claim {
                Claim::Nothing => false,
                Claim::TotpStep { method_id, step } => {
                    let done = sqlx::query(sql(CLAIM_TOTP_STEP))
                        .bind(method_id)
                        .bind(step)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    done.rows_affected() == 1
                }
                Claim::RecoveryCode { hash } => {
                    let done = sqlx::query(sql(CLAIM_RECOVERY_CODE))
                        .bind(account_id)
                        .bind(hash)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    done.rows_affected() == 1
                }
            };
            if !held {
                let locked_until: Option<i64> = sqlx::query_scalar(sql(FAILED))
                    .bind(account_id)
                    .bind(now)
                    .bind(lockout::THRESHOLD)
                    .bind(lockout::BASE_SECONDS)
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.commit().await?;
                return Ok(Settled::Refused { locked_until });
            }
            sqlx::query(sql(PASSED)).bind(account_id).bind(now).execute(&mut *tx).await?;
            let recovery_codes_remaining = match &claim {
                Claim::RecoveryCode { .. } => {
                    let n: i64 =
                        sqlx::query_scalar(sql(RECOVERY_CODES_LEFT)).bind(account_id).fetch_one(&mut *tx).await?;
                    Some(n)
                }
                _ => None,
            };
            let session_id = match &open {
                Some((flow_id, session)) => match open_session_in!(tx, sql, Some(*flow_id), session) {
                    Some(id) => Some(id),
                    None => {
                        tx.rollback().await?;
                        return Ok(Settled::FlowEnded);
                    }
                },
                None => None,
            };
            tx.commit().await?;
            Ok(Settled::Accepted { recovery_codes_remaining, session_id })
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

/// [`LimitStore::settle_second_step`] on the SQLite writer's connection, inside its
/// transaction: the same statements, in the same order.
fn settle_on(conn: &rusqlite::Connection, step: &SecondStep) -> rusqlite::Result<(Settled, Keep)> {
    let sql = crate::sqlite_sql;
    let SecondStep { account_id, now, claim, open } = step;
    if conn.prepare_cached(sql(RESERVE))?.execute(params![account_id, now, lockout::THRESHOLD])? != 1 {
        let until: Option<i64> = conn.prepare_cached(sql(LOCKED_UNTIL))?.query_row([account_id], |r| r.get(0))?;
        // Without a lock the threshold is taken by attempts still being checked.
        let retry_after = lockout::remaining(until, *now).unwrap_or(1);
        return Ok((Settled::Locked { retry_after }, Keep::Nothing));
    }
    let held = match claim {
        Claim::Nothing => false,
        Claim::TotpStep { method_id, step } => {
            conn.prepare_cached(sql(CLAIM_TOTP_STEP))?.execute(params![method_id, step, now])? == 1
        }
        Claim::RecoveryCode { hash } => {
            conn.prepare_cached(sql(CLAIM_RECOVERY_CODE))?.execute(params![account_id, hash, now])? == 1
        }
    };
    if !held {
        let locked_until: Option<i64> = conn
            .prepare_cached(sql(FAILED))?
            .query_row(params![account_id, now, lockout::THRESHOLD, lockout::BASE_SECONDS], |r| r.get(0))
            .optional()?;
        return Ok((Settled::Refused { locked_until }, Keep::Writes));
    }
    conn.prepare_cached(sql(PASSED))?.execute(params![account_id, now])?;
    let recovery_codes_remaining = match claim {
        Claim::RecoveryCode { .. } => {
            Some(conn.prepare_cached(sql(RECOVERY_CODES_LEFT))?.query_row([account_id], |r| r.get(0))?)
        }
        _ => None,
    };
    let session_id = match open {
        Some((flow_id, session)) => match open_session_on(conn, Some(*flow_id), session)? {
            Some(id) => Some(id),
            None => return Ok((Settled::FlowEnded, Keep::Nothing)),
        },
        None => None,
    };
    Ok((Settled::Accepted { recovery_codes_remaining, session_id }, Keep::Writes))
}
