ALTER TABLE deliveries DROP COLUMN opened_at;
DROP TABLE link_clicks;
DROP TABLE send_links;
