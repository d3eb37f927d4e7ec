"""Keep CPython's garbage collector from walking, again and again, everything localcloud stores.

moto keeps every item, stream record, Kinesis record and S3 object as Python objects, so the server's heap
grows with every change: about a dozen tracked objects for each change written to a table with a stream. A full
collection walks every tracked object while it holds the GIL, and CPython runs one each time the heap has
grown by a quarter. Measured on the course machine, a full collection at 800,000 objects took 0.4 s, and a
30,000-change load paid 0.5-1.4 s of such pauses, with every request waiting through them.

That data lives until it is deleted, and then reference counting frees it; the collector is needed only for
reference cycles. So after each full collection the server freezes what survived it (gc.freeze), and later
collections skip those objects: a full collection walks only what was created since the last one.

The price: a cycle among frozen objects is not freed while they stay frozen. So every THAW_SECONDS, and on a
reset, the frozen objects are put back (gc.unfreeze); the next full collection walks everything once, frees
such cycles, and freezes the rest again.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

THAW_SECONDS = 600.0
OLDEST_GENERATION = 2


class FreezeSurvivors:
    """A gc callback: freezes what survived each full collection, and thaws it every thaw_seconds."""

    def __init__(self, thaw_seconds: float = THAW_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.thaw_seconds = thaw_seconds
        self.clock = clock
        self.last_thaw = clock()

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info["generation"] != OLDEST_GENERATION:
            return
        if self.clock() - self.last_thaw >= self.thaw_seconds:
            self.thaw()  # this collection skipped the frozen objects: the next one walks them
        else:
            gc.freeze()

    def thaw(self) -> None:
        gc.unfreeze()
        self.last_thaw = self.clock()


def freeze_survivors() -> FreezeSurvivors:
    """Install the policy for this process (once), and return it."""
    for callback in gc.callbacks:
        if isinstance(callback, FreezeSurvivors):
            return callback
    policy = FreezeSurvivors()
    gc.callbacks.append(policy)
    return policy


def thaw() -> None:
    """Put frozen objects back, so that the next full collection frees cycles among them (after a reset)."""
    for callback in gc.callbacks:
        if isinstance(callback, FreezeSurvivors):
            callback.thaw()
