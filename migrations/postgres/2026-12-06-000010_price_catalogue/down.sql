DROP TABLE leases;
DROP INDEX subscriptions_price_id;
ALTER TABLE comps DROP COLUMN tier_id;
DROP TABLE article_tiers;
DROP TABLE tier_prices;
DROP TABLE tiers;
