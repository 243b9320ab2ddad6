ALTER TABLE articles DROP COLUMN kind;
DROP TABLE article_authors;
DROP TABLE author_profiles;
