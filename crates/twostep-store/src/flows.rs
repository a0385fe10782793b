//! [`FlowStore`]: sign-in and enrollment flows.

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::flow::FlowKind;
use twostep_core::store::{Flow, FlowStore, NewFlow, StoreResult};

#[derive(sqlx::FromRow)]
struct FlowRow {
    id: i64,
    kind: String,
    org_id: i64,
    account_id: i64,
    client: String,
    failures: i64,
    expires_at: i64,
    access_code_ok: bool,
}

#[async_trait::async_trait]
impl FlowStore for SqlStore {
    async fn create_flow(&self, f: NewFlow) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql(
                "INSERT INTO flows (token_hash, kind, org_id, account_id, client, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            ))
            .bind(&f.token_hash)
            .bind(f.kind.as_str())
            .bind(f.org_id)
            .bind(f.account_id)
            .bind(&f.client)
            .bind(f.created_at)
            .bind(f.expires_at)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn flow_by_hash(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Flow>> {
        on!(read self, |pool, sql| {
            let row: Option<FlowRow> = sqlx::query_as(sql(
                "SELECT id, kind, org_id, account_id, client, failures, expires_at, access_code_ok FROM flows \
                 WHERE token_hash = $1 AND expires_at > $2",
            ))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.and_then(|r| {
                Some(Flow {
                    id: r.id,
                    kind: FlowKind::parse(&r.kind)?,
                    org_id: r.org_id,
                    account_id: r.account_id,
                    client: r.client,
                    failures: r.failures,
                    expires_at: r.expires_at,
                    access_code_ok: r.access_code_ok,
                })
            }))
        })
    }

    async fn flow_failure(&self, flow_id: i64, max: i64) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let failures: Option<i64> = sqlx::query_scalar(sql(
                "UPDATE flows SET failures = failures + 1 WHERE id = $1 AND failures < $2 RETURNING failures",
            ))
            .bind(flow_id)
            .bind(max)
            .fetch_optional(pool)
            .await?;
            Ok(failures)
        })
    }

    async fn consume_flow(&self, flow_id: i64) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("DELETE FROM flows WHERE id = $1")).bind(flow_id).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
