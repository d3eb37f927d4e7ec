"""Firehose delivery stream configurations in moto's backend.

moto keeps each stream's configuration as the request gave it; the Firehose engine reads it here when it
(re)starts a stream's delivery, so that a server restart or an engine restart finds every stream again.
"""

from __future__ import annotations

import copy
from typing import Any, Iterator

from moto.backends import get_backend

from localcloud.moto_state import STATE_LOCK


class DeliveryStreams:
    """Every delivery stream moto knows, in every account and region."""

    def names(self) -> Iterator[tuple[str, str, str]]:
        """(account id, region, delivery stream name) for each stream."""
        with STATE_LOCK:
            found = [(account_id, region, name)
                     for account_id, regions in list(get_backend("firehose").items())
                     for region, backend in list(regions.items())
                     for name in list(backend.delivery_streams)]
        return iter(found)

    def describe(self, account_id: str, region: str, name: str) -> dict[str, Any] | None:
        """A copy of the DeliveryStreamDescription moto would return, or None when there is no such stream."""
        with STATE_LOCK:
            backend = get_backend("firehose")[account_id][region]
            if name not in backend.delivery_streams:
                return None
            description = backend.describe_delivery_stream(name)["DeliveryStreamDescription"]
            return copy.deepcopy(description)
