-- Apps that sign in through Twostep (SPEC §13).
CREATE TABLE apps (
    id INTEGER PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL UNIQUE,
    slug TEXT NOT NULL,
    name TEXT NOT NULL,
    -- SHA-256 of the client secret; NULL for a public app.
    secret_hash BLOB,
    two_step BOOLEAN NOT NULL,
    -- Exact redirect URIs, one per line.
    redirect_uris TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, slug)
);

-- Keys that sign ID and access tokens: the private key sealed like other secrets.
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    sealed BLOB NOT NULL,
    key_id TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
-- One current key per algorithm.
CREATE UNIQUE INDEX signing_keys_current ON signing_keys (alg) WHERE retired_at IS NULL;

-- Authorization requests waiting for their user to sign in.
CREATE TABLE oauth_requests (
    id INTEGER PRIMARY KEY,
    handle_hash BLOB NOT NULL UNIQUE,
    app_id BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_requests_expires ON oauth_requests (expires_at);

-- What one sign-in gave one app; codes and tokens hang from it, and it from its session.
CREATE TABLE oauth_grants (
    id INTEGER PRIMARY KEY,
    app_id BIGINT NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    nonce TEXT,
    auth_time BIGINT NOT NULL,
    amr TEXT NOT NULL,
    acr TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT,
    code_hash BLOB NOT NULL UNIQUE,
    code_expires_at BIGINT NOT NULL,
    code_used_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX oauth_grants_session ON oauth_grants (session_id);

CREATE TABLE refresh_tokens (
    id INTEGER PRIMARY KEY,
    grant_id BIGINT NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    used_at BIGINT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

-- Which second step opened a session (RFC 8176 amr for the apps): totp, sms, recovery_code.
ALTER TABLE sessions ADD COLUMN second_factor TEXT;
