-- SPEC §14, remember this device: an organisation may let a passed second step be
-- remembered on a device for a number of days (0: off).
ALTER TABLE organizations ADD COLUMN remember_device_days BIGINT NOT NULL DEFAULT 0;

-- Devices whose second step is remembered; only the token's hash is kept.
CREATE TABLE remembered_devices (
    id INTEGER PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    user_agent TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX remembered_devices_account ON remembered_devices (account_id);
