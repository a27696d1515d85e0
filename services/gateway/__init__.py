"""Gateway: the public Assistant API. Authenticates, holds sessions, streams replies."""
