ALTER TABLE deliveries DROP COLUMN complained_at;
ALTER TABLE deliveries DROP COLUMN bounced_at;
ALTER TABLE deliveries DROP COLUMN unsubscribed_at;
ALTER TABLE deliveries DROP COLUMN opened_at;
DROP TABLE link_clicks;
DROP TABLE send_links;
