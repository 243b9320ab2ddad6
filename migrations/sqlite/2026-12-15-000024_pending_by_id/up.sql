-- A worker claims pending rows in id order from where its last claim ended
-- (`mail_queue::ClaimCursor`). These indexes hold only pending rows, so
-- the walk starts at the cursor and reads nothing of the rows already sent.
CREATE INDEX deliveries_pending_by_id ON deliveries (id) WHERE status = 'pending';
CREATE INDEX outbox_pending_by_id ON outbox (id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_pending_by_id ON webhook_deliveries (id) WHERE status = 'pending';
