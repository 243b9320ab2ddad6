DELETE FROM article_events WHERE event = 'emailed';
CREATE TABLE article_events_old (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('created', 'updated', 'scheduled', 'published', 'unpublished')),
    actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO article_events_old SELECT id, article_id, event, actor_id, created_at FROM article_events;
DROP TABLE article_events;
ALTER TABLE article_events_old RENAME TO article_events;
CREATE INDEX article_events_article_id ON article_events(article_id);
ALTER TABLE pending_signups DROP COLUMN newsletter_ids;
DROP INDEX articles_email_at;
ALTER TABLE articles DROP COLUMN feature_image_caption;
ALTER TABLE articles DROP COLUMN feature_image_alt;
ALTER TABLE articles DROP COLUMN feature_image;
ALTER TABLE articles DROP COLUMN email_at;
ALTER TABLE articles DROP COLUMN on_site;
ALTER TABLE articles DROP COLUMN preheader;
ALTER TABLE articles DROP COLUMN email_subject;
