-- Billing: every Stripe event we received, so a redelivery changes nothing
-- and a failed one is visible until its retry succeeds.
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP,
    error TEXT
);
