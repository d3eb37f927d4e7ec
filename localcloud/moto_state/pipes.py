"""EventBridge Pipes in moto's backend: what each pipe is configured to do, and the state it reports.

moto only stores pipes; it moves pipes between states by counting DescribePipe calls, and gets some
of it wrong (a STOPPED pipe turns STARTING, then RUNNING, on later describes). The Pipes engine
runs the pipes, so it also decides their CurrentState: `set_current_state` pins the state and
switches moto's own transitions off for that pipe.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from moto.backends import get_backend

from localcloud.moto_state import STATE_LOCK


@dataclass(frozen=True)
class PipeId:
    account_id: str
    region: str
    name: str


@dataclass(frozen=True)
class PipeConfig:
    """A pipe's settings as CreatePipe/UpdatePipe stored them (parameter dicts are copies)."""

    id: PipeId
    arn: str
    source: str
    target: str
    role_arn: str
    desired_state: str
    source_parameters: dict[str, Any]
    target_parameters: dict[str, Any]


class MotoPipes:
    """Every pipe in moto's Pipes backend, in every account and region."""

    def all(self) -> list[PipeConfig]:
        return [
            _config(PipeId(account_id, region, name), pipe)
            for account_id, regions in list(get_backend("pipes").items())
            for region, backend in list(regions.items())
            for name, pipe in list(backend.pipes.items())
        ]

    def get(self, pipe_id: PipeId) -> PipeConfig | None:
        pipe = self._pipe(pipe_id)
        return None if pipe is None else _config(pipe_id, pipe)

    def set_current_state(self, pipe_id: PipeId, state: str) -> None:
        """Report `state` from now on (moto's describe-driven transitions no longer apply to this pipe)."""
        with STATE_LOCK:
            pipe = self._pipe(pipe_id)
            if pipe is not None:
                pipe._transitions = []
                pipe.status = state

    def set_source_parameter(self, pipe_id: PipeId, group: str, name: str, value: Any) -> None:
        """Set SourceParameters[group][name], e.g. to restore a value UpdatePipe cannot change."""
        with STATE_LOCK:
            pipe = self._pipe(pipe_id)
            if pipe is not None:
                pipe.source_parameters = pipe.source_parameters or {}
                pipe.source_parameters.setdefault(group, {})[name] = value

    def _pipe(self, pipe_id: PipeId) -> Any:
        try:
            backend = get_backend("pipes")[pipe_id.account_id][pipe_id.region]
        except KeyError:
            return None
        return backend.pipes.get(pipe_id.name)


def _config(pipe_id: PipeId, pipe: Any) -> PipeConfig:
    return PipeConfig(
        id=pipe_id,
        arn=pipe.arn,
        source=pipe.source,
        target=pipe.target,
        role_arn=pipe.role_arn,
        desired_state=pipe.desired_state,
        source_parameters=copy.deepcopy(pipe.source_parameters or {}),
        target_parameters=copy.deepcopy(pipe.target_parameters or {}),
    )
