DROP INDEX users_created_at;
DROP TABLE member_events;
DROP TABLE member_labels;
DROP TABLE labels;
ALTER TABLE users DROP COLUMN note;
ALTER TABLE sends DROP COLUMN newsletter_id;
ALTER TABLE articles DROP COLUMN newsletter_id;
ALTER TABLE users ADD COLUMN newsletter BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET newsletter = TRUE
WHERE id IN (SELECT user_id FROM newsletter_subscriptions WHERE newsletter_id = 1);
DROP TABLE newsletter_subscriptions;
DROP TABLE newsletters;
