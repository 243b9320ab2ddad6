DROP TABLE stripe_objects;
ALTER TABLE tier_prices DROP COLUMN stripe_product_id;
DROP TABLE gift_subscriptions;
DROP TABLE offers;
