"""Waiting for AWS to catch up, with a progress bar and a timeout that says what to check.

boto3 waiters exist for tables, streams and functions, and the steps use them. Pipes, Firehose
objects, crawlers and IAM propagation have none; `wait_until` covers those.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


class WaitTimeout(TimeoutError):
    """Something did not happen in time; the message says what was awaited and what to check."""


def wait_until(
    check: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    hint: str,
    interval: float = 0.5,
    progress: bool = True,
) -> T:
    """Call check() until it returns something other than None or False, and return that.

    what:    shown on the progress bar, e.g. "pipe learner-orders-cdc RUNNING".
    timeout: seconds before giving up with WaitTimeout.
    hint:    what the learner should look at if the wait times out.
    """
    started = time.monotonic()
    bar = tqdm(total=round(timeout), desc=f"waiting for {what}", unit="s", leave=False, disable=not progress,
               bar_format="{desc}: {elapsed} (at most {total}s)")
    try:
        while True:
            result = check()
            if result is not None and result is not False:
                bar.n = bar.total  # a full bar closes quietly; one left short shows as failed (red) in Jupyter
                return result
            elapsed = time.monotonic() - started
            if elapsed >= timeout:
                raise WaitTimeout(f"Gave up waiting for {what} after {timeout:.0f} s. {hint}")
            time.sleep(min(interval, timeout - elapsed))
            bar.n = min(round(elapsed), bar.total)
            bar.refresh()
    finally:
        bar.close()
