DELETE FROM suppressions WHERE reason = 'soft_bounces';
CREATE TABLE suppressions_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    reason TEXT NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce', 'complaint', 'manual')),
    created_at TIMESTAMP NOT NULL
);
INSERT INTO suppressions_old (id, email, reason, created_at)
    SELECT id, email, reason, created_at FROM suppressions;
DROP TABLE suppressions;
ALTER TABLE suppressions_old RENAME TO suppressions;
DROP TABLE email_events;
ALTER TABLE deliveries DROP COLUMN complained_at;
ALTER TABLE deliveries DROP COLUMN bounced_at;
ALTER TABLE deliveries DROP COLUMN unsubscribed_at;
ALTER TABLE deliveries DROP COLUMN opened_at;
DROP TABLE link_clicks;
DROP TABLE send_links;
