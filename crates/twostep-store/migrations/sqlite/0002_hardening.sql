-- Second release, hardening (SPEC §11).
-- A pending enrollment belongs to the session or flow that began it ('session:ID' or
-- 'flow:ID'); rows written by an older binary have '' and are never shown to anyone.
ALTER TABLE pending_methods ADD COLUMN owner TEXT NOT NULL DEFAULT '';

-- The purge task (§11.7) finds dead rows by these.
CREATE INDEX flows_expires ON flows (expires_at);
CREATE INDEX pending_methods_expires ON pending_methods (expires_at);
CREATE INDEX sms_challenges_expires ON sms_challenges (expires_at);
CREATE INDEX rate_counters_window ON rate_counters (window_start);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_revoke ON sessions (revoke_at);
