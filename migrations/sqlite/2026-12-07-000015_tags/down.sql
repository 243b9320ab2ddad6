DROP TABLE tag_redirects;
DROP TABLE article_tags;
DROP TABLE tags;
