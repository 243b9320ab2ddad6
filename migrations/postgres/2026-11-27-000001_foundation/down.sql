DROP TABLE comps;
DROP TABLE subscriptions;
DROP TABLE articles;
DROP TABLE api_keys;
DROP TABLE login_tokens;
DROP TABLE sessions;
DROP TABLE users;
