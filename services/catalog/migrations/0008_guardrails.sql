-- Guardrails for automated changes (docs/design.md, "Guardrails for automated changes"):
-- a per-merchant policy, the one SQL function that applies it (both the general path in
-- Python and the one-statement fast path call it, so the rule lives in one place), and
-- on every change who confirmed it and which rule asked.
--
-- The rules, each asking for a confirmation that names the confirming person:
--   price_window  the price of a SKU would move more than price_change_percent from the
--                 lowest (a rise) or the highest (a cut) price it had within the last
--                 price_window_hours. A confirmed change authorises the price it set: the
--                 window restarts at it. Every price change counts: single, bulk, undo,
--                 typed, spoken or proposed by the LLM.
--   bulk          one operation (one command id, or a declared bulk_size) changes more
--                 than bulk_threshold products.
-- Defaults (Amazon's Agent Policy, in force since March 2026): 20% within 24 h, 50 products.

CREATE TABLE guardrail_policies (
    merchant_id          text PRIMARY KEY,
    price_change_percent numeric(7, 2) NOT NULL CHECK (price_change_percent > 0 AND price_change_percent <= 1000),
    price_window_hours   int NOT NULL CHECK (price_window_hours BETWEEN 1 AND 720),
    bulk_threshold       int NOT NULL CHECK (bulk_threshold BETWEEN 1 AND 100000),
    updated_by           text NOT NULL DEFAULT '',
    updated_at           timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE changes ADD COLUMN confirmed_by text NOT NULL DEFAULT '';
ALTER TABLE changes ADD COLUMN rule text NOT NULL DEFAULT '';
-- The products one operation changed, in SKU order: counting them stops at the threshold.
CREATE INDEX changes_by_command ON changes (merchant_id, command_id, sku) WHERE command_id <> '';
-- The price a change set, as a number, indexed, so that the lowest and highest price of a
-- window are index probes, not a read of every change in it: a SKU a load test reprices
-- 1,000 times an hour is checked about as fast as one repriced once a day.
ALTER TABLE changes ADD COLUMN price_after numeric
    GENERATED ALWAYS AS (CASE WHEN kind = 'price' THEN new_value::numeric END) STORED;
CREATE INDEX changes_price_levels ON changes (merchant_id, sku, price_after) WHERE kind = 'price';
-- The last confirmed price change of a SKU (the window restarts there).
CREATE INDEX changes_confirmed_prices ON changes (merchant_id, sku, created_at)
    WHERE kind = 'price' AND confirmed_by <> '';

-- The merchant's policy, or the defaults where the merchant set none.
CREATE FUNCTION guardrail_policy(p_merchant text)
RETURNS TABLE (price_change_percent numeric, price_window_hours int, bulk_threshold int, updated_by text,
               updated_at timestamptz)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY SELECT g.price_change_percent, g.price_window_hours, g.bulk_threshold, g.updated_by, g.updated_at
    FROM guardrail_policies g WHERE g.merchant_id = p_merchant;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 20.00::numeric, 24, 50, ''::text, NULL::timestamptz;
    END IF;
END;
$$;

-- Which rules ask for a confirmation of this change (rule NULL: none), and why, in a
-- sentence a person can act on. p_old/p_new are the price before and after (NULL for a
-- change that is not a price change); the caller holds the variant's row lock.
--
-- The window's references are the price now, the price at the window's start (the first
-- change's old value) and every price set within it; the lowest and highest set within it
-- are read in price order from changes_price_levels, each stopping at its first row inside the
-- window (index probes, whatever the number of changes in the window).
CREATE FUNCTION guardrail_check(
    p_merchant text, p_sku text, p_command text, p_old numeric, p_new numeric, p_bulk_size int
) RETURNS TABLE (rule text, reason text) LANGUAGE plpgsql AS $$
DECLARE
    pol record;
    from_at timestamptz;
    restarted timestamptz;
    start_price numeric;
    lowest numeric;
    highest numeric;
    lo numeric;
    hi numeric;
    moved numeric;
    products int := 0;
    rules text[] := '{}';
    reasons text[] := '{}';
BEGIN
    SELECT * INTO pol FROM guardrail_policy(p_merchant);
    IF p_new IS NOT NULL AND p_old IS NOT NULL AND p_new <> p_old THEN
        from_at := now() - make_interval(hours => pol.price_window_hours);
        SELECT max(c.created_at) INTO restarted FROM changes c
        WHERE c.merchant_id = p_merchant AND c.sku = p_sku AND c.kind = 'price' AND c.confirmed_by <> ''
          AND c.created_at >= from_at;
        IF restarted IS NOT NULL THEN  -- from the confirmed price on (it is a change in the window)
            from_at := restarted;
        ELSE
            SELECT c.old_value::numeric INTO start_price FROM changes c
            WHERE c.merchant_id = p_merchant AND c.sku = p_sku AND c.kind = 'price' AND c.created_at >= from_at
            ORDER BY c.created_at LIMIT 1;
        END IF;
        SELECT c.price_after INTO lowest FROM changes c
        WHERE c.merchant_id = p_merchant AND c.sku = p_sku AND c.kind = 'price' AND c.created_at >= from_at
        ORDER BY c.price_after LIMIT 1;
        SELECT c.price_after INTO highest FROM changes c
        WHERE c.merchant_id = p_merchant AND c.sku = p_sku AND c.kind = 'price' AND c.created_at >= from_at
        ORDER BY c.price_after DESC LIMIT 1;
        lo := least(p_old, start_price, lowest);  -- least and greatest skip NULLs
        hi := greatest(p_old, start_price, highest);
        IF p_new > lo AND (lo = 0 OR (p_new - lo) / lo * 100 > pol.price_change_percent) THEN
            moved := CASE WHEN lo = 0 THEN NULL ELSE round((p_new - lo) / lo * 100, 1) END;
            rules := rules || 'price_window'::text;
            reasons := reasons || format('%s would be %s%% above %s, its lowest price in the last %s h (limit %s%%)',
                                         p_sku, coalesce(moved::text, 'infinitely'), lo::numeric(20, 2),
                                         pol.price_window_hours, pol.price_change_percent::float8);
        ELSIF p_new < hi AND (hi - p_new) / hi * 100 > pol.price_change_percent THEN
            moved := round((hi - p_new) / hi * 100, 1);
            rules := rules || 'price_window'::text;
            reasons := reasons || format('%s would be %s%% below %s, its highest price in the last %s h (limit %s%%)',
                                         p_sku, moved, hi::numeric(20, 2), pol.price_window_hours,
                                         pol.price_change_percent::float8);
        END IF;
    END IF;
    IF p_command <> '' THEN  -- products this operation changed, this one included; counted up to the limit + 1
        SELECT count(*) + 1 INTO products FROM (
            SELECT DISTINCT c.sku FROM changes c
            WHERE c.merchant_id = p_merchant AND c.command_id = p_command AND c.command_id <> '' AND c.sku <> p_sku
            LIMIT pol.bulk_threshold) s;
    END IF;
    products := greatest(products, coalesce(p_bulk_size, 0));
    IF products > pol.bulk_threshold THEN
        rules := rules || 'bulk'::text;
        reasons := reasons || format('the change covers %s products (limit %s without a confirmation)',
                                     products, pol.bulk_threshold);
    END IF;
    IF cardinality(rules) = 0 THEN
        RETURN QUERY SELECT NULL::text, NULL::text;
    ELSE
        RETURN QUERY SELECT array_to_string(rules, ','), array_to_string(reasons, '; ');
    END IF;
END;
$$;

-- The fast path's statements with the guard in front (services/catalog/fastpath.py):
-- lock, key, then the guard, then 0004's apply_variant_change, which takes the lock again
-- (already held) and does everything else in its own order. A replay, an unknown SKU, a
-- stale version or a value the price and stock rules refuse is left to it, so those
-- answers stay what they were; a change a rule asks about and nobody confirmed comes back
-- as one row with outcome 'guarded' (detail: the rule, response: the reason) and writes
-- nothing. An applied change records who confirmed it and which rule asked.
CREATE FUNCTION guarded_variant_change(
    p_confirmed_by text,
    p_bulk_size int,
    p_merchant text,
    p_key text,
    p_method text,
    p_hash bytea,
    p_sku text,
    p_expected bigint,
    p_price numeric,
    p_currencies text[],
    p_digits int[],
    p_ceiling numeric,
    p_quantity bigint,
    p_delta bigint,
    p_max_quantity bigint,
    p_change_id uuid,
    p_user text,
    p_command text,
    p_event_head bytea,
    p_event_id uuid,
    p_stream text
) RETURNS SETOF variant_change LANGUAGE plpgsql AS $$
DECLARE
    before variants%ROWTYPE;
    g_rule text;
    g_reason text;
    answer variant_change;
    answers variant_change[];
BEGIN
    SELECT * INTO before FROM variants x WHERE x.merchant_id = p_merchant AND x.sku = p_sku FOR UPDATE;
    IF FOUND
       AND NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.merchant_id = p_merchant AND k.key = p_key)
       AND (p_expected IS NULL OR before.version = p_expected)
       AND (p_price IS NULL OR (p_price >= 0 AND p_price <= p_ceiling
                                AND before.currency_code = ANY (p_currencies))) THEN
        SELECT g.rule, g.reason INTO g_rule, g_reason FROM guardrail_check(p_merchant, p_sku, p_command,
            CASE WHEN p_price IS NULL THEN NULL ELSE before.price END, p_price, p_bulk_size) g;
        IF g_rule IS NOT NULL AND p_confirmed_by = '' THEN
            answer.outcome := 'guarded';
            answer.detail := g_rule;
            answer.response := convert_to(g_reason, 'UTF8');
            RETURN NEXT answer;
            RETURN;
        END IF;
    END IF;
    SELECT array_agg(r) INTO answers FROM apply_variant_change(
        p_merchant, p_key, p_method, p_hash, p_sku, p_expected, p_price, p_currencies, p_digits, p_ceiling,
        p_quantity, p_delta, p_max_quantity, p_change_id, p_user, p_command, p_event_head, p_event_id, p_stream) r;
    IF answers[1].outcome = 'ok' AND (p_confirmed_by <> '' OR g_rule IS NOT NULL) THEN
        UPDATE changes SET confirmed_by = p_confirmed_by, rule = coalesce(g_rule, '')
        WHERE merchant_id = p_merchant AND change_id = p_change_id;
    END IF;
    -- An applied change tells the caller (detail) which rule asked; a replay does not.
    RETURN QUERY SELECT a.outcome, CASE WHEN a.outcome = 'ok' THEN g_rule ELSE a.detail END, a.response,
        a.change_id, a.old_price, a.old_on_hand, a.sku, a.product_id, a.option_title, a.price, a.compare_at_price,
        a.currency_code, a.on_hand, a.committed, a.version, a.title, a.description, a.status, a.product_version,
        a.created_at, a.updated_at
    FROM unnest(answers) a;
END;
$$;

-- 0005's apply_price_adjustment, guarded: the new price read off the locked row as 0005
-- does, then guarded_variant_change as a SetPrice would be.
CREATE FUNCTION guarded_price_adjustment(
    p_confirmed_by text,
    p_bulk_size int,
    p_merchant text,
    p_key text,
    p_method text,
    p_hash bytea,
    p_sku text,
    p_expected bigint,
    p_percent numeric,
    p_delta numeric,
    p_currencies text[],
    p_digits int[],
    p_ceiling numeric,
    p_max_quantity bigint,
    p_change_id uuid,
    p_user text,
    p_command text,
    p_event_head bytea,
    p_event_id uuid,
    p_stream text
) RETURNS SETOF variant_change LANGUAGE plpgsql AS $$
DECLARE
    old_price numeric;
    currency text;
    new_price numeric;
BEGIN
    SELECT x.price, x.currency_code INTO old_price, currency
    FROM variants x WHERE x.merchant_id = p_merchant AND x.sku = p_sku FOR UPDATE;
    IF p_percent IS NOT NULL THEN
        new_price := round_half_even(old_price * (1 + p_percent / 100),
                                     p_digits[array_position(p_currencies, currency)]);
    ELSE
        new_price := old_price + p_delta;
    END IF;
    RETURN QUERY SELECT * FROM guarded_variant_change(
        p_confirmed_by, p_bulk_size, p_merchant, p_key, p_method, p_hash, p_sku, p_expected,
        coalesce(new_price, -1), p_currencies, p_digits, p_ceiling, NULL, NULL, p_max_quantity, p_change_id,
        p_user, p_command, p_event_head, p_event_id, p_stream);
END;
$$;
