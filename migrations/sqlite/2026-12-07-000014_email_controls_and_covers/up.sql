-- What a post's email says and when it goes, and its cover image.
-- email_subject / preheader: NULL means the title / the excerpt.
-- on_site: FALSE makes an email-only post: sent, but never listed, shown,
-- fed or searched on the site (recipients read it through their signed
-- "view in browser" link).
-- email_at: the email goes out then rather than at publishing (never
-- before publishing).
-- feature_image: an absolute http(s) URL or a path on this site.
ALTER TABLE articles ADD COLUMN email_subject TEXT;
ALTER TABLE articles ADD COLUMN preheader TEXT;
ALTER TABLE articles ADD COLUMN on_site BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE articles ADD COLUMN email_at TIMESTAMP;
ALTER TABLE articles ADD COLUMN feature_image TEXT;
ALTER TABLE articles ADD COLUMN feature_image_alt TEXT;
ALTER TABLE articles ADD COLUMN feature_image_caption TEXT;
-- The scheduler looks for published posts whose email time has come.
CREATE INDEX articles_email_at ON articles (email_at) WHERE email_at IS NOT NULL;

-- The newsletters a sign-up form's reader ticked, as comma-separated ids,
-- joined when they confirm; NULL: the ones new members join by default.
ALTER TABLE pending_signups ADD COLUMN newsletter_ids TEXT;

-- A post emailed after publishing ("emailed") is on its history too.
CREATE TABLE article_events_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    event TEXT NOT NULL CHECK (event IN ('created', 'updated', 'scheduled', 'published', 'unpublished', 'emailed')),
    actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO article_events_new SELECT id, article_id, event, actor_id, created_at FROM article_events;
DROP TABLE article_events;
ALTER TABLE article_events_new RENAME TO article_events;
CREATE INDEX article_events_article_id ON article_events(article_id);
