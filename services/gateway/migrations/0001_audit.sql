-- The audit log: one row per command a person sent through the gateway.
-- Append-only; the gateway never updates or deletes rows.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    merchant_id   text        NOT NULL,
    user_id       text        NOT NULL,
    role          text        NOT NULL,
    session_id    text        NOT NULL,
    utterance_id  text        NOT NULL,
    heard_at      timestamptz NOT NULL,            -- when the gateway received it
    heard         text        NOT NULL,            -- what was heard (text, or the final transcript)
    understood    jsonb,                           -- the typed command {"intent", "slots"}; null when never parsed
    ran           boolean     NOT NULL,            -- whether it was dispatched to an owning service
    status        text        NOT NULL,            -- RESULT_STATUS_* name, or the gateway's gRPC code name
    grpc_code     text        NOT NULL DEFAULT '',
    message       text        NOT NULL DEFAULT '',
    timings       jsonb       NOT NULL DEFAULT '{}', -- stage -> unix nanos
    delivered     boolean     NOT NULL,            -- whether the caller was still there to receive it
    recorded_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_merchant_time ON audit_log (merchant_id, heard_at DESC);
CREATE INDEX audit_log_utterance ON audit_log (merchant_id, utterance_id);
