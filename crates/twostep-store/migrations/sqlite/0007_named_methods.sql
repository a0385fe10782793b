-- SPEC §14, named methods and security keys: several methods of a kind per account, each
-- with its own id, name and last use. A WebAuthn key keeps its credential (public key,
-- signature counter, backup flags) as JSON; it has no sealed secret.
CREATE TABLE methods_named (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    sealed BLOB,
    key_id TEXT,
    phone_hint TEXT,
    credential_id BLOB,
    credential TEXT,
    enabled_at BIGINT NOT NULL,
    last_step BIGINT,
    last_used_at BIGINT
);
INSERT INTO methods_named (account_id, kind, name, sealed, key_id, phone_hint, enabled_at, last_step)
    SELECT account_id, kind, CASE kind WHEN 'totp' THEN 'Authenticator app' ELSE 'Phone' END,
           sealed, key_id, phone_hint, enabled_at, last_step
      FROM methods ORDER BY account_id, kind;
DROP TABLE methods;
ALTER TABLE methods_named RENAME TO methods;
CREATE INDEX methods_account ON methods (account_id);
CREATE UNIQUE INDEX methods_credential ON methods (credential_id) WHERE credential_id IS NOT NULL;

ALTER TABLE pending_methods ADD COLUMN name TEXT;

-- A WebAuthn ceremony's server-side state: bound to the session or flow that began it,
-- single use, five minutes.
CREATE TABLE webauthn_ceremonies (
    id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    owner TEXT NOT NULL,
    purpose TEXT NOT NULL,
    name TEXT,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);
