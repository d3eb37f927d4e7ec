"""Reading a shard stops only when it is caught up, never at the first empty page (AWS sends empty pages early)."""

from __future__ import annotations

from workshop.verify import EMPTY_PAGES_AT_NEWEST_RECORD, caught_up, read_shard


class ScriptedShard:
    """A stand-in for a Kinesis or DynamoDB Streams client: get_records answers the given pages in order."""

    def __init__(self, pages: list[dict]):
        self.pages = pages
        self.calls = 0

    def get_records(self, ShardIterator: str, Limit: int) -> dict:  # noqa: N803 - boto3's parameter names
        assert ShardIterator == f"it-{self.calls}"
        page = self.pages[self.calls]
        self.calls += 1
        return page


def kinesis_page(records: list[str], behind: int, more: bool = True) -> dict:
    page = {"Records": [{"SequenceNumber": r} for r in records], "MillisBehindLatest": behind}
    return page | ({"NextShardIterator": "it-later"} if more else {})


def streams_page(records: list[str], more: bool = True) -> dict:
    page = {"Records": [{"dynamodb": {"SequenceNumber": r}} for r in records]}
    return page | ({"NextShardIterator": "it-later"} if more else {})


def numbered(pages: list[dict]) -> list[dict]:
    """Give each page's NextShardIterator the number of the next call, as the scripted shard expects."""
    return [page | {"NextShardIterator": f"it-{n + 1}"} if "NextShardIterator" in page else page
            for n, page in enumerate(pages)]


def test_kinesis_empty_page_that_is_still_behind_is_not_the_end():
    assert not caught_up(kinesis_page([], behind=5_000))
    assert caught_up(kinesis_page([], behind=0))


def test_kinesis_page_with_records_is_never_the_end_of_an_open_shard():
    assert not caught_up(kinesis_page(["1"], behind=0))


def test_closed_shard_ends_when_no_next_iterator_is_returned():
    assert caught_up(kinesis_page(["1"], behind=0, more=False))
    assert caught_up(streams_page(["1"], more=False))


def test_dynamodb_stream_needs_several_empty_pages_in_a_row_to_be_caught_up():
    assert not caught_up(streams_page([]), empty_pages_in_a_row=1)
    assert caught_up(streams_page([]), empty_pages_in_a_row=EMPTY_PAGES_AT_NEWEST_RECORD)


def test_kinesis_records_after_empty_pages_are_read():
    shard = ScriptedShard(numbered([kinesis_page([], 9_000), kinesis_page([], 4_000), kinesis_page(["1", "2"], 0),
                                    kinesis_page([], 0)]))
    assert [r["SequenceNumber"] for r in read_shard(shard, "it-0", limit=100)] == ["1", "2"]
    assert shard.calls == 4


def test_dynamodb_stream_records_after_an_empty_page_are_read():
    empties = [streams_page([])] * EMPTY_PAGES_AT_NEWEST_RECORD
    shard = ScriptedShard(numbered([streams_page([]), streams_page(["1"]), *empties]))
    assert [r["dynamodb"]["SequenceNumber"] for r in read_shard(shard, "it-0", limit=100)] == ["1"]
    assert shard.calls == 2 + EMPTY_PAGES_AT_NEWEST_RECORD
