-- The hot path of SetPrice, SetStock and AdjustStock in one round trip: lock the
-- variant, claim the idempotency key, check the expected version and the
-- row-dependent rules, update the variant, and return the product's rows.
-- services/catalog/fastpath.py calls it inside its transaction and then writes
-- the history row, the outbox event and the stored response in one statement.
--
-- Outcomes (one row, unless 'ok'):
--   replay     the key was used before with these arguments; response = the first result
--   reused     the key was used before with other arguments; detail = its method
--   not_found  no such SKU in this shop
--   stale      expected version differs; detail = the current version
--   refused    a row-dependent rule refused the change (the caller explains which,
--              from the returned row, with the same checks as the general path)
--   ok         changed: every variant row of the product, old_price/old_on_hand set
-- Nothing but the key's claim was written for a non-ok outcome; the caller
-- rolls back. The order of checks is the general path's: lock, claim, exists,
-- version, rules.
-- Unqualified names resolve through the session's search_path (the catalog schema).

CREATE FUNCTION change_variant(
    p_merchant text,
    p_key text,
    p_method text,
    p_hash bytea,
    p_sku text,
    p_expected bigint,
    p_price numeric,          -- SetPrice: the new price, or NULL
    p_currencies text[],      -- currencies whose minor unit can hold p_price exactly
    p_ceiling numeric,
    p_quantity bigint,        -- SetStock: the new on-hand count, or NULL
    p_delta bigint,           -- AdjustStock: the change of on-hand, or NULL
    p_max_quantity bigint
) RETURNS TABLE (
    outcome text, detail text, response bytea, old_price numeric, old_on_hand bigint,
    sku text, product_id uuid, option_title text, price numeric, compare_at_price numeric, currency_code text,
    on_hand bigint, committed bigint, version bigint, title text, description text, status text,
    product_version bigint, created_at timestamptz, updated_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v variants%ROWTYPE;
    found_row boolean;
    c record;
    target bigint;
BEGIN
    SELECT * INTO v FROM variants x WHERE x.merchant_id = p_merchant AND x.sku = p_sku FOR UPDATE;
    found_row := FOUND;

    INSERT INTO idempotency_keys (merchant_id, key, method, request_hash)
    VALUES (p_merchant, p_key, p_method, p_hash) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT k.method, k.request_hash, k.response INTO c
        FROM idempotency_keys k WHERE k.merchant_id = p_merchant AND k.key = p_key;
        IF c.method <> p_method OR c.request_hash <> p_hash THEN
            RETURN QUERY SELECT 'reused'::text, c.method, NULL::bytea, NULL::numeric, NULL::bigint,
                NULL::text, NULL::uuid, NULL::text, NULL::numeric, NULL::numeric, NULL::text, NULL::bigint,
                NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::bigint,
                NULL::timestamptz, NULL::timestamptz;
        ELSE
            RETURN QUERY SELECT 'replay'::text, NULL::text, coalesce(c.response, ''::bytea), NULL::numeric,
                NULL::bigint, NULL::text, NULL::uuid, NULL::text, NULL::numeric, NULL::numeric, NULL::text,
                NULL::bigint, NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::bigint,
                NULL::timestamptz, NULL::timestamptz;
        END IF;
        RETURN;
    END IF;

    IF NOT found_row THEN
        RETURN QUERY SELECT 'not_found'::text, NULL::text, NULL::bytea, NULL::numeric, NULL::bigint,
            NULL::text, NULL::uuid, NULL::text, NULL::numeric, NULL::numeric, NULL::text, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::bigint,
            NULL::timestamptz, NULL::timestamptz;
        RETURN;
    END IF;

    IF p_expected IS NOT NULL AND v.version <> p_expected THEN
        RETURN QUERY SELECT 'stale'::text, v.version::text, NULL::bytea, NULL::numeric, NULL::bigint,
            NULL::text, NULL::uuid, NULL::text, NULL::numeric, NULL::numeric, NULL::text, NULL::bigint,
            NULL::bigint, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::bigint,
            NULL::timestamptz, NULL::timestamptz;
        RETURN;
    END IF;

    IF p_price IS NOT NULL THEN
        IF NOT (v.currency_code = ANY (p_currencies)) OR p_price < 0 OR p_price > p_ceiling THEN
            RETURN QUERY SELECT 'refused'::text, NULL::text, NULL::bytea, v.price, v.on_hand,
                v.sku, v.product_id, v.option_title, v.price, v.compare_at_price, v.currency_code, v.on_hand,
                v.committed, v.version, NULL::text, NULL::text, NULL::text, NULL::bigint,
                NULL::timestamptz, NULL::timestamptz;
            RETURN;
        END IF;
        UPDATE variants x SET price = p_price, version = x.version + 1, updated_at = now()
        WHERE x.merchant_id = p_merchant AND x.sku = p_sku;
    ELSE
        target := coalesce(p_quantity, v.on_hand + p_delta);
        IF target IS NULL OR target < 0 OR target > p_max_quantity OR target < v.committed THEN
            RETURN QUERY SELECT 'refused'::text, NULL::text, NULL::bytea, v.price, v.on_hand,
                v.sku, v.product_id, v.option_title, v.price, v.compare_at_price, v.currency_code, v.on_hand,
                v.committed, v.version, NULL::text, NULL::text, NULL::text, NULL::bigint,
                NULL::timestamptz, NULL::timestamptz;
            RETURN;
        END IF;
        UPDATE variants x SET on_hand = target, version = x.version + 1, updated_at = now()
        WHERE x.merchant_id = p_merchant AND x.sku = p_sku;
    END IF;

    RETURN QUERY
        SELECT 'ok'::text, NULL::text, NULL::bytea, v.price, v.on_hand,
            w.sku, w.product_id, w.option_title, w.price, w.compare_at_price, w.currency_code, w.on_hand,
            w.committed, w.version, p.title, p.description, p.status, p.version, p.created_at, p.updated_at
        FROM variants w JOIN products p ON p.merchant_id = w.merchant_id AND p.product_id = w.product_id
        WHERE w.merchant_id = p_merchant AND w.product_id = v.product_id
        ORDER BY w.sku <> p_sku, w.sku;
END;
$$;
