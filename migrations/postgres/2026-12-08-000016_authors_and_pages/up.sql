-- Authors: a writer's public face (slug, bio, avatar) beside their account,
-- and the ordered byline of each post. `articles.author_id` stays the
-- post's owner (whose draft it is, for the author role's permissions); the
-- byline is `article_authors`, which editors may change.
CREATE TABLE author_profiles (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    slug TEXT NOT NULL UNIQUE,
    bio TEXT,
    avatar_url TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE article_authors (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id),
    position INTEGER NOT NULL,
    PRIMARY KEY (article_id, user_id)
);
-- An author's page lists their posts.
CREATE INDEX article_authors_user_id ON article_authors (user_id, article_id);
-- Every post so far has its owner as its only author.
INSERT INTO article_authors (article_id, user_id, position) SELECT id, author_id, 0 FROM articles;

-- Static pages (About, Terms…) are articles of kind 'page': at /{slug},
-- never listed, fed or emailed.
ALTER TABLE articles ADD COLUMN kind TEXT NOT NULL DEFAULT 'post' CHECK (kind IN ('post', 'page'));
