DROP TABLE suppressions;
DROP TABLE outbox;
DROP TABLE deliveries;
DROP TABLE sends;
