"""Catalog service: products, SKUs, prices and inventory, in Postgres schema "catalog"."""
