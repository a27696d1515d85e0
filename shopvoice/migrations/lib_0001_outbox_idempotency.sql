-- Tables every service schema has; applied by shopvoice.db.migrate before the
-- service's own migrations. Unqualified names land in the service's schema.

-- Transactional outbox: written in the same transaction as the change it
-- announces, relayed to a Redis Stream by shopvoice.outbox.OutboxRelay.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    merchant_id  text NOT NULL,
    stream       text NOT NULL,
    payload      bytea NOT NULL,          -- serialized shopvoice.events.v1.Event
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Idempotency keys of mutating RPCs: a replay returns the stored first result.
CREATE TABLE idempotency_keys (
    merchant_id  text NOT NULL,
    key          text NOT NULL,
    method       text NOT NULL,
    request_hash bytea NOT NULL,
    response     bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, key)
);

-- Events this service already consumed (consumers are idempotent).
CREATE TABLE processed_events (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
