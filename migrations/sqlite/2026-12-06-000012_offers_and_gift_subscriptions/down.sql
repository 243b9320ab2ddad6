DROP TABLE gift_subscriptions;
DROP TABLE offers;
