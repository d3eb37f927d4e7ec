"""The server's gc policy: what survived a full collection is frozen, and thawed again so that cycles are freed."""

from __future__ import annotations

import gc
import json
import threading
import types
import urllib.request
import weakref

import pytest

from localcloud import garbage_collection, server
from localcloud.garbage_collection import FreezeSurvivors
from localcloud.server import LocalCloud


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Node:
    """A tracked object that can take part in a reference cycle."""

    other: "Node | None" = None


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def policy(clock):
    """A policy on the fake clock, installed for one test; afterwards the process is as it was."""
    policy = FreezeSurvivors(thaw_seconds=600, clock=clock)
    gc.callbacks.append(policy)
    yield policy
    _uninstall()


def _uninstall() -> None:
    gc.callbacks[:] = [callback for callback in gc.callbacks if not isinstance(callback, FreezeSurvivors)]
    gc.unfreeze()


def _in_oldest_generation(target: object) -> bool:
    return any(candidate is target for candidate in gc.get_objects(generation=2))


def test_what_survives_a_full_collection_is_frozen(policy):
    stored = [Node() for _ in range(1000)]
    gc.collect()
    assert not _in_oldest_generation(stored), "a later full collection would walk the stored objects again"
    assert gc.get_freeze_count() >= len(stored)


def test_without_the_policy_survivors_stay_in_the_oldest_generation():
    stored = [Node() for _ in range(10)]
    gc.collect()
    assert _in_oldest_generation(stored)


def test_a_cycle_among_frozen_objects_is_freed_after_the_thaw(policy, clock):
    first, second = Node(), Node()
    first.other, second.other = second, first
    alive = weakref.ref(first)
    gc.collect()  # both survive (still referenced) and are frozen
    del first, second
    gc.collect()
    assert alive() is not None, "frozen objects are skipped, cycles among them included"

    clock.now += 600
    gc.collect()  # the policy thaws at the end of this collection
    gc.collect()  # this one walks everything
    assert alive() is None


def test_thaw_frees_cycles_at_the_next_collection_without_waiting(policy):
    first = Node()
    first.other = first
    alive = weakref.ref(first)
    gc.collect()
    del first
    garbage_collection.thaw()
    gc.collect()
    assert alive() is None


def test_young_collections_freeze_nothing(policy):
    before = gc.get_freeze_count()
    stored = [Node() for _ in range(100)]
    gc.collect(generation=1)
    assert gc.get_freeze_count() == before
    assert stored


def test_freeze_survivors_installs_the_policy_once():
    try:
        installed = garbage_collection.freeze_survivors()
        assert garbage_collection.freeze_survivors() is installed
        assert sum(isinstance(callback, FreezeSurvivors) for callback in gc.callbacks) == 1
    finally:
        _uninstall()


def test_serve_installs_the_policy(monkeypatch, tmp_path):
    class InterruptedAtOnce:
        def wait(self) -> None:
            raise KeyboardInterrupt  # what Ctrl-C does to the waiting server

    monkeypatch.setattr(server, "threading", types.SimpleNamespace(Thread=threading.Thread, Event=InterruptedAtOnce))
    installed = []
    monkeypatch.setattr(garbage_collection, "freeze_survivors", lambda: installed.append(True))
    server.serve(port=0, state_dir=tmp_path)
    assert installed == [True]


def test_a_reset_thaws_what_it_dropped(policy, clock, tmp_path):
    clock.now = 42.0
    with LocalCloud(port=0, state_dir=tmp_path) as cloud:
        request = urllib.request.Request(f"{cloud.endpoint_url}/_localcloud/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read()) == {"reset": True}
    assert policy.last_thaw == 42.0
