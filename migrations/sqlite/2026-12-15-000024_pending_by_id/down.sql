DROP INDEX webhook_deliveries_pending_by_id;
DROP INDEX outbox_pending_by_id;
DROP INDEX deliveries_pending_by_id;
