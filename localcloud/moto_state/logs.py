"""CloudWatch Logs in moto's backend: where engines write the log lines a service would emit.

Writing here costs microseconds; the same PutLogEvents through HTTP costs milliseconds per call,
which a Lambda invoked many times a second would pay on every invocation.
"""

from __future__ import annotations

from typing import Any, Iterable

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from localcloud.moto_state import STATE_LOCK


class LogEvents:
    """Log groups and streams in moto's Logs backend for one account and region."""

    def __init__(self, account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1"):
        self.account_id = account_id
        self.region = region

    @property
    def _backend(self) -> Any:
        return get_backend("logs")[self.account_id][self.region]

    def append(self, group: str, stream: str, events: Iterable[tuple[int, str]]) -> None:
        """Add (timestamp in epoch ms, message) events, creating the group and stream if missing.

        Timestamps are made non-decreasing, as PutLogEvents requires within one batch.
        """
        ordered, latest = [], 0
        for timestamp, message in events:
            latest = max(latest, timestamp)
            ordered.append({"timestamp": latest, "message": message})
        with STATE_LOCK:
            self._backend.ensure_log_group(group)
            self._backend.ensure_log_stream(group, stream)
            self._backend.put_log_events(group, stream, ordered)
