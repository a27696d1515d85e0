"""shopvoice: the shared library (config, logs, gRPC bootstrap, Postgres, Redis Streams),
the generated API stubs and the CLI."""
