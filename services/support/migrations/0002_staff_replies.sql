-- Staff replies to tickets: what a member of the shop's staff wrote to the customer. The
-- customer sees them in the ticket's conversation (with the next answer, or by asking for
-- the conversation's messages); the ticket's own conversation shows them as "staff" turns.
CREATE TABLE staff_replies (
    message_id      bigserial PRIMARY KEY,
    merchant_id     text NOT NULL,
    ticket_id       bigint NOT NULL REFERENCES tickets (ticket_id),
    customer_id     text NOT NULL,
    conversation_id text NOT NULL,
    author          text NOT NULL DEFAULT '',
    body            text NOT NULL CHECK (body <> ''),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_replies_conversation ON staff_replies (merchant_id, customer_id, conversation_id, message_id);
