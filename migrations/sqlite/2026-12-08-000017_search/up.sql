-- Search: one row per article (rowid = articles.id) in an FTS5 table, kept
-- by the publishing service on every save. `preview` is the free part's
-- text, `body` the whole body's: a reader is matched against the body only
-- where the access policy lets them read it in full (see reading::search).
-- Which articles are live is read from `articles` at query time, so
-- publishing and unpublishing need no index change. Rows of articles saved
-- before this migration are written when the server starts.
CREATE VIRTUAL TABLE search_index USING fts5(
    title, tags, authors, preview, body,
    tokenize = 'unicode61 remove_diacritics 2'
);
