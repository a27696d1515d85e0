-- SetPrice, SetStock and AdjustStock in one statement, so in one round trip and,
-- run in autocommit, one transaction: `apply_variant_change` supersedes 0003's
-- `change_variant` and also writes what services/catalog/fastpath.py wrote in a
-- second statement: the history row, the outbox event and the stored reply.
--
-- What Python used to compute from the row after the change is computed here:
-- - the history's old and new values, formatted as shopvoice.money.format_amount;
-- - the event: Python serialises the envelope (id, shop, time, trace: fields 1-4
--   of shopvoice.events.v1.Event) and this appends PriceChanged (field 10) or
--   StockChanged (11) in the protobuf wire format. Python writes fields in number
--   order and leaves out defaults (0, ""), so the bytes equal Python's own;
--   tests/catalog/test_fast_path_sql.py checks that byte for byte;
-- - the reply to replay: the product's rows as this call returned them, kept as
--   jsonb in idempotency_keys.replay_rows; a replay returns them again and the
--   service builds the same reply from them (the general path keeps storing the
--   serialised reply in `response`, and a replay here returns that when set).
--
-- The order of checks is the general path's: lock, key, exists, version, rules.
-- The key is looked up first and inserted last, with the change: a call that is
-- refused writes nothing, so nothing needs rolling back. Two calls with one key
-- and one SKU serialise on the row lock (the second then replays); with one key
-- and two SKUs (a reuse) the second waits on the key's primary key and fails
-- with a unique violation, and the whole statement rolls back.
--
-- Outcomes (one row, except ok and replay, which return every variant of the
-- product, the changed SKU first):
--   ok         changed
--   replay     the key was used before with these arguments: its first rows, or
--              `response` (the serialised first reply of the general path)
--   reused     the key was used before with other arguments; detail = its method
--   not_found  no such SKU in this shop
--   stale      expected version differs; detail = the current version
--   refused    a row-dependent rule refused the change: the variant's row, for
--              the caller to explain with the general path's own checks
-- Unqualified names resolve through the session's search_path (the catalog schema).

ALTER TABLE idempotency_keys ADD COLUMN replay_rows jsonb;

-- Protocol Buffers wire format (protobuf.dev/programming-guides/encoding), only
-- what PriceChanged and StockChanged need: varints of numbers that are never
-- negative here, and length-delimited strings and messages. The helpers are
-- plpgsql, not sql: a sql function that is not inlined is parsed and planned
-- again on every call, which measured as half of Postgres' CPU for a SetPrice.
CREATE FUNCTION pb_varint(n bigint) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    encoded bytea := ''::bytea;
BEGIN
    IF n < 0 THEN
        RAISE EXCEPTION 'pb_varint(%): negative numbers are not encoded here', n;
    END IF;
    WHILE n >= 128 LOOP  -- seven bits a byte, low first, the high bit says "more follows"
        encoded := encoded || set_byte('\x00'::bytea, 0, (n % 128 + 128)::int);
        n := n / 128;
    END LOOP;
    RETURN encoded || set_byte('\x00'::bytea, 0, n::int);
END;
$$;

-- An integer field (wire type 0); proto3 leaves out a 0.
CREATE FUNCTION pb_uint(field int, n bigint) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN CASE WHEN n = 0 THEN ''::bytea ELSE pb_varint(field * 8) || pb_varint(n) END;
END;
$$;

-- A message field (wire type 2): written even when empty, as a set message is.
CREATE FUNCTION pb_message(field int, body bytea) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN pb_varint(field * 8 + 2) || pb_varint(length(body)) || body;
END;
$$;

-- A string field (wire type 2, UTF-8); proto3 leaves out "".
CREATE FUNCTION pb_string(field int, s text) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN CASE WHEN s = '' THEN ''::bytea ELSE pb_message(field, convert_to(s, 'UTF8')) END;
END;
$$;

-- shopvoice.common.v1.Money as shopvoice.money.from_decimal makes it: units
-- truncated toward zero, nanos the rest.
CREATE FUNCTION pb_money(amount numeric, currency text) RETURNS bytea LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN pb_string(1, currency) || pb_uint(2, trunc(amount)::bigint)
        || pb_uint(3, trunc((amount - trunc(amount)) * 1000000000)::bigint);
END;
$$;

-- shopvoice.money.format_amount: fixed point at the currency's minor digits,
-- a tie rounded to the even digit (banker's rounding), as Python's quantize.
CREATE FUNCTION format_amount(amount numeric, digits int) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN CASE
        WHEN abs(amount * 10::numeric ^ digits) % 1 = 0.5 AND trunc(amount * 10::numeric ^ digits) % 2 = 0
            THEN trunc(amount, digits)
        ELSE round(amount, digits)
    END::text;
END;
$$;

-- One row of apply_variant_change's answer (see the outcomes above).
CREATE TYPE variant_change AS (
    outcome text, detail text, response bytea, change_id uuid, old_price numeric, old_on_hand bigint,
    sku text, product_id uuid, option_title text, price numeric, compare_at_price numeric, currency_code text,
    on_hand bigint, committed bigint, version bigint, title text, description text, status text,
    product_version bigint, created_at timestamptz, updated_at timestamptz
);

-- 0003's change_variant stays while replicas of the previous version may still
-- call it during a rolling update; a later migration drops it.

CREATE FUNCTION apply_variant_change(
    p_merchant text,
    p_key text,
    p_method text,
    p_hash bytea,
    p_sku text,
    p_expected bigint,
    p_price numeric,          -- SetPrice: the new price, or NULL
    p_currencies text[],      -- currencies whose minor unit can hold p_price exactly
    p_digits int[],           -- the minor digits of each of p_currencies
    p_ceiling numeric,
    p_quantity bigint,        -- SetStock: the new on-hand count, or NULL
    p_delta bigint,           -- AdjustStock: the change of on-hand, or NULL
    p_max_quantity bigint,
    p_change_id uuid,         -- the history row's id, made by the caller
    p_user text,
    p_command text,
    p_event_head bytea,       -- the serialised Event envelope (fields 1-4)
    p_event_id uuid,          -- its event_id
    p_stream text
) RETURNS SETOF variant_change LANGUAGE plpgsql AS $$
DECLARE
    before variants%ROWTYPE;
    sku_found boolean;
    stored record;
    answer variant_change;
    answers variant_change[];
    allowed boolean;  -- the row-dependent rules pass
    target bigint;    -- the new on-hand count
    digits int;       -- the minor digits of the variant's currency
BEGIN
    SELECT * INTO before FROM variants x WHERE x.merchant_id = p_merchant AND x.sku = p_sku FOR UPDATE;
    sku_found := FOUND;

    SELECT k.method, k.request_hash, k.response, k.replay_rows INTO stored
    FROM idempotency_keys k WHERE k.merchant_id = p_merchant AND k.key = p_key;
    IF FOUND THEN
        IF stored.method <> p_method OR stored.request_hash <> p_hash THEN
            answer.outcome := 'reused';
            answer.detail := stored.method;
            RETURN NEXT answer;
        ELSIF stored.replay_rows IS NOT NULL THEN
            FOR answer IN SELECT * FROM jsonb_populate_recordset(NULL::variant_change, stored.replay_rows) LOOP
                answer.outcome := 'replay';
                RETURN NEXT answer;
            END LOOP;
        ELSE
            answer.outcome := 'replay';
            answer.response := coalesce(stored.response, ''::bytea);
            RETURN NEXT answer;
        END IF;
        RETURN;
    END IF;

    IF NOT sku_found THEN
        answer.outcome := 'not_found';
        RETURN NEXT answer;
        RETURN;
    END IF;

    IF p_expected IS NOT NULL AND before.version <> p_expected THEN
        answer.outcome := 'stale';
        answer.detail := before.version::text;
        RETURN NEXT answer;
        RETURN;
    END IF;

    IF p_price IS NOT NULL THEN
        digits := p_digits[array_position(p_currencies, before.currency_code)];
        allowed := digits IS NOT NULL AND p_price >= 0 AND p_price <= p_ceiling;
    ELSE
        target := coalesce(p_quantity, before.on_hand + p_delta);
        allowed := target >= 0 AND target <= p_max_quantity AND target >= before.committed;
    END IF;
    IF NOT coalesce(allowed, false) THEN
        answer := ROW('refused', NULL, NULL, NULL, before.price, before.on_hand, before.sku, before.product_id,
                      before.option_title, before.price, before.compare_at_price, before.currency_code,
                      before.on_hand, before.committed, before.version, NULL, NULL, NULL, NULL, NULL, NULL);
        RETURN NEXT answer;
        RETURN;
    END IF;

    IF p_price IS NOT NULL THEN
        UPDATE variants x SET price = p_price, version = x.version + 1, updated_at = now()
        WHERE x.merchant_id = p_merchant AND x.sku = p_sku;
        INSERT INTO changes (change_id, merchant_id, sku, kind, old_value, new_value, user_id, command_id,
                             method, version_after)
        VALUES (p_change_id, p_merchant, p_sku, 'price', format_amount(before.price, digits),
                format_amount(p_price, digits), p_user, p_command, p_method, before.version + 1);
        INSERT INTO outbox (event_id, merchant_id, stream, payload)
        VALUES (p_event_id, p_merchant, p_stream, p_event_head || pb_message(10,
            pb_string(1, p_sku)
            || pb_message(2, pb_money(before.price, before.currency_code))
            || pb_message(3, pb_money(p_price, before.currency_code))
            || pb_string(4, p_change_id::text)));
    ELSE
        UPDATE variants x SET on_hand = target, version = x.version + 1, updated_at = now()
        WHERE x.merchant_id = p_merchant AND x.sku = p_sku;
        INSERT INTO changes (change_id, merchant_id, sku, kind, old_value, new_value, user_id, command_id,
                             method, version_after)
        VALUES (p_change_id, p_merchant, p_sku, 'stock', before.on_hand::text, target::text, p_user,
                p_command, p_method, before.version + 1);
        INSERT INTO outbox (event_id, merchant_id, stream, payload)
        VALUES (p_event_id, p_merchant, p_stream, p_event_head || pb_message(11,
            pb_string(1, p_sku)
            || pb_uint(2, target)
            || pb_uint(3, before.committed)
            || pb_uint(4, target - before.committed)
            || pb_string(5, p_change_id::text)));
    END IF;

    SELECT array_agg(ROW('ok', NULL, NULL, p_change_id, before.price, before.on_hand, w.sku, w.product_id,
                         w.option_title, w.price, w.compare_at_price, w.currency_code, w.on_hand, w.committed,
                         w.version, p.title, p.description, p.status, p.version, p.created_at,
                         p.updated_at)::variant_change
                     ORDER BY w.sku <> p_sku, w.sku)
    INTO answers
    FROM variants w JOIN products p ON p.merchant_id = w.merchant_id AND p.product_id = w.product_id
    WHERE w.merchant_id = p_merchant AND w.product_id = before.product_id;

    INSERT INTO idempotency_keys (merchant_id, key, method, request_hash, replay_rows)
    VALUES (p_merchant, p_key, p_method, p_hash, to_jsonb(answers));
    RETURN QUERY SELECT * FROM unnest(answers);
END;
$$;
