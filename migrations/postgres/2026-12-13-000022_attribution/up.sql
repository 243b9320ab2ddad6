-- What brought each member (issue 20): the sign-up, and each start of a
-- paid subscription, with what the site knew about how the reader arrived.
-- Carried through the reader's forms in a hidden field (and through Stripe
-- Checkout as metadata), never in a cookie; nothing about the visitor is
-- kept: no address, no full referring URL (only its host).
--   kind: 'signup' (a new member: free sign-up, password sign-up) or
--         'paid' (a subscription Checkout completed, a gift redeemed).
--   article_id: the post whose form, teaser or gift link they used.
--   newsletter_article_id: the newsletter post whose link brought them.
--   gift_link_id: the gift link they read the post through.
--   gift_subscription_id: the gift subscription they redeemed.
--   offer_id: the offer they claimed.
--   embed_origin: the page that framed the embedded form.
--   referrer: the referring site's host, or the name a `?ref=` link gave.
CREATE TABLE member_attributions (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
    newsletter_article_id INTEGER REFERENCES articles(id) ON DELETE SET NULL,
    gift_link_id INTEGER REFERENCES gift_links(id) ON DELETE SET NULL,
    gift_subscription_id INTEGER REFERENCES gift_subscriptions(id) ON DELETE SET NULL,
    offer_id INTEGER REFERENCES offers(id) ON DELETE SET NULL,
    embed_origin TEXT,
    referrer TEXT,
    created_at TIMESTAMP NOT NULL
);
-- One sign-up per member.
CREATE UNIQUE INDEX member_attributions_one_signup ON member_attributions (user_id) WHERE kind = 'signup';
CREATE INDEX member_attributions_by_member ON member_attributions (user_id, id);
CREATE INDEX member_attributions_by_article ON member_attributions (article_id);
CREATE INDEX member_attributions_by_newsletter ON member_attributions (newsletter_article_id);
-- A confirmation link keeps the trail of the form that asked for it.
ALTER TABLE pending_signups ADD COLUMN trail TEXT;
