-- Several newsletters: a publication runs one or more lists (a weekly
-- digest, a paid-only letter...) and a member subscribes to each by a row
-- in `newsletter_subscriptions` (opt-in; no row, no email). The single
-- newsletter the publication had becomes newsletter 1, and everyone who had
-- it on (`users.newsletter`) is subscribed to it, so nothing changes for
-- existing members. Newsletters are archived, never deleted: sends name the
-- newsletter they went through.
CREATE TABLE newsletters (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The From name for this newsletter; NULL: the publication's sender name.
    sender_name TEXT,
    -- `paid`: only members whose plan reads paid posts receive it.
    visibility TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'paid')),
    -- New members are subscribed unless they choose otherwise.
    subscribe_on_signup BOOLEAN NOT NULL DEFAULT TRUE,
    position INTEGER NOT NULL DEFAULT 0,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO newsletters (id, slug, name, description, created_at, updated_at)
VALUES (1, 'newsletter', 'Newsletter', 'Every new post in your inbox.', now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc');

CREATE TABLE newsletter_subscriptions (
    newsletter_id INTEGER NOT NULL REFERENCES newsletters(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (newsletter_id, user_id)
);
CREATE INDEX newsletter_subscriptions_user_id ON newsletter_subscriptions(user_id);
INSERT INTO newsletter_subscriptions (newsletter_id, user_id, created_at)
SELECT 1, id, created_at FROM users WHERE newsletter AND deleted_at IS NULL;
ALTER TABLE users DROP COLUMN newsletter;

-- The newsletter a post goes out through (NULL: the first one, by position)
-- and the one a send went through.
ALTER TABLE articles ADD COLUMN newsletter_id INTEGER REFERENCES newsletters(id);
ALTER TABLE sends ADD COLUMN newsletter_id INTEGER NOT NULL DEFAULT 1 REFERENCES newsletters(id);

-- Editors' own words about a member, and labels to group members by.
ALTER TABLE users ADD COLUMN note TEXT;
CREATE TABLE labels (
    id SERIAL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE member_labels (
    label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (label_id, user_id)
);
CREATE INDEX member_labels_user_id ON member_labels(user_id);

-- What happened to a member that no other table keeps: sign-ins, newsletter
-- choices, address changes, editors' actions. The member's timeline merges
-- these with the rows that already tell their story (subscriptions, comps,
-- deliveries, gift links).
CREATE TABLE member_events (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    actor_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX member_events_user_id ON member_events(user_id, created_at);

-- Listing members newest first, and searching them by name.
CREATE INDEX users_created_at ON users(created_at);
-- A serial's sequence does not see the explicit id 1 above.
SELECT setval(pg_get_serial_sequence('newsletters', 'id'), (SELECT max(id) FROM newsletters));
