//! `last_seen_at`, written in batches off the request path.
//!
//! The session check is a read. When a session's `last_seen_at` is a minute old, the
//! moment is noted here and a background task writes every noted moment together, in
//! one transaction every [`FLUSH_EVERY`]: on SQLite one commit instead of one per
//! session, so the cost of the check does not grow with the number of sessions in use.
//! Nothing about a session's validity is held here; revocation and expiry are read from
//! the database on every request.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::Duration;
use twostep_core::Timestamp;
use twostep_core::store::{Store, StoreResult};

/// How often the noted moments are written. `last_seen_at` is kept to the minute; a
/// write also tells SQLite's session lookups that the database changed (they read
/// again), so writes are kept few. At worst a crash loses this much of it.
pub const FLUSH_EVERY: Duration = Duration::from_secs(30);

/// Moments noted beyond this many are written by the request itself, so memory stays
/// bounded whatever the load (about 40 bytes each).
const MAX_PENDING: usize = 100_000;

#[derive(Debug, Default)]
pub struct Touches {
    pending: RwLock<HashMap<i64, Timestamp>>,
}

impl Touches {
    /// Notes that a session was used at `at`. False when too many are already waiting:
    /// the caller then writes the moment itself.
    ///
    /// Until the next flush every request of a due session comes here, so the common
    /// case, a session already noted within the minute, only takes the read lock.
    pub fn note(&self, session_id: i64, at: Timestamp) -> bool {
        let noted = |pending: &HashMap<i64, Timestamp>| pending.get(&session_id).is_some_and(|&seen| seen + 60 > at);
        if noted(&self.pending.read().unwrap_or_else(|e| e.into_inner())) {
            return true;
        }
        let mut pending = self.pending.write().unwrap_or_else(|e| e.into_inner());
        if pending.len() >= MAX_PENDING && !pending.contains_key(&session_id) {
            return false;
        }
        let seen = pending.entry(session_id).or_insert(at);
        *seen = (*seen).max(at);
        true
    }

    /// How many moments wait to be written.
    pub fn pending(&self) -> usize {
        self.pending.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Writes every noted moment, in one transaction. What could not be written is
    /// noted again for the next flush, so a database that is briefly away loses nothing.
    pub async fn flush(&self, store: &dyn Store) -> StoreResult<usize> {
        let batch: Vec<(i64, Timestamp)> =
            std::mem::take(&mut *self.pending.write().unwrap_or_else(|e| e.into_inner())).into_iter().collect();
        if let Err(e) = store.touch_sessions(&batch).await {
            for &(id, at) in &batch {
                self.note(id, at);
            }
            return Err(e);
        }
        Ok(batch.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_noted_again_keeps_its_latest_moment_to_the_minute() {
        let touches = Touches::default();
        assert!(touches.note(7, 100));
        assert!(touches.note(7, 130), "within the minute: already noted");
        assert_eq!(touches.pending.read().unwrap().get(&7), Some(&100));
        assert!(touches.note(7, 160));
        assert!(touches.note(7, 130));
        assert_eq!(touches.pending(), 1);
        assert_eq!(touches.pending.read().unwrap().get(&7), Some(&160));
    }

    #[test]
    fn beyond_the_bound_the_caller_writes_itself() {
        let touches = Touches::default();
        for id in 0..MAX_PENDING as i64 {
            assert!(touches.note(id, 1));
        }
        assert!(!touches.note(-1, 1), "a new session beyond the bound is refused");
        assert!(touches.note(0, 2), "a session already waiting is updated in place");
        assert_eq!(touches.pending(), MAX_PENDING);
    }
}
