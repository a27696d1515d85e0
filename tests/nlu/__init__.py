"""Tests of the NLU fast path (normalisation, grammar, CLI)."""
