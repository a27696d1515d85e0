-- Product facts (material, capacity, care, sizes, what is in the box, ...): one value per
-- product, fact name and language, written by the merchant; the customer channel answers
-- from them (services/catalog/facts.py). A fact belongs to the product, not to one SKU.
CREATE TABLE product_facts (
    merchant_id text NOT NULL,
    product_id  uuid NOT NULL,
    name        text NOT NULL,
    language    text NOT NULL CHECK (language IN ('zh', 'en')),
    value       text NOT NULL CHECK (value <> ''),
    updated_by  text NOT NULL DEFAULT '',
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (merchant_id, product_id, name, language),
    FOREIGN KEY (merchant_id, product_id) REFERENCES products (merchant_id, product_id)
);
