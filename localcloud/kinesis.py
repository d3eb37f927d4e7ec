"""Kinesis: moto serves the API; this engine fixes the two answers moto gets wrong.

- CreateStream: AWS applies its `Tags` to the new stream; moto ignores them, so a kit that tags at
  creation (as it should, so teardown can find the stream) would see an untagged stream.
- ListStreams: AWS pages with NextToken (default Limit 100); moto never returns a NextToken, so
  boto3's paginator stops after moto's first 10 names.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from localcloud.errors import InvalidArgumentException
from localcloud.router import AwsRequest, RawResponse, Router

LIST_STREAMS_DEFAULT_LIMIT = 100
LIST_STREAMS_MAX_LIMIT = 10_000


class KinesisEngine:
    name = "kinesis"

    def __init__(self, state_dir: Path):
        self.state_dir = state_dir

    def register(self, router: Router) -> None:
        router.register("kinesis", "CreateStream", self.create_stream)
        router.register("kinesis", "ListStreams", self.list_streams)

    def create_stream(self, request: AwsRequest) -> RawResponse:
        created = request.forward()
        tags = request.params.get("Tags")
        if created.status == 200 and tags:
            tagged = request.call_moto("AddTagsToStream", {"StreamName": request.params["StreamName"], "Tags": tags})
            if tagged.status != 200:
                return tagged
        return created

    def list_streams(self, request: AwsRequest) -> dict | RawResponse:
        everything = request.call_moto("ListStreams", {"Limit": LIST_STREAMS_MAX_LIMIT})
        if everything.status != 200:
            return everything
        listing = everything.json()
        names = sorted(listing["StreamNames"])  # AWS lists names in order; moto in creation order
        summaries = {summary["StreamName"]: summary for summary in listing.get("StreamSummaries", [])}
        limit = int(request.params.get("Limit") or LIST_STREAMS_DEFAULT_LIMIT)
        if not 1 <= limit <= LIST_STREAMS_MAX_LIMIT:
            raise InvalidArgumentException(f"Limit must be between 1 and {LIST_STREAMS_MAX_LIMIT}, not {limit}.")
        start = _page_start(names, request.params)
        page = names[start:start + limit]
        response = {"StreamNames": page, "HasMoreStreams": start + limit < len(names),
                    "StreamSummaries": [summaries[name] for name in page if name in summaries]}
        if response["HasMoreStreams"]:
            response["NextToken"] = base64.urlsafe_b64encode(json.dumps({"after": page[-1]}).encode()).decode()
        return response

    def start(self, endpoint_url: str) -> None:
        """Nothing runs in the background."""

    def stop(self) -> None:
        """Nothing runs in the background."""

    def reset(self) -> None:
        """No state of its own."""


def _page_start(names: list[str], params: dict) -> int:
    """Index of the first name of the page, from NextToken or the older ExclusiveStartStreamName."""
    after = params.get("ExclusiveStartStreamName")
    if params.get("NextToken"):
        try:
            after = json.loads(base64.urlsafe_b64decode(params["NextToken"]))["after"]
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidArgumentException("NextToken is not one ListStreams returned; start again without it.") \
                from error
    if after is None:
        return 0
    return sum(1 for name in names if name <= after)
