-- Gift links: a subscriber shares one article. The token is signed over the
-- row id (see auth/signed.rs), so a forged token costs no query; expiry,
-- reads and revocation live here so every instance agrees.
CREATE TABLE gift_links (
    id SERIAL PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    gifter_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    max_reads INTEGER NOT NULL CHECK (max_reads > 0),
    reads INTEGER NOT NULL DEFAULT 0 CHECK (reads >= 0),
    revoked_at TIMESTAMP
);
-- The monthly quota counts a gifter's links by creation time.
CREATE INDEX gift_links_gifter_created ON gift_links(gifter_id, created_at);

-- Metered reads: the paid articles a free member read in full in a calendar
-- month (UTC, 'YYYY-MM'). Re-reading is one row (first unique key); the slot
-- (1..=allowance) is unique too, so two instances racing for a member's last
-- free read cannot both win.
CREATE TABLE meter_reads (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    month TEXT NOT NULL,
    slot INTEGER NOT NULL CHECK (slot > 0),
    read_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, month, article_id),
    UNIQUE (user_id, month, slot)
);

-- A deleted account keeps its row (so delivery counts stay whole) with every
-- personal field erased; deleted_at says so and keeps it out of everything.
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMP;
