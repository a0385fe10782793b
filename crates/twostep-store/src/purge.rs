//! [`PurgeStore`], housekeeping (SPEC §11.7): rows that traffic leaves behind — flows, SMS codes,
//! pending enrollments, rate counters, dead sessions, used or expired setup links and
//! access codes — are deleted in small batches, so a
//! flood of failed sign-ins never grows the database for good.
//!
//! Each statement deletes at most one batch. On PostgreSQL the batch is chosen with
//! `FOR UPDATE SKIP LOCKED`, so replicas purging at the same moment take different rows
//! instead of waiting on each other; SQLite has one writer anyway.

use crate::{Pool, SqlStore, map_err};
use twostep_core::Timestamp;
use twostep_core::store::{PurgeStore, Purged, StoreResult};

/// Per table: the statement on SQLite, on PostgreSQL, and what its `$3` is. `$1` is now,
/// `$2` the batch size.
struct Sweep {
    sqlite: &'static str,
    postgres: &'static str,
    third: Third,
}

enum Third {
    None,
    /// Rate counters: windows that started before this are over.
    CountersBefore,
    /// Sessions: last used before this is idle.
    IdleBefore,
}

const SWEEPS: [Sweep; 10] = [
    Sweep {
        sqlite: "DELETE FROM flows WHERE id IN (SELECT id FROM flows WHERE expires_at <= ?1 LIMIT ?2)",
        postgres: "DELETE FROM flows WHERE id IN \
           (SELECT id FROM flows WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::None,
    },
    Sweep {
        sqlite: "DELETE FROM sms_challenges WHERE id IN \
           (SELECT id FROM sms_challenges WHERE expires_at <= ?1 LIMIT ?2)",
        postgres: "DELETE FROM sms_challenges WHERE id IN \
           (SELECT id FROM sms_challenges WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::None,
    },
    Sweep {
        sqlite: "DELETE FROM pending_methods WHERE rowid IN \
           (SELECT rowid FROM pending_methods WHERE expires_at <= ?1 LIMIT ?2)",
        postgres: "DELETE FROM pending_methods WHERE ctid IN \
           (SELECT ctid FROM pending_methods WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::None,
    },
    Sweep {
        sqlite: "DELETE FROM rate_counters WHERE rowid IN \
           (SELECT rowid FROM rate_counters WHERE window_start < ?3 AND window_start <= ?1 LIMIT ?2)",
        postgres: "DELETE FROM rate_counters WHERE ctid IN (SELECT ctid FROM rate_counters \
           WHERE window_start < $3 AND window_start <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::CountersBefore,
    },
    Sweep {
        // A revoked session is kept a day past its revocation, so its holder is told
        // `session_revoked` rather than `session_invalid` meanwhile.
        sqlite: "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
           WHERE expires_at <= ?1 OR revoke_at <= ?1 - 86400 OR last_seen_at < ?3 LIMIT ?2)",
        postgres: "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions \
           WHERE expires_at <= $1 OR revoke_at <= $1 - 86400 OR last_seen_at < $3 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::IdleBefore,
    },
    Sweep {
        sqlite: "DELETE FROM setup_links WHERE id IN \
           (SELECT id FROM setup_links WHERE expires_at <= ?1 OR used_at IS NOT NULL LIMIT ?2)",
        postgres: "DELETE FROM setup_links WHERE id IN (SELECT id FROM setup_links \
           WHERE expires_at <= $1 OR used_at IS NOT NULL LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::None,
    },
    Sweep {
        sqlite: "DELETE FROM access_codes WHERE id IN \
           (SELECT id FROM access_codes WHERE expires_at <= ?1 OR used_at IS NOT NULL LIMIT ?2)",
        postgres: "DELETE FROM access_codes WHERE id IN (SELECT id FROM access_codes \
           WHERE expires_at <= $1 OR used_at IS NOT NULL LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::None,
    },
    Sweep {
        sqlite: "DELETE FROM oauth_requests WHERE id IN (SELECT id FROM oauth_requests WHERE expires_at <= ?1 LIMIT ?2)",
        postgres: "DELETE FROM oauth_requests WHERE id IN \
           (SELECT id FROM oauth_requests WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::None,
    },
    Sweep {
        sqlite: "DELETE FROM remembered_devices WHERE id IN \
           (SELECT id FROM remembered_devices WHERE expires_at <= ?1 LIMIT ?2)",
        postgres: "DELETE FROM remembered_devices WHERE id IN \
           (SELECT id FROM remembered_devices WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::None,
    },
    Sweep {
        sqlite: "DELETE FROM webauthn_ceremonies WHERE id IN \
           (SELECT id FROM webauthn_ceremonies WHERE expires_at <= ?1 LIMIT ?2)",
        postgres: "DELETE FROM webauthn_ceremonies WHERE id IN \
           (SELECT id FROM webauthn_ceremonies WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)",
        third: Third::None,
    },
];

#[async_trait::async_trait]
impl PurgeStore for SqlStore {
    /// One batch of each table.
    async fn purge(
        &self,
        now: Timestamp,
        idle_before: Timestamp,
        counters_before: Timestamp,
        batch: i64,
    ) -> StoreResult<Purged> {
        let mut removed = [0u64; 10];
        for (sweep, n) in SWEEPS.iter().zip(removed.iter_mut()) {
            let third = match sweep.third {
                Third::None => None,
                Third::CountersBefore => Some(counters_before),
                Third::IdleBefore => Some(idle_before),
            };
            let result = match &self.pool {
                Pool::Sqlite(pool) => {
                    let _writing = self.writer.lock().await;
                    let query = sqlx::query(sweep.sqlite).bind(now).bind(batch);
                    let query = match third {
                        Some(t) => query.bind(t),
                        None => query,
                    };
                    query.execute(pool).await.map(|r| r.rows_affected())
                }
                Pool::Postgres(pool) => {
                    let query = sqlx::query(sweep.postgres).bind(now).bind(batch);
                    let query = match third {
                        Some(t) => query.bind(t),
                        None => query,
                    };
                    query.execute(pool).await.map(|r| r.rows_affected())
                }
            };
            *n = result.map_err(map_err)?;
        }
        if let Some(wal) = &self.wal_sync {
            wal.after_write().await?;
        }
        let [
            flows,
            sms_challenges,
            pending_methods,
            rate_counters,
            sessions,
            links,
            codes,
            requests,
            devices,
            ceremonies,
        ] = removed;
        Ok(Purged {
            flows,
            sms_challenges,
            // A WebAuthn ceremony is an enrollment or a second step under way.
            pending_methods: pending_methods + ceremonies,
            rate_counters,
            sessions,
            links_and_codes: links + codes,
            requests_and_devices: requests + devices,
        })
    }
}
