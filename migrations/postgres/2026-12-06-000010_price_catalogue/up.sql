-- The price catalogue: what the publication sells. A tier is what a reader
-- buys (a name, what it gives); each has any number of Stripe prices (an
-- interval and a currency each). `active` prices are on sale; `legacy`
-- ones are no longer sold but still count for readers already on them.
CREATE TABLE tiers (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- A JSON array of short sentences ("Every post in full", …).
    benefits TEXT NOT NULL DEFAULT '[]',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    -- Display order on /subscribe, smallest first.
    position INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE tier_prices (
    id SERIAL PRIMARY KEY,
    tier_id INTEGER NOT NULL REFERENCES tiers(id) ON DELETE CASCADE,
    stripe_price_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('active', 'legacy')),
    -- A free trial passed to Checkout; NULL for none.
    trial_days INTEGER,
    -- What Stripe's price object says, cached when the price is added and
    -- refreshed by stripe-sync (NULL until first read): Stripe stays the
    -- truth of what is charged, this is what /subscribe shows.
    currency TEXT,
    unit_amount BIGINT,
    -- day, week, month or year; NULL for a one-time price.
    recurring_interval TEXT,
    interval_count INTEGER,
    details_fetched_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tier_prices_tier_id ON tier_prices(tier_id);

-- A paid article may be for some tiers only; no row: any paid tier.
CREATE TABLE article_tiers (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    tier_id INTEGER NOT NULL REFERENCES tiers(id) ON DELETE RESTRICT,
    PRIMARY KEY (article_id, tier_id)
);
CREATE INDEX article_tiers_tier_id ON article_tiers(tier_id);

-- A comp may be for one tier (a gift of that tier); NULL: every tier.
ALTER TABLE comps ADD COLUMN tier_id INTEGER REFERENCES tiers(id);

-- Subscriptions are read by price when the catalogue decides their tier.
CREATE INDEX subscriptions_price_id ON subscriptions(price_id);

-- Work one instance at a time does (the scheduled stripe-sync): whoever
-- holds an unexpired lease runs it; a crashed holder's lease runs out.
CREATE TABLE leases (
    name TEXT PRIMARY KEY NOT NULL,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
