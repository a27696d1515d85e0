-- The support schema: the merchant's policies (FAQ text per topic and language),
-- customer conversations (every turn, so a ticket carries the whole exchange)
-- and tickets for the merchant's staff. Every row carries merchant_id.

CREATE TABLE policies (
    merchant_id text NOT NULL,
    topic       text NOT NULL,            -- shipping, returns, address_change, invoice
    language    text NOT NULL,            -- zh, en
    body        text NOT NULL,
    updated_by  text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, topic, language)
);

-- A conversation belongs to one customer of one merchant: the key includes both,
-- so a customer who guesses another's conversation id gets a conversation of their own.
CREATE TABLE turns (
    id              bigserial PRIMARY KEY,
    merchant_id     text NOT NULL,
    customer_id     text NOT NULL,
    conversation_id text NOT NULL,
    turn_id         text,                 -- client retry key; NULL when not given
    question        text NOT NULL,
    answer          bytea NOT NULL,       -- serialized shopvoice.support.v1.Answer
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX turns_conversation ON turns (merchant_id, customer_id, conversation_id, id);
CREATE UNIQUE INDEX turns_retry ON turns (merchant_id, customer_id, conversation_id, turn_id)
    WHERE turn_id IS NOT NULL;

-- One open ticket per conversation: a second hand-off in the same conversation
-- adds to it instead of opening another.
CREATE TABLE tickets (
    ticket_id       bigserial PRIMARY KEY,
    merchant_id     text NOT NULL,
    customer_id     text NOT NULL,
    conversation_id text NOT NULL,
    reason          text NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
CREATE UNIQUE INDEX tickets_one_open ON tickets (merchant_id, customer_id, conversation_id) WHERE status = 'open';
CREATE INDEX tickets_by_merchant ON tickets (merchant_id, status, ticket_id DESC);
