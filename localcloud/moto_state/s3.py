"""S3 objects in moto's backend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeDeleteMarker

from localcloud.moto_state import STATE_LOCK


@dataclass(frozen=True)
class S3ObjectInfo:
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime


class S3Objects:
    """Objects in moto's S3 backend for one account."""

    def __init__(self, account_id: str = DEFAULT_ACCOUNT_ID):
        self.account_id = account_id

    @property
    def _backend(self) -> Any:
        return get_backend("s3")[self.account_id]["aws"]

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self._backend.buckets

    def list(self, bucket: str, prefix: str = "") -> list[S3ObjectInfo]:
        """Every current object under prefix, sorted by key. Raises KeyError for a missing bucket."""
        with STATE_LOCK:
            keys = self._backend.buckets[bucket].keys
            found = [
                S3ObjectInfo(bucket, name, key.size, key.etag.strip('"'), key.last_modified)
                for name in list(keys)
                if name.startswith(prefix)
                for key in [keys[name]]
                if not isinstance(key, FakeDeleteMarker)
            ]
        return sorted(found, key=lambda info: info.key)

    def read(self, bucket: str, key: str) -> bytes:
        """The object's bytes. Raises KeyError when the bucket or key does not exist."""
        with STATE_LOCK:
            stored = self._backend.buckets[bucket].keys[key]
            if isinstance(stored, FakeDeleteMarker):
                raise KeyError(key)
            return stored.value

    def write(self, bucket: str, key: str, body: bytes) -> None:
        """Store an object, as PutObject would (the bucket must exist)."""
        with STATE_LOCK:
            self._backend.put_object(bucket, key, body)
