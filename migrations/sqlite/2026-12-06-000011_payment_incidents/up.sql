-- A member's billing history beyond their subscription: refunds of their
-- payments and disputes (chargebacks) of them, as Stripe reported them. An
-- open dispute may suspend their paid access (BROADSHEET_ON_DISPUTE).
CREATE TABLE payment_incidents (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('refund', 'dispute')),
    -- The charge (a refund) or the dispute, as Stripe names it: one row each,
    -- updated as Stripe's news arrives.
    stripe_id TEXT NOT NULL UNIQUE,
    charge_id TEXT NOT NULL,
    -- Refunded so far, or disputed; in the currency's smallest unit.
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    -- A refund: refunded or partially_refunded; a dispute: Stripe's status
    -- (needs_response, under_review, won, lost, …).
    status TEXT NOT NULL,
    suspends_access BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX payment_incidents_user_id ON payment_incidents(user_id);
