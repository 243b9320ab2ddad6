-- Search: one row per article, kept by the publishing service on every
-- save. `preview` is the free part's text, `body` the whole body's: a
-- reader is matched against the body only where the access policy lets them
-- read it in full (see reading::search). Two weighted vectors (title A,
-- tags and authors B, text C), each with a GIN index: `open_vector` over
-- the free text, `full_vector` over the whole body. Which articles are live
-- is read from `articles` at query time. Rows of articles saved before this
-- migration are written when the server starts.
CREATE TABLE search_documents (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    tags TEXT NOT NULL,
    authors TEXT NOT NULL,
    preview TEXT NOT NULL,
    body TEXT NOT NULL,
    open_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', tags || ' ' || authors), 'B')
        || setweight(to_tsvector('simple', preview), 'C')
    ) STORED,
    full_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', title), 'A')
        || setweight(to_tsvector('simple', tags || ' ' || authors), 'B')
        || setweight(to_tsvector('simple', body), 'C')
    ) STORED
);
CREATE INDEX search_documents_open ON search_documents USING GIN (open_vector);
CREATE INDEX search_documents_full ON search_documents USING GIN (full_vector);
