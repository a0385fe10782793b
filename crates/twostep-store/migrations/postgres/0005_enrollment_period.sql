-- SPEC §14, enrollment deadline: an organisation may give users whom 2SV becomes
-- mandatory for a few days to set it up (0: at the next sign-in, as before).
ALTER TABLE organizations ADD COLUMN enrollment_period_days BIGINT NOT NULL DEFAULT 0;
-- Until when a user may still skip setting up 2SV ("Set up later").
ALTER TABLE accounts ADD COLUMN enroll_by BIGINT;
