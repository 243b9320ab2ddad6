ALTER TABLE users DROP COLUMN deleted_at;
DROP TABLE meter_reads;
DROP TABLE gift_links;
