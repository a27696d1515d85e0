-- AdjustPrice joins SetPrice, SetStock and AdjustStock on the one-statement path
-- (services/catalog/fastpath.py). It was the last hot-path call still taking the
-- general path's ten round trips, and it is what a merchant says most ("raise A100
-- by 5%", "打八折"). `apply_price_adjustment` reads the new price off the locked row
-- and hands it to 0004's `apply_variant_change` as a SetPrice would, so the key,
-- version and rule checks, the history row, the event and the stored reply are
-- 0004's own, in 0004's order.
--
-- The price is computed as services/catalog/pricing.adjusted_price does:
--   percent  old × (1 + percent / 100), rounded half-even to the currency's minor
--            unit (shopvoice.money.quantize). Python sends only percents with at
--            most 4 decimals here, so numeric's division by 100 is exact and both
--            sides round the same exact product;
--   delta    old + delta, valid only in the currencies whose minor unit holds the
--            delta exactly (p_currencies, as for a SetPrice price).

-- shopvoice.money.quantize: a tie rounded to the even digit, as Python's ROUND_HALF_EVEN.
CREATE FUNCTION round_half_even(amount numeric, digits int) RETURNS numeric LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN CASE
        WHEN abs(amount * 10::numeric ^ digits) % 1 = 0.5 AND trunc(amount * 10::numeric ^ digits) % 2 = 0
            THEN trunc(amount, digits)
        ELSE round(amount, digits)
    END;
END;
$$;

-- 0004's format_amount, now written with round_half_even (same text for every input).
CREATE OR REPLACE FUNCTION format_amount(amount numeric, digits int) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN round_half_even(amount, digits)::text;
END;
$$;

CREATE FUNCTION apply_price_adjustment(
    p_merchant text,
    p_key text,
    p_method text,
    p_hash bytea,
    p_sku text,
    p_expected bigint,
    p_percent numeric,        -- a percent (-100 to 1000, at most 4 decimals), or NULL
    p_delta numeric,          -- an amount to add, or NULL
    p_currencies text[],      -- where the delta is valid; for a percent, every known currency
    p_digits int[],           -- the minor digits of each of p_currencies
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
    -- apply_variant_change's own first step, taken here so that the price read is the
    -- one changed; it takes the lock again, which this transaction already holds.
    SELECT x.price, x.currency_code INTO old_price, currency
    FROM variants x WHERE x.merchant_id = p_merchant AND x.sku = p_sku FOR UPDATE;
    IF p_percent IS NOT NULL THEN
        new_price := round_half_even(old_price * (1 + p_percent / 100),
                                     p_digits[array_position(p_currencies, currency)]);
    ELSE
        new_price := old_price + p_delta;
    END IF;
    -- NULL (no such SKU, or a currency p_currencies lacks) would read as "not a
    -- price change"; -1 is refused by the price rule, after the key and the SKU
    -- are looked up, so the answer is still replay, not_found or refused.
    RETURN QUERY SELECT * FROM apply_variant_change(
        p_merchant, p_key, p_method, p_hash, p_sku, p_expected, coalesce(new_price, -1), p_currencies, p_digits,
        p_ceiling, NULL, NULL, p_max_quantity, p_change_id, p_user, p_command, p_event_head, p_event_id, p_stream);
END;
$$;
