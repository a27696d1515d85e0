-- The audit trail of changes (docs/design.md, "Guardrails for automated changes"): beside
-- what was heard and understood, for every change who asked, who confirmed, the value
-- before and after, and the guardrail rule that asked for the confirmation. The catalog
-- returns these with the change (shopvoice.common.v1.ChangeRecord); a turn that was asked
-- to confirm records the rule that asked; `shopvoice audit` reads them.
ALTER TABLE audit_log
    ADD COLUMN requested_by text NOT NULL DEFAULT '',  -- the user who asked for the change
    ADD COLUMN confirmed_by text NOT NULL DEFAULT '',  -- the user who confirmed it; '' = not confirmed
    ADD COLUMN rule         text NOT NULL DEFAULT '',  -- the guardrail rules that asked ("price_window,bulk")
    ADD COLUMN subject      text NOT NULL DEFAULT '',  -- the SKU (or order) changed
    ADD COLUMN field        text NOT NULL DEFAULT '',  -- price, stock, status
    ADD COLUMN before_value text NOT NULL DEFAULT '',
    ADD COLUMN after_value  text NOT NULL DEFAULT '',
    ADD COLUMN change_id    text NOT NULL DEFAULT '',
    ADD COLUMN requested_in text NOT NULL DEFAULT '';  -- the utterance that asked (a confirmed change runs in a later one)
CREATE INDEX audit_log_subject ON audit_log (merchant_id, subject, heard_at DESC) WHERE subject <> '';
