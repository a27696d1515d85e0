-- Undo needs to know exactly what a change did and whether anything touched the
-- SKU since; reservations hold stock for orders; search needs a normalised key.

-- Which RPC made the change, the version of the variant (or product, for status)
-- it left behind, the order of changes inside one transaction, and undo links.
ALTER TABLE changes ADD COLUMN seq bigserial;
ALTER TABLE changes ADD COLUMN method text NOT NULL DEFAULT '';
ALTER TABLE changes ADD COLUMN version_after bigint NOT NULL DEFAULT 0;
ALTER TABLE changes ADD COLUMN undo_of uuid REFERENCES changes (change_id);
DROP INDEX changes_by_user;
CREATE INDEX changes_by_user ON changes (merchant_id, user_id, seq DESC);

-- Titles folded for search: NFKC (full-width to half-width) then casefold,
-- computed in Python (services.catalog.search.fold) so query and column agree.
ALTER TABLE products ADD COLUMN search_key text NOT NULL DEFAULT '';
-- A variant's own option name ("Red / L"); the product title stays the main name.
ALTER TABLE variants ADD COLUMN option_title text NOT NULL DEFAULT '';

-- One decision per order: reserved (holding stock), refused (held nothing),
-- released (cancelled before shipping) or committed (shipped).
CREATE TABLE reservations (
    merchant_id text NOT NULL,
    order_id    text NOT NULL,
    status      text NOT NULL CHECK (status IN ('reserved', 'refused', 'released', 'committed')),
    reason      text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, order_id)
);

-- Per SKU of an order: units still held (committed on the variant), units
-- shipped (left on_hand at commit) and units put back by restocking refunds.
CREATE TABLE reservation_lines (
    merchant_id text NOT NULL,
    order_id    text NOT NULL,
    sku         text NOT NULL,
    reserved    bigint NOT NULL CHECK (reserved >= 0),
    shipped     bigint NOT NULL DEFAULT 0 CHECK (shipped >= 0),
    restocked   bigint NOT NULL DEFAULT 0 CHECK (restocked >= 0 AND restocked <= shipped),
    PRIMARY KEY (merchant_id, order_id, sku),
    FOREIGN KEY (merchant_id, order_id) REFERENCES reservations (merchant_id, order_id)
);
