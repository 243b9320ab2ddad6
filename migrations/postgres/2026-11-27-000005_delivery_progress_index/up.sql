-- Whether a send still has work is asked after every worker round; by send
-- and status it is an index probe instead of a walk over all its deliveries.
CREATE INDEX deliveries_send_status ON deliveries(send_id, status);
