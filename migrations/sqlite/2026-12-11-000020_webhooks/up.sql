-- Outbound webhooks. An admin registers a URL and the events it wants; each
-- event is written, in the transaction that made it happen, as one
-- `webhook_deliveries` row per webhook that wants it, and sent by the
-- worker through the same queue life cycle as mail (pending → sending with
-- a lease → sent | pending again | failed). `event_id` is one per event, the
-- same for every webhook that gets it, so receivers can drop repeats.
-- `secret` signs each POST (Broadsheet-Signature): it must be readable to
-- sign, so it is kept as is, like Stripe's. A webhook whose deliveries all
-- failed for BROADSHEET_WEBHOOK_DISABLE_AFTER_DAYS is switched off with the
-- reason kept (`disabled_reason`) until an admin switches it on again.
-- `member_id` names the member a payload is about (no foreign key: member
-- rows outlive their erasure), so erasing a member deletes those payloads.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    secret TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    failing_since TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,
    member_id INTEGER,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'suppressed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    last_error TEXT,
    response_status INTEGER,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_member ON webhook_deliveries (member_id);
