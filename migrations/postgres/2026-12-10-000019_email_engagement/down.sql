DELETE FROM suppressions WHERE reason = 'soft_bounces';
ALTER TABLE suppressions DROP CONSTRAINT suppressions_reason_check;
ALTER TABLE suppressions ADD CONSTRAINT suppressions_reason_check
    CHECK (reason IN ('unsubscribed', 'hard_bounce', 'complaint', 'manual'));
DROP TABLE email_events;
ALTER TABLE deliveries DROP COLUMN complained_at;
ALTER TABLE deliveries DROP COLUMN bounced_at;
ALTER TABLE deliveries DROP COLUMN unsubscribed_at;
ALTER TABLE deliveries DROP COLUMN opened_at;
DROP TABLE link_clicks;
DROP TABLE send_links;
