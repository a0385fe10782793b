//! [`AuditStore`]: the audit log.

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::store::{AuditEvent, AuditRecord, AuditStore, StoreResult};

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    org_id: Option<i64>,
    at: i64,
    kind: String,
    actor: Option<String>,
    subject: Option<String>,
    client: Option<String>,
    ip: Option<String>,
    outcome: String,
}

#[async_trait::async_trait]
impl AuditStore for SqlStore {
    async fn record_event(&self, e: AuditEvent) -> StoreResult<()> {
        if let Some(writer) = &self.sqlite_writer {
            // SQLite on a file: committed with whatever else the writer has waiting.
            return self
                .on_writer(writer, move |conn| {
                    let insert = crate::sqlite_sql(crate::audit_batch::INSERT_ONE);
                    conn.prepare_cached(insert)?.execute(rusqlite::params![
                        e.org_id, e.at, e.kind, e.actor, e.subject, e.client, e.ip, e.outcome
                    ])?;
                    Ok(((), crate::writer::Keep::Writes))
                })
                .await;
        }
        self.audit.record(self, e).await
    }

    async fn events(
        &self,
        org_id: i64,
        limit: i64,
        before_id: Option<i64>,
        before_at: Option<Timestamp>,
    ) -> StoreResult<Vec<AuditRecord>> {
        on!(read self, |pool, sql| {
            let rows: Vec<EventRow> = sqlx::query_as(sql(
                "SELECT id, org_id, at, kind, actor, subject, client, ip, outcome FROM audit_events \
                 WHERE org_id = $1 AND ($2 IS NULL OR id < $2) AND ($3 IS NULL OR at < $3) \
                 ORDER BY id DESC LIMIT $4",
            ))
            .bind(org_id)
            .bind(before_id)
            .bind(before_at)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|r| AuditRecord {
                    id: r.id,
                    event: AuditEvent {
                        org_id: r.org_id,
                        at: r.at,
                        kind: r.kind,
                        actor: r.actor,
                        subject: r.subject,
                        client: r.client,
                        ip: r.ip,
                        outcome: r.outcome,
                    },
                })
                .collect())
        })
    }
}
