-- Audit records Postgres refused (a value it cannot store): kept with the reason, so one bad
-- record never holds back the others and nothing is silently lost. `record` is the record as
-- ASCII-only JSON (every character escaped), which any text column takes.
CREATE TABLE audit_dead_letter (
    id           bigserial   PRIMARY KEY,
    merchant_id  text        NOT NULL,
    utterance_id text        NOT NULL,
    reason       text        NOT NULL,
    record       text        NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_dead_letter_time ON audit_dead_letter (recorded_at DESC);
