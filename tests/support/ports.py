"""Free ports for test and bench servers: the standard library only, so the vLLM venv can use it too."""

from __future__ import annotations

import contextlib
import random
import socket

# Ports this process has handed out: a port is free until its server binds it, so a second
# pick before that bind must not return it again.
_handed_out: set[int] = set()


def free_port() -> int:
    """A free port for one server (below the ephemeral range, see free_port_block)."""
    return free_port_block(1)


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports, below Linux's ephemeral range
    (32768 and up), so no outgoing connection takes one of them between this check and
    the server's bind (a port from bind(0) once was: "port ... is taken")."""
    rng = random.Random()
    for _ in range(100):
        base = rng.randrange(20000, 32768 - count)
        if _handed_out.intersection(range(base, base + count)):
            continue
        try:
            with contextlib.ExitStack() as held:
                for port in range(base, base + count):
                    held.enter_context(socket.socket()).bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.update(range(base, base + count))
        return base
    raise RuntimeError(f"no {count} consecutive free ports in 20000..32767")
