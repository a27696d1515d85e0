"""A circuit breaker for the LLM server: stop waiting on a server that keeps failing.

Closed: calls go through; ``failures`` consecutive failed calls open it. Open: calls
are refused at once (the caller falls back to the grammar's answer) for ``reset_s``.
Half-open: after the cool-down, one trial call goes through while others are still
refused; its success closes the breaker, its failure opens it for another cool-down.
Without it, every low-confidence utterance would wait the full deadline on a dead
server; with it, an outage costs ``failures`` deadlines and then nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum


class BreakerState(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Counts consecutive failures of whole calls (a retried call counts once)."""

    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1 or reset_s <= 0:
            raise ValueError("a breaker needs failures >= 1 and reset_s > 0")
        self.failures = failures
        self.reset_s = reset_s
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self.reset_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only the first caller's may."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._consecutive += 1
        if self._trial_in_flight or self._consecutive >= self.failures:
            self._opened_at = self._clock()
        self._trial_in_flight = False

    def abandon(self) -> None:
        """A call that ended without an outcome (cancelled): free the half-open trial slot."""
        self._trial_in_flight = False
