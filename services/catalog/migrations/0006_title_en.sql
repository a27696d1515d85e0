-- Products named in both languages (issue 26): the shop's own title stays in `title`; the
-- English title, when the merchant gave one, is nameable too ("the red t-shirt").
ALTER TABLE products ADD COLUMN IF NOT EXISTS title_en text NOT NULL DEFAULT '';
