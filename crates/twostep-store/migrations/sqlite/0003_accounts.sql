-- Third release, accounts, passwords and notifications (SPEC §12). Additive only: a
-- binary one release older never names these columns and still runs on this schema.
ALTER TABLE accounts ADD COLUMN email TEXT;
ALTER TABLE accounts ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;
-- Set by an admin reset of a user who had methods: enrolling again needs an access code.
ALTER TABLE accounts ADD COLUMN access_code_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE accounts ADD COLUMN last_sign_in_at BIGINT;

-- An enrollment flow that presented a valid access code.
ALTER TABLE flows ADD COLUMN access_code_ok BOOLEAN NOT NULL DEFAULT FALSE;

-- Setup links (/setup/{token}): only the SHA-256 of the token is kept; single use.
CREATE TABLE setup_links (
    id INTEGER PRIMARY KEY,
    token_hash BLOB NOT NULL UNIQUE,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX setup_links_account ON setup_links (account_id);
CREATE INDEX setup_links_expires ON setup_links (expires_at);

-- Temporary access codes after a lost phone (hash only; single use).
CREATE TABLE access_codes (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX access_codes_account ON access_codes (account_id);
