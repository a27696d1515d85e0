-- Catalog schema: merchants' settings, products, SKUs with price and inventory,
-- and the history of every price, stock and status change (for undo and audit).

CREATE TABLE merchants (
    merchant_id   text PRIMARY KEY,
    name          text NOT NULL,
    currency_code text NOT NULL DEFAULT 'CNY',
    time_zone     text NOT NULL DEFAULT 'Asia/Shanghai'
);

CREATE TABLE products (
    merchant_id  text NOT NULL,
    product_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    title        text NOT NULL,
    description  text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draft', 'archived')),
    version      bigint NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, product_id)
);

CREATE TABLE variants (
    merchant_id      text NOT NULL,
    sku              text NOT NULL,
    product_id       uuid NOT NULL,
    price            numeric(20, 4) NOT NULL CHECK (price >= 0),
    compare_at_price numeric(20, 4) CHECK (compare_at_price >= 0),
    currency_code    text NOT NULL,
    on_hand          bigint NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    committed        bigint NOT NULL DEFAULT 0 CHECK (committed >= 0),
    version          bigint NOT NULL DEFAULT 1,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, sku),
    FOREIGN KEY (merchant_id, product_id) REFERENCES products (merchant_id, product_id),
    -- available = on_hand - committed never goes below zero: never oversold.
    CHECK (committed <= on_hand)
);
CREATE INDEX variants_product ON variants (merchant_id, product_id);

CREATE TABLE changes (
    change_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    merchant_id  text NOT NULL,
    sku          text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('price', 'stock', 'status')),
    old_value    text NOT NULL,
    new_value    text NOT NULL,
    user_id      text NOT NULL DEFAULT '',
    command_id   text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    undone_by    uuid
);
CREATE INDEX changes_by_sku ON changes (merchant_id, sku, created_at DESC);
CREATE INDEX changes_by_user ON changes (merchant_id, user_id, created_at DESC);
