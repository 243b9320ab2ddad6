-- Publishing: old slugs that redirect, an article history (which also proves
-- that a scheduled post was published exactly once), idempotent POSTs, the
-- server's signing key, and private feed token rotation.
CREATE TABLE slug_redirects (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    old_slug TEXT NOT NULL UNIQUE,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE article_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('created', 'updated', 'scheduled', 'published', 'unpublished')),
    actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX article_events_article_id ON article_events(article_id);

CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- SHA-256 of the API key that sent it: keys are per client.
    owner_hash TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    -- NULL while the first request is still being handled.
    response_status INTEGER,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (owner_hash, idempotency_key)
);

CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

ALTER TABLE users ADD COLUMN feed_generation INTEGER NOT NULL DEFAULT 0;
