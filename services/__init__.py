"""shopvoice services: one package per service (DESIGN.md)."""
