-- Tags: what a post is about, in the order its writer put them. A tag is
-- made the first time a post names it; its slug (transliterated from the
-- name) is its identity, so "Rust" and "rust" are one tag. Renaming a tag
-- keeps its old slug answering with a redirect (tag_redirects).
CREATE TABLE tags (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE article_tags (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (article_id, tag_id)
);
-- A tag's page lists its posts.
CREATE INDEX article_tags_tag_id ON article_tags (tag_id, article_id);
CREATE TABLE tag_redirects (
    old_slug TEXT PRIMARY KEY NOT NULL,
    tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
