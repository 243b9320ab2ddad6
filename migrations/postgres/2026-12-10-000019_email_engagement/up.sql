-- What recipients did with a newsletter. A tracked link in a send is kept
-- once per send under `link_key` (the first 8 bytes of its URL's SHA-256,
-- hex), which each recipient's signed click token names; the redirect
-- goes only to the URL stored here. A click is kept once per delivery and
-- link (the first). A delivery keeps the first time its recipient opened
-- it (`opened_at`, when open tracking is on), left the newsletter through
-- its unsubscribe link (`unsubscribed_at`), or was reported bounced or as
-- spam (`bounced_at`, `complained_at`: by the SMTP server on the spot or a
-- provider later).
CREATE TABLE send_links (
    id SERIAL PRIMARY KEY,
    send_id INTEGER NOT NULL REFERENCES sends(id) ON DELETE CASCADE,
    link_key TEXT NOT NULL,
    url TEXT NOT NULL,
    UNIQUE (send_id, link_key)
);

CREATE TABLE link_clicks (
    delivery_id INTEGER NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    link_id INTEGER NOT NULL REFERENCES send_links(id) ON DELETE CASCADE,
    clicked_at TIMESTAMP NOT NULL,
    PRIMARY KEY (delivery_id, link_id)
);
CREATE INDEX link_clicks_by_link ON link_clicks (link_id);

ALTER TABLE deliveries ADD COLUMN opened_at TIMESTAMP;
ALTER TABLE deliveries ADD COLUMN unsubscribed_at TIMESTAMP;
ALTER TABLE deliveries ADD COLUMN bounced_at TIMESTAMP;
ALTER TABLE deliveries ADD COLUMN complained_at TIMESTAMP;

-- What mail providers reported about a message after it left (bounces,
-- spam complaints, deliveries), each kept once by the provider's event id
-- so a webhook delivered twice changes nothing. `delivery_id` when the
-- event names one of our messages; the member's timeline shows them.
CREATE TABLE email_events (
    id SERIAL PRIMARY KEY,
    provider TEXT NOT NULL,
    provider_event_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    email TEXT NOT NULL,
    delivery_id INTEGER REFERENCES deliveries(id) ON DELETE SET NULL,
    user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
    detail TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    UNIQUE (provider, provider_event_id)
);
CREATE INDEX email_events_by_email ON email_events (email, occurred_at);

-- A run of soft bounces reported by a provider suppresses an address too
-- (`soft_bounces`).
ALTER TABLE suppressions DROP CONSTRAINT suppressions_reason_check;
ALTER TABLE suppressions ADD CONSTRAINT suppressions_reason_check
    CHECK (reason IN ('unsubscribed', 'hard_bounce', 'soft_bounces', 'complaint', 'manual'));
