-- Subscribing with an email only (double opt-in). Nobody becomes a member
-- until they click the emailed link: until then the request waits here, one
-- row per address, and is swept once it expires (7 days).
CREATE TABLE pending_signups (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    -- What brought them: home, article:{slug}, embed:{origin}, api.
    source TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- When the confirmation email last went out: at most one per 10 minutes.
    last_sent_at TIMESTAMP NOT NULL
);
CREATE INDEX pending_signups_expires_at ON pending_signups(expires_at);

-- What brought a member (as above, or signup for the password form); null
-- for members from before this was recorded and for imports.
ALTER TABLE users ADD COLUMN source TEXT;
