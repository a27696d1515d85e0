"""NLU service: text to typed command (normalise, grammar fast path, policy)."""
