"""Every Redis stream and key name shopvoice uses, built in this one place.

Each name starts with the deployment's STREAM_PREFIX ("sv" in deploy/k8s, one of its own
for each test), so deployments and tests sharing a Redis stay apart and one SCAN of
`{prefix}:*` finds everything shopvoice wrote. Keys that one Lua script or transaction
touches together carry the merchant in braces, `{merchant}`: Redis Cluster's hash tag,
which puts them in one slot.

Streams (who writes -> who reads):
- transcripts: gateway -> NLU (consumer group "nlu"), one Utterance per entry;
- results:<session>: NLU and worker -> the gateway process holding the session
  (the reply-stream protocol, shopvoice/replies.py);
- events:catalog, events:orders: each service's outbox relay -> the other services;
- alerts: the worker's periodic jobs -> whoever watches them;
- <stream>:dead: entries a consumer group gave up on (shopvoice/streams.py).
"""

from __future__ import annotations

from dataclasses import dataclass


def dead_letter(stream: str) -> str:
    """Where a consumer group moves an entry of `stream` that keeps failing."""
    return f"{stream}:dead"


@dataclass(frozen=True)
class RedisKeys:
    """The names under one deployment's prefix (RedisSettings.stream_prefix)."""

    prefix: str

    # -- streams ------------------------------------------------------------------------

    @property
    def transcripts(self) -> str:
        return f"{self.prefix}:transcripts"

    def results(self, session_id: str) -> str:
        """One session's reply stream; the gateway names it, each Utterance carries it."""
        return f"{self.prefix}:results:{session_id}"

    @property
    def catalog_events(self) -> str:
        return f"{self.prefix}:events:catalog"

    @property
    def orders_events(self) -> str:
        return f"{self.prefix}:events:orders"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}:alerts"

    def gateway_wake(self, process_id: str) -> str:
        """A gateway process's own stream, added to so that its blocked reply read returns."""
        return f"{self.prefix}:gateway-wake:{process_id}"

    # -- keys ---------------------------------------------------------------------------

    def session_slots(self, merchant_id: str) -> str:
        """Sorted set of a merchant's open sessions, across gateway replicas."""
        return f"{self.prefix}:sessions:{{{merchant_id}}}"

    def user_session_slots(self, merchant_id: str, user_id: str) -> str:
        """Sorted set of one user's open sessions (same hash slot as the merchant's: one script takes both)."""
        return f"{self.prefix}:sessions:{{{merchant_id}}}:user:{user_id}"

    def rate_limit(self, merchant_id: str) -> str:
        """Stem of a merchant's token buckets (the merchant's and its users')."""
        return f"{self.prefix}:rl:{{{merchant_id}}}"

    def merchant_settings(self, merchant_id: str) -> str:
        """Hash of a merchant's settings read by the gateway and the NLU (staff_may_refund = 1/0)."""
        return f"{self.prefix}:merchant:{merchant_id}:settings"

    def dialogue(self, session_id: str) -> str:
        """A session's dialogue state (the NLU's)."""
        return f"{self.prefix}:dialogue:{session_id}"

    def answered(self, merchant_id: str, utterance_id: str) -> str:
        """The reply of an utterance the NLU already answered, replayed on redelivery."""
        return f"{self.prefix}:answered:{merchant_id}:{utterance_id}"

    def worker(self, *parts: str) -> str:
        """A key of the worker's own (job state, alert flags)."""
        return ":".join((self.prefix, "worker", *parts))

    @property
    def celery(self) -> str:
        """Celery's global key prefix: broker queues and results."""
        return f"{self.prefix}:celery:"
