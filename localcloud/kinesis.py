"""Kinesis: moto serves the API; this engine only adds what moto's CreateStream drops.

AWS applies the `Tags` of CreateStream to the new stream; moto ignores them, so a kit that tags at
creation (as it should, so teardown can find the stream) would see an untagged stream.
"""

from __future__ import annotations

from pathlib import Path

from localcloud.router import AwsRequest, RawResponse, Router


class KinesisEngine:
    name = "kinesis"

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir

    def register(self, router: Router) -> None:
        router.register("kinesis", "CreateStream", self.create_stream)

    def create_stream(self, request: AwsRequest) -> RawResponse:
        created = request.forward()
        tags = request.params.get("Tags")
        if created.status == 200 and tags:
            tagged = request.call_moto("AddTagsToStream", {"StreamName": request.params["StreamName"], "Tags": tags})
            if tagged.status != 200:
                return tagged
        return created

    def start(self, endpoint_url: str) -> None:
        """Nothing runs in the background."""

    def stop(self) -> None:
        """Nothing runs in the background."""

    def reset(self) -> None:
        """No state of its own."""
