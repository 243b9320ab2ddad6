-- What recipients did with a newsletter. A tracked link in a send is kept
-- once per send under `link_key` (the first 8 bytes of its URL's SHA-256,
-- hex), which each recipient's signed click token names; the redirect
-- goes only to the URL stored here. A click is kept once per delivery and
-- link (the first); an open is the delivery's `opened_at` (the first).
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
