"""Test support: real Postgres and Redis, real service processes."""
