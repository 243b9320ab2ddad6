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
ALTER TABLE article_events DROP CONSTRAINT article_events_event_check;
ALTER TABLE article_events ADD CONSTRAINT article_events_event_check
    CHECK (event IN ('created', 'updated', 'scheduled', 'published', 'unpublished', 'emailed'));
