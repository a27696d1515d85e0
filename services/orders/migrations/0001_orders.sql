-- Orders schema: orders with their lines, shipments and refunds, per-merchant
-- order numbers, and the sales rollups the reports read.

-- Per merchant: the last order number handed out (merchants say "order 1234":
-- ids are per-merchant sequential numbers) and the one currency the shop sells
-- in, fixed by its first order, so reports never add yuan to dollars.
CREATE TABLE merchants (
    merchant_id   text PRIMARY KEY,
    last_order_id bigint NOT NULL,
    currency_code text NOT NULL
);

CREATE TABLE orders (
    merchant_id        text NOT NULL,
    order_id           bigint NOT NULL,
    customer_ref       text NOT NULL DEFAULT '',
    currency_code      text NOT NULL,
    total              numeric(20, 4) NOT NULL CHECK (total >= 0),
    refunded           numeric(20, 4) NOT NULL DEFAULT 0 CHECK (refunded >= 0),
    units              bigint NOT NULL CHECK (units > 0),
    payment_status     text NOT NULL
        CHECK (payment_status IN ('pending', 'paid', 'partially_refunded', 'refunded', 'voided')),
    fulfillment_status text NOT NULL
        CHECK (fulfillment_status IN ('unfulfilled', 'confirmed', 'shipped', 'delivered', 'cancelled')),
    reservation_status text NOT NULL
        CHECK (reservation_status IN ('none', 'pending', 'reserved', 'refused', 'released', 'committed')),
    reservation_reason text NOT NULL DEFAULT '',
    cancel_reason      text NOT NULL DEFAULT '',
    rating             smallint CHECK (rating BETWEEN 1 AND 5),
    review             text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (merchant_id, order_id),
    -- never refund more than was paid
    CHECK (refunded <= total)
);
-- list_orders by period, and by the statuses a merchant asks about.
CREATE INDEX orders_by_created ON orders (merchant_id, created_at);
CREATE INDEX orders_by_payment ON orders (merchant_id, payment_status, order_id);
CREATE INDEX orders_by_fulfillment ON orders (merchant_id, fulfillment_status, order_id);

CREATE TABLE order_lines (
    merchant_id text NOT NULL,
    order_id    bigint NOT NULL,
    line_no     smallint NOT NULL,
    sku         text NOT NULL,
    title       text NOT NULL,  -- at purchase
    quantity    bigint NOT NULL CHECK (quantity > 0),
    unit_price  numeric(20, 4) NOT NULL CHECK (unit_price >= 0),
    restocked   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, order_id, line_no),
    FOREIGN KEY (merchant_id, order_id) REFERENCES orders (merchant_id, order_id),
    CHECK (restocked BETWEEN 0 AND quantity)
);
-- the title a SKU was last sold under (top products)
CREATE INDEX order_lines_by_sku ON order_lines (merchant_id, sku, order_id DESC);

CREATE TABLE shipments (
    merchant_id     text NOT NULL,
    order_id        bigint NOT NULL,
    shipment_no     smallint NOT NULL,
    carrier         text NOT NULL DEFAULT '',
    tracking_number text NOT NULL DEFAULT '',
    shipped_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, order_id, shipment_no),
    FOREIGN KEY (merchant_id, order_id) REFERENCES orders (merchant_id, order_id)
);

CREATE TABLE refunds (
    merchant_id text NOT NULL,
    refund_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    order_id    bigint NOT NULL,
    amount      numeric(20, 4) NOT NULL CHECK (amount > 0),
    restock     boolean NOT NULL DEFAULT false,
    restocked   jsonb NOT NULL DEFAULT '[]',  -- [{"sku": ..., "quantity": ...}]
    reason      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, refund_id),
    FOREIGN KEY (merchant_id, order_id) REFERENCES orders (merchant_id, order_id)
);
CREATE INDEX refunds_by_order ON refunds (merchant_id, order_id, created_at);

-- Sales rollup, maintained in the transaction of every change to an order
-- (services/orders/rollup.py). sku '*' is the whole shop. Buckets are UTC:
-- grain 'd' = a UTC day, 'q' = a UTC quarter hour. A report period (local
-- midnights in an IANA zone; every offset in use is a multiple of 15 minutes)
-- is the whole UTC days inside it plus the quarter hours at its two ends: exact
-- in every zone, and a month is ~30 day rows plus at most 192 quarter rows.
CREATE TABLE sales_rollup (
    merchant_id  text NOT NULL,
    grain        "char" NOT NULL CHECK (grain IN ('d', 'q')),
    bucket       timestamptz NOT NULL,
    sku          text NOT NULL,
    orders       bigint NOT NULL DEFAULT 0,
    units        bigint NOT NULL DEFAULT 0,
    revenue      numeric(20, 4) NOT NULL DEFAULT 0,  -- net of refunds
    rating_sum   bigint NOT NULL DEFAULT 0,
    rating_count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, grain, bucket, sku)
);
-- The shop's ('*') or one SKU's figures over a period: index-only range scans.
CREATE INDEX sales_rollup_by_sku ON sales_rollup (merchant_id, sku, grain, bucket)
    INCLUDE (orders, units, revenue, rating_sum, rating_count);
