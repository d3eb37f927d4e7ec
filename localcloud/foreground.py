"""Client requests come first; the engines' background work fits in around them.

moto and every engine share one Python process, so one GIL. An engine turning a burst of stream records
into Kinesis records holds the GIL for milliseconds, and a DynamoDB write that arrives meanwhile waits for
it: on the 2-core course machine the pipeline slowed batch_write_item ingest to about 0.6x of what it was
without one, although the server was idle a quarter of the time (between the client's calls). On AWS these
are separate services, and a pipe never slows down writes to its table.

So the HTTP server counts the client requests it is serving, from when their headers are read until their
response is sent (localcloud/http_server.py), and engines call `give_way()` between small pieces of work. When no client request is being served, it first lets go of the GIL for a moment: a request that has
just arrived cannot count itself until it holds the GIL, and Python takes the GIL from a busy thread only every
5 ms (sys.getswitchinterval()). Measured, a thread waking up beside a busy one waited 5.3 ms; when the busy thread
let go every 0.2 ms, 0.3 ms. If no request is being served then either, it returns; otherwise it waits until none
is, but at most MAX_WAIT_SECONDS, so background work is delayed, never starved. Requests the engines make
themselves (a Firehose invoking its Lambda, writing S3) carry ENGINE_USER_AGENT and are not counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

ENGINE_USER_AGENT = "localcloud-engine"
MAX_WAIT_SECONDS = 0.02
# Background work a thread does between two chances for requests to go first. Callers give way every so many
# items, and an item can cost 1 µs (a JSON object) or 30 µs (a pipe's record); giving way costs a GIL hand-over
# and often a wait, so a call that comes sooner than this after the thread's last one returns at once.
WORK_QUANTUM_SECONDS = 0.0005


class ForegroundRequests:
    """The number of client requests being served, and a way for background work to wait for none."""

    def __init__(self) -> None:
        self._serving = 0
        self._changed = threading.Condition()
        self._last_given = threading.local()  # per thread: time.perf_counter() when it last gave way

    @property
    def requests_in_flight(self) -> int:
        return self._serving

    @contextmanager
    def serving(self) -> Iterator[None]:
        with self._changed:
            self._serving += 1
        try:
            yield
        finally:
            with self._changed:
                self._serving -= 1
                if not self._serving:
                    self._changed.notify_all()

    def give_way(self, max_wait: float = MAX_WAIT_SECONDS) -> None:
        """Let a request that is waiting for the GIL in; then wait while requests are served, up to max_wait s.

        Returns at once if this thread gave way less than WORK_QUANTUM_SECONDS ago.
        """
        if time.perf_counter() - getattr(self._last_given, "at", -WORK_QUANTUM_SECONDS) < WORK_QUANTUM_SECONDS:
            return
        try:
            if not self._serving:
                time.sleep(0)  # lets go of the GIL: a thread waiting for it takes it now (sleeping 0.05 ms)
                if not self._serving:  # the common case: no lock
                    return
            with self._changed:
                self._changed.wait_for(lambda: not self._serving, timeout=max_wait)
        finally:
            self._last_given.at = time.perf_counter()


# One per process, like moto's backends: every engine and the router share it.
FOREGROUND = ForegroundRequests()


def is_engine_request(user_agent: str) -> bool:
    return ENGINE_USER_AGENT in user_agent
