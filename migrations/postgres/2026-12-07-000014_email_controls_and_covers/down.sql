DELETE FROM article_events WHERE event = 'emailed';
ALTER TABLE article_events DROP CONSTRAINT article_events_event_check;
ALTER TABLE article_events ADD CONSTRAINT article_events_event_check
    CHECK (event IN ('created', 'updated', 'scheduled', 'published', 'unpublished'));
ALTER TABLE pending_signups DROP COLUMN newsletter_ids;
DROP INDEX articles_email_at;
ALTER TABLE articles DROP COLUMN feature_image_caption;
ALTER TABLE articles DROP COLUMN feature_image_alt;
ALTER TABLE articles DROP COLUMN feature_image;
ALTER TABLE articles DROP COLUMN email_at;
ALTER TABLE articles DROP COLUMN on_site;
ALTER TABLE articles DROP COLUMN preheader;
ALTER TABLE articles DROP COLUMN email_subject;
