//! [`FlowStore`]: sign-in and enrollment flows.

use crate::SqlStore;
use crate::accounts::{AccountRow, account_columns};
use twostep_core::Timestamp;
use twostep_core::flow::FlowKind;
use twostep_core::store::{Account, Flow, FlowStore, NewFlow, StoreResult};

/// The columns [`FlowRow`] reads, from `flows f` (prefixed, so that they can sit beside an
/// account's).
macro_rules! flow_columns {
    () => {
        "f.id AS f_id, f.kind AS f_kind, f.org_id AS f_org_id, f.account_id AS f_account_id, \
         f.client AS f_client, f.failures AS f_failures, f.expires_at AS f_expires_at, \
         f.access_code_ok AS f_access_code_ok"
    };
}

#[derive(sqlx::FromRow)]
struct FlowRow {
    f_id: i64,
    f_kind: String,
    f_org_id: i64,
    f_account_id: i64,
    f_client: String,
    f_failures: i64,
    f_expires_at: i64,
    f_access_code_ok: bool,
}

impl FlowRow {
    fn into_flow(self) -> Option<Flow> {
        Some(Flow {
            id: self.f_id,
            kind: FlowKind::parse(&self.f_kind)?,
            org_id: self.f_org_id,
            account_id: self.f_account_id,
            client: self.f_client,
            failures: self.f_failures,
            expires_at: self.f_expires_at,
            access_code_ok: self.f_access_code_ok,
        })
    }
}

#[derive(sqlx::FromRow)]
struct FlowAccountRow {
    #[sqlx(flatten)]
    flow: FlowRow,
    #[sqlx(flatten)]
    account: AccountRow,
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
            let row: Option<FlowRow> = sqlx::query_as(sql(concat!(
                "SELECT ",
                flow_columns!(),
                " FROM flows f WHERE f.token_hash = $1 AND f.expires_at > $2"
            )))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.and_then(FlowRow::into_flow))
        })
    }

    async fn flow_and_account_by_hash(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<(Flow, Account)>> {
        on!(read self, |pool, sql| {
            let row: Option<FlowAccountRow> = sqlx::query_as(sql(concat!(
                "SELECT ",
                flow_columns!(),
                ", ",
                account_columns!(),
                " FROM flows f JOIN accounts a ON a.id = f.account_id LEFT JOIN profiles p ON p.id = a.profile_id \
                 WHERE f.token_hash = $1 AND f.expires_at > $2"
            )))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await?;
            Ok(row.and_then(|r| Some((r.flow.into_flow()?, r.account.into()))))
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
