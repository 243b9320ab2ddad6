-- Page views of each post and page per day (UTC), counted on the server:
-- one row per article and day, nothing about the visitor (no address, no
-- cookie, no user agent). Each instance counts in memory and adds its
-- counts here every BROADSHEET_PAGE_VIEW_FLUSH_MS, so several instances add
-- up. Crawlers and link previewers are left out by their user agent.
CREATE TABLE article_views (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    day DATE NOT NULL,
    views INTEGER NOT NULL,
    PRIMARY KEY (article_id, day)
);
CREATE INDEX article_views_by_day ON article_views (day);
