"""Orders service: orders, their payment and fulfillment state machines, the stock
reservation saga with the catalog, refunds and sales analytics, in schema "orders"."""
