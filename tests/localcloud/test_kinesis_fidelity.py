"""Kinesis answers that localcloud corrects in moto: CreateStream tags and ListStreams paging."""

from __future__ import annotations

import uuid


def test_tags_given_to_create_stream_are_on_the_stream(session):
    kinesis, name = session.client("kinesis"), f"tagged-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1, Tags={"project": "p", "participant": "x"})
    tags = {t["Key"]: t["Value"] for t in kinesis.list_tags_for_stream(StreamName=name)["Tags"]}
    assert tags == {"project": "p", "participant": "x"}


def test_list_streams_pages_with_next_token_until_every_stream_is_listed(session):
    kinesis, prefix = session.client("kinesis"), f"paged-{uuid.uuid4().hex[:6]}"
    created = {f"{prefix}-{n:02d}" for n in range(25)}
    for name in created:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    first = kinesis.list_streams(Limit=10)
    assert len(first["StreamNames"]) == 10 and first["HasMoreStreams"] and "NextToken" in first
    listed = [n for page in kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 7})
              for n in page["StreamNames"]]
    assert created <= set(listed) and len(listed) == len(set(listed))
