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
    carrier            text NOT NULL DEFAULT '',  -- an order ships once, as a whole
    tracking_number    text NOT NULL DEFAULT '',
    shipped_at         timestamptz,
    rating             smallint CHECK (rating BETWEEN 1 AND 5),
    review             text NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    version            bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (merchant_id, order_id),
    -- never refund more than was paid
    CHECK (refunded <= total)
);
-- list_orders by period, and the ends of report periods (analytics.py) as
-- index-only scans.
CREATE INDEX orders_by_created ON orders (merchant_id, created_at)
    INCLUDE (payment_status, units, total, refunded, rating);
-- The statuses a merchant asks about are the rare ones: small partial indexes.
CREATE INDEX orders_to_ship ON orders (merchant_id, order_id) WHERE fulfillment_status IN ('unfulfilled', 'confirmed');
CREATE INDEX orders_unpaid ON orders (merchant_id, order_id) WHERE payment_status = 'pending';
CREATE INDEX orders_refunded ON orders (merchant_id, order_id)
    WHERE payment_status IN ('refunded', 'partially_refunded');
CREATE INDEX orders_cancelled ON orders (merchant_id, order_id) WHERE fulfillment_status = 'cancelled';

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
    -- No foreign key to orders: lines are written only with their order, in its
    -- transaction (store.insert), and the per-row check would cost a million-order
    -- seed more than the rest of its load.
    CHECK (restocked BETWEEN 0 AND quantity)
);

-- The title each SKU was last sold under, for top products.
CREATE TABLE sku_titles (
    merchant_id text NOT NULL,
    sku         text NOT NULL,
    title       text NOT NULL,
    PRIMARY KEY (merchant_id, sku)
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
    PRIMARY KEY (merchant_id, refund_id)  -- written with its order's update (no FK, as order_lines)
);
CREATE INDEX refunds_by_order ON refunds (merchant_id, order_id, created_at);

-- Sales per UTC day, maintained in the transaction of every change to an order
-- (services/orders/rollup.py); sku '*' is the whole shop. A report period
-- (local midnights in any IANA zone) is the whole UTC days inside it, read here,
-- plus less than a day at each end, read from orders_by_created: a month is
-- ~30 rollup rows and two days of orders whatever the shop's history.
CREATE TABLE sales_daily (
    merchant_id  text NOT NULL,
    day          timestamptz NOT NULL,  -- 00:00 UTC
    sku          text NOT NULL,
    orders       bigint NOT NULL DEFAULT 0,
    units        bigint NOT NULL DEFAULT 0,
    revenue      numeric(20, 4) NOT NULL DEFAULT 0,  -- net of refunds
    rating_sum   bigint NOT NULL DEFAULT 0,
    rating_count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, day, sku)
);
-- The shop's ('*') or one SKU's days: index-only range scans.
CREATE INDEX sales_daily_by_sku ON sales_daily (merchant_id, sku, day)
    INCLUDE (orders, units, revenue, rating_sum, rating_count);
