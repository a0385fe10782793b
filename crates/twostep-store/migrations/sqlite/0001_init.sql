-- Twostep schema, SQLite flavour. Times are Unix seconds (UTC).
CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    addon TEXT NOT NULL DEFAULT 'unavailable',
    two_step_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    mandatory_all BOOLEAN NOT NULL DEFAULT FALSE,
    language TEXT NOT NULL DEFAULT 'en'
);

CREATE TABLE profiles (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    admin BOOLEAN NOT NULL,
    mandatory BOOLEAN NOT NULL,
    UNIQUE (org_id, slug)
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    username_key TEXT NOT NULL,
    kind TEXT NOT NULL,
    profile_id BIGINT REFERENCES profiles(id),
    password_hash TEXT NOT NULL,
    phone_sealed BLOB,
    phone_hint TEXT,
    phone_key_id TEXT,
    created_at BIGINT NOT NULL,
    second_step_failures BIGINT NOT NULL DEFAULT 0,
    second_step_locks BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT,
    last_two_step_at BIGINT,
    UNIQUE (org_id, username_key)
);
CREATE INDEX accounts_profile ON accounts (profile_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    org_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    client TEXT NOT NULL,
    two_step_verified BOOLEAN NOT NULL,
    last_two_step_at BIGINT,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoke_at BIGINT,
    last_sms_at BIGINT,
    ip TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE flows (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    client TEXT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    last_sms_at BIGINT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX flows_account ON flows (account_id);

CREATE TABLE methods (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    sealed BLOB NOT NULL,
    key_id TEXT NOT NULL,
    phone_hint TEXT,
    enabled_at BIGINT NOT NULL,
    last_step BIGINT,
    PRIMARY KEY (account_id, kind)
);

CREATE TABLE pending_methods (
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    sealed BLOB NOT NULL,
    key_id TEXT NOT NULL,
    phone_hint TEXT,
    expires_at BIGINT NOT NULL,
    last_sms_at BIGINT,
    PRIMARY KEY (account_id, kind)
);

CREATE TABLE recovery_codes (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    used_at BIGINT,
    UNIQUE (account_id, code_hash)
);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    org_id BIGINT,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT,
    subject TEXT,
    client TEXT,
    ip TEXT,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);

-- Text-message codes: hashed, single-use, bound to what asked for them: a sign-in flow
-- (purpose 'signin', flow_id = flow), the pending SMS enrollment ('enroll', flow_id NULL)
-- or a session stepping up ('stepup', flow_id = session).
CREATE TABLE sms_challenges (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    flow_id BIGINT,
    purpose TEXT NOT NULL,
    salt BLOB NOT NULL,
    code_hash BLOB NOT NULL,
    sent_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT
);
CREATE INDEX sms_challenges_account ON sms_challenges (account_id, purpose, id);

-- Fixed-window counters for throttling and send limits, shared by every replica.
CREATE TABLE rate_counters (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
