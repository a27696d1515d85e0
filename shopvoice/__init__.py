"""shopvoice: the shared library (config, logs, gRPC bootstrap, Postgres, Redis Streams)
and the generated API stubs. The command for people is the package beside it, shopvoice_cli."""
