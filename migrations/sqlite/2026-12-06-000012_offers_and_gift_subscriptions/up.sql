-- Offers: a named, shareable link (/offer/{code}) that opens Checkout for
-- one catalogue price with a Stripe coupon or promotion code applied. Stripe
-- enforces the discount's own limits (expiry, redemptions); the label and
-- end date are what Stripe said when the offer was made, for the page.
CREATE TABLE offers (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    stripe_price_id TEXT NOT NULL REFERENCES tier_prices(stripe_price_id) ON DELETE RESTRICT,
    stripe_coupon_id TEXT,
    stripe_promotion_code_id TEXT,
    -- "40% off for 3 months"
    discount_label TEXT NOT NULL,
    ends_at TIMESTAMP,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    CHECK ((stripe_coupon_id IS NULL) <> (stripe_promotion_code_id IS NULL))
);
CREATE INDEX offers_stripe_price_id ON offers(stripe_price_id);

-- Gift subscriptions: N months of a tier bought for someone else with a
-- one-time Checkout payment. `pending` until Stripe says it was paid; then a
-- redeem code (a signed token over the row id, never stored) goes to the
-- buyer, and to the recipient on `deliver_at`; redeeming grants a comp of
-- the tier; a refund revokes an unredeemed gift or ends the comp.
CREATE TABLE gift_subscriptions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    tier_id INTEGER NOT NULL REFERENCES tiers(id) ON DELETE RESTRICT,
    months INTEGER NOT NULL CHECK (months > 0),
    currency TEXT NOT NULL,
    -- What the buyer pays before tax, in the currency's smallest unit.
    amount INTEGER NOT NULL,
    buyer_email TEXT NOT NULL,
    buyer_name TEXT NOT NULL DEFAULT '',
    recipient_email TEXT,
    message TEXT NOT NULL DEFAULT '',
    deliver_at TIMESTAMP,
    status TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'redeemed', 'revoked')),
    checkout_session_id TEXT UNIQUE,
    payment_intent_id TEXT UNIQUE,
    comp_id INTEGER REFERENCES comps(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    paid_at TIMESTAMP
);

-- The Stripe product of each price (cached with its details): the Billing
-- Portal is configured per product.
ALTER TABLE tier_prices ADD COLUMN stripe_product_id TEXT;

-- Objects we made in Stripe and reuse: the Billing Portal configuration
-- made from the catalogue, with a fingerprint of what it was made from (a
-- changed catalogue makes a new one).
CREATE TABLE stripe_objects (
    name TEXT PRIMARY KEY NOT NULL,
    stripe_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
