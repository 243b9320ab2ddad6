DROP TABLE leases;
DROP INDEX subscriptions_price_id;
-- SQLite cannot drop a column that takes part in a foreign key: rebuild.
CREATE TABLE comps_before_tiers (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    granted_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    expires_at TIMESTAMP,
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
INSERT INTO comps_before_tiers (id, user_id, granted_by, expires_at, reason, created_at)
    SELECT id, user_id, granted_by, expires_at, reason, created_at FROM comps;
DROP TABLE comps;
ALTER TABLE comps_before_tiers RENAME TO comps;
CREATE INDEX comps_user_id ON comps(user_id);
DROP TABLE article_tiers;
DROP TABLE tier_prices;
DROP TABLE tiers;
