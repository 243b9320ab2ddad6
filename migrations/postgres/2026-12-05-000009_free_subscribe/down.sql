DROP TABLE pending_signups;
ALTER TABLE users DROP COLUMN source;
