//! [`SessionStore`]: sessions, and the one row every authenticated request reads.

use crate::SqlStore;
use twostep_core::Timestamp;
use twostep_core::domain::AccountKind;
use twostep_core::store::{NewSession, SessionStore, SessionView, StoreError, StoreResult};

/// The session row, spelt once: each field with the column that selects it. From this one
/// list come the row type (read by sqlx on either pool and by `pg_lookup`), the query text
/// [`SESSION_SELECT`], and the rusqlite mapping by column name (`readers`).
macro_rules! session_row {
    ($first:ident: $first_ty:ty = $first_column:literal $(, $field:ident: $ty:ty = $column:literal)* $(,)?) => {
        #[derive(sqlx::FromRow, Clone)]
        pub(crate) struct SessionRow {
            $first: $first_ty,
            $($field: $ty,)*
        }

        /// Where a session's row comes from: the session, its account, its profile and its
        /// organisation.
        macro_rules! session_from {
            () => {
                " FROM sessions s JOIN accounts a ON a.id = s.account_id JOIN organizations o ON o.id = s.org_id \
                 LEFT JOIN profiles p ON p.id = a.profile_id"
            };
        }

        /// A session with its account, profile and organisation; a condition follows.
        pub(crate) const SESSION_SELECT: &str = concat!("SELECT ", $first_column $(, ", ", $column)*, session_from!());

        /// PostgreSQL: the sessions of the token hashes `$1` (a `bytea[]`), many lookups in
        /// one statement, each row with the hash that found it as `lookup_key` (`pg_lookup`).
        /// Each hash is looked up on its own (LATERAL, kept apart by LIMIT): the plan of one
        /// lookup, index to index, whatever the tables' sizes; `token_hash = ANY($1)` let the
        /// planner join small tables by scanning them whole.
        pub(crate) const SESSIONS_BY_HASHES: &str = concat!(
            "SELECT k.key AS lookup_key, x.* FROM unnest($1::bytea[]) AS k(key) CROSS JOIN LATERAL (SELECT ",
            $first_column $(, ", ", $column)*, session_from!(), " WHERE s.token_hash = k.key LIMIT 1) x"
        );

        impl SessionRow {
            /// The row as rusqlite reads it, by column name.
            pub(crate) fn from_rusqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                Ok(Self { $first: row.get(stringify!($first))?, $($field: row.get(stringify!($field))?,)* })
            }
        }
    };
}

session_row! {
    id: i64 = "s.id",
    org_id: i64 = "s.org_id",
    org_slug: String = "o.slug AS org_slug",
    account_id: i64 = "s.account_id",
    username: String = "a.username",
    kind: String = "a.kind",
    profile_slug: Option<String> = "p.slug AS profile_slug",
    admin: bool = "COALESCE(p.admin, FALSE) AS admin",
    client: String = "s.client",
    two_step_verified: bool = "s.two_step_verified",
    last_two_step_at: Option<i64> = "s.last_two_step_at",
    created_at: i64 = "s.created_at",
    last_seen_at: i64 = "s.last_seen_at",
    expires_at: i64 = "s.expires_at",
    revoke_at: Option<i64> = "s.revoke_at",
    ip: Option<String> = "s.ip",
    user_agent: Option<String> = "s.user_agent",
}

impl From<SessionRow> for SessionView {
    fn from(r: SessionRow) -> Self {
        Self {
            id: r.id,
            org_id: r.org_id,
            org_slug: r.org_slug,
            account_id: r.account_id,
            username: r.username,
            kind: AccountKind::parse(&r.kind).unwrap_or(AccountKind::Contact),
            profile_slug: r.profile_slug,
            admin: r.admin,
            client: r.client,
            two_step_verified: r.two_step_verified,
            last_two_step_at: r.last_two_step_at,
            created_at: r.created_at,
            last_seen_at: r.last_seen_at,
            expires_at: r.expires_at,
            revoke_at: r.revoke_at,
            ip: r.ip,
            user_agent: r.user_agent,
        }
    }
}

impl SqlStore {
    /// The session lookup through PostgreSQL's lookup connections or the pool.
    async fn session_from_pool(&self, text: &'static str, token_hash: &[u8]) -> StoreResult<Option<SessionView>> {
        if let Some(lookup) = &self.pg_lookup {
            return Ok(lookup.row(token_hash).await?.map(Into::into));
        }
        on!(read self, |pool, sql| {
            let row: Option<SessionRow> = sqlx::query_as(sql(text)).bind(token_hash).fetch_optional(pool).await?;
            Ok(row.map(Into::into))
        })
    }
}

/// Sessions per `touch_sessions` statement (two parameters each, far below both
/// databases' limits).
const TOUCH_BATCH: usize = 1000;

#[async_trait::async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, s: NewSession) -> StoreResult<i64> {
        self.open_session(None, s).await?.ok_or(StoreError::NotFound)
    }

    async fn open_session_from_flow(&self, flow_id: i64, s: NewSession) -> StoreResult<Option<i64>> {
        self.open_session(Some(flow_id), s).await
    }

    async fn session_by_hash(&self, token_hash: &[u8]) -> StoreResult<Option<SessionView>> {
        static QUERY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let text: &'static str = QUERY.get_or_init(|| format!("{SESSION_SELECT} WHERE s.token_hash = $1")).as_str();
        if let Some(readers) = &self.readers {
            let row = readers.row(crate::sqlite_sql(text), token_hash, SessionRow::from_rusqlite)?;
            return Ok(row.map(Into::into));
        }
        // Boxed: the future of this method (which async_trait boxes for every call, the
        // SQLite lookup above included) stays a few words instead of holding the pool's.
        Box::pin(self.session_from_pool(text, token_hash)).await
    }

    async fn touch_sessions(&self, touches: &[(i64, Timestamp)]) -> StoreResult<()> {
        if touches.is_empty() {
            return Ok(());
        }
        // One statement per thousand, all in one transaction: one commit (on SQLite one
        // fsync, and one change for the session lookups to see). VALUES names its
        // columns column1, column2 on both databases.
        on!(self, |pool, _sql| {
            let mut tx = pool.begin().await?;
            for batch in touches.chunks(TOUCH_BATCH) {
                let mut q = sqlx::QueryBuilder::new("UPDATE sessions SET last_seen_at = v.column2 FROM (");
                q.push_values(batch, |mut row, &(session_id, at)| {
                    row.push_bind(session_id).push_bind(at);
                });
                q.push(") AS v WHERE sessions.id = v.column1 AND sessions.last_seen_at < v.column2");
                q.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn mark_stepped_up(&self, session_id: i64, now: Timestamp) -> StoreResult<()> {
        on!(self, |pool, sql| {
            sqlx::query(sql("UPDATE sessions SET last_two_step_at = $2, two_step_verified = TRUE, revoke_at = NULL \
                 WHERE id = $1"))
            .bind(session_id)
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    async fn sessions_of_account(&self, account_id: i64, now: Timestamp) -> StoreResult<Vec<SessionView>> {
        on!(read self, |pool, sql| {
            static QUERY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
            let text: &'static str = QUERY
                .get_or_init(|| {
                    format!(
                        "{SESSION_SELECT} WHERE s.account_id = $1 AND s.expires_at > $2 \
                         AND (s.revoke_at IS NULL OR s.revoke_at > $2) ORDER BY s.id DESC"
                    )
                })
                .as_str();
            let rows: Vec<SessionRow> = sqlx::query_as(sql(text)).bind(account_id).bind(now).fetch_all(pool).await?;
            Ok(rows.into_iter().map(Into::into).collect())
        })
    }

    async fn delete_session(&self, session_id: i64) -> StoreResult<bool> {
        on!(self, |pool, sql| {
            let done = sqlx::query(sql("DELETE FROM sessions WHERE id = $1")).bind(session_id).execute(pool).await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn delete_sessions_of_account(&self, account_id: i64) -> StoreResult<u64> {
        on!(self, |pool, sql| {
            let done =
                sqlx::query(sql("DELETE FROM sessions WHERE account_id = $1")).bind(account_id).execute(pool).await?;
            Ok(done.rows_affected())
        })
    }
}

pub(crate) static DELETE_FLOW: &str = "DELETE FROM flows WHERE id = $1";
pub(crate) static INSERT_SESSION: &str = "INSERT INTO sessions (token_hash, org_id, account_id, client, two_step_verified, \
       last_two_step_at, created_at, last_seen_at, expires_at, ip, user_agent, second_factor, revoke_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12) RETURNING id";
pub(crate) static NOTE_SIGN_IN: &str = "UPDATE accounts SET last_sign_in_at = $2 WHERE id = $1";

/// Binds the session `$s` (a `&NewSession`) to the sqlx query `$q`, as INSERT_SESSION's
/// parameters take it: token hash, organisation, account, client, 2SV, last 2SV, created,
/// expires, address, user agent, factor, revocation (12 in a row).
macro_rules! bind_new_session {
    ($q:expr, $s:expr) => {{
        let s: &twostep_core::store::NewSession = $s;
        $q.bind(&s.token_hash)
            .bind(s.org_id)
            .bind(s.account_id)
            .bind(&s.client)
            .bind(s.two_step_verified)
            .bind(s.two_step_verified.then_some(s.created_at))
            .bind(s.created_at)
            .bind(s.expires_at)
            .bind(&s.ip)
            .bind(&s.user_agent)
            .bind(&s.second_factor)
            .bind(s.revoke_at)
    }};
}
pub(crate) use bind_new_session;

/// Inside the transaction `$tx`: ends the flow `$flow_id` (an `Option`) and opens the
/// session `$s` (a `&NewSession`), noting the account's last sign-in. `Some(session id)`,
/// or `None` when the flow had ended already (nothing written; the caller rolls back).
macro_rules! open_session_in {
    ($tx:ident, $sql:ident, $flow_id:expr, $s:expr) => {{
        let s: &twostep_core::store::NewSession = $s;
        let ended = match $flow_id {
            Some(flow_id) => {
                sqlx::query($sql("DELETE FROM flows WHERE id = $1"))
                    .bind(flow_id)
                    .execute(&mut *$tx)
                    .await?
                    .rows_affected()
                    == 1
            }
            None => true,
        };
        if ended {
            let query = sqlx::query_scalar($sql($crate::sessions::INSERT_SESSION));
            let id: i64 = $crate::sessions::bind_new_session!(query, s).fetch_one(&mut *$tx).await?;
            sqlx::query($sql($crate::sessions::NOTE_SIGN_IN))
                .bind(s.account_id)
                .bind(s.created_at)
                .execute(&mut *$tx)
                .await?;
            Some(id)
        } else {
            None
        }
    }};
}
pub(crate) use open_session_in;

/// [`open_session_in!`] on the SQLite writer's connection (`writer`), inside its
/// transaction.
pub(crate) fn open_session_on(
    conn: &rusqlite::Connection,
    flow_id: Option<i64>,
    s: &NewSession,
) -> rusqlite::Result<Option<i64>> {
    let sql = crate::sqlite_sql;
    if let Some(flow_id) = flow_id
        && conn.prepare_cached(sql(DELETE_FLOW))?.execute([flow_id])? != 1
    {
        return Ok(None);
    }
    let id: i64 = conn.prepare_cached(sql(INSERT_SESSION))?.query_row(
        rusqlite::params![
            s.token_hash,
            s.org_id,
            s.account_id,
            s.client,
            s.two_step_verified,
            s.two_step_verified.then_some(s.created_at),
            s.created_at,
            s.expires_at,
            s.ip,
            s.user_agent,
            s.second_factor,
            s.revoke_at,
        ],
        |r| r.get(0),
    )?;
    conn.prepare_cached(sql(NOTE_SIGN_IN))?.execute([s.account_id, s.created_at])?;
    Ok(Some(id))
}

impl SqlStore {
    /// The session, and the account's last sign-in, in one transaction; first the flow
    /// it comes from is ended, and `None` (nothing written) if that was done already.
    async fn open_session(&self, flow_id: Option<i64>, s: NewSession) -> StoreResult<Option<i64>> {
        on!(self, |pool, sql| {
            let mut tx = pool.begin().await?;
            let opened = open_session_in!(tx, sql, flow_id, &s);
            match opened {
                Some(_) => tx.commit().await?,
                None => tx.rollback().await?,
            }
            Ok(opened)
        })
    }
}
