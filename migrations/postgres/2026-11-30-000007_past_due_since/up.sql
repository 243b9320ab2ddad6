-- When a subscription became past_due: the grace period runs from here, not
-- from current_period_end, which Stripe advances when it invoices the
-- renewal (before the card is charged). Rows already past_due start their
-- grace from the last time Stripe told us about them.
ALTER TABLE subscriptions ADD COLUMN past_due_since TIMESTAMP;
UPDATE subscriptions SET past_due_since = stripe_updated_at WHERE status = 'past_due';
