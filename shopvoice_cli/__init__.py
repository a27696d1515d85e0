"""The `shopvoice` command for people: say, up, demo, seed, token, parse."""
