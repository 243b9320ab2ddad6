ALTER TABLE users DROP COLUMN feed_generation;
DROP TABLE server_secrets;
DROP TABLE idempotency_keys;
DROP TABLE article_events;
DROP TABLE slug_redirects;
