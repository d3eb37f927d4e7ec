"""Athena workgroups in moto's backend.

moto keeps the workgroups (and their tags, which the Resource Groups Tagging API reads), but it answers
GetWorkGroup/ListWorkGroups/DeleteWorkGroup wrongly and has no UpdateWorkGroup. This view reads and
changes moto's workgroup objects so that the Athena engine can answer those calls itself.
"""

from __future__ import annotations

import copy
from typing import Any

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from localcloud.moto_state import STATE_LOCK

ENGINE_VERSION = {"SelectedEngineVersion": "AUTO", "EffectiveEngineVersion": "Athena engine version 3"}

# The parts of WorkGroupConfigurationUpdates that update a nested structure, and the structure they update.
_NESTED_UPDATES = {
    "ResultConfigurationUpdates": "ResultConfiguration",
    "ManagedQueryResultsConfigurationUpdates": "ManagedQueryResultsConfiguration",
}


class AthenaWorkGroups:
    """The workgroups of one account and region, as the Athena API shows them."""

    def __init__(self, account_id: str = DEFAULT_ACCOUNT_ID, region: str = "us-east-1"):
        self.account_id = account_id
        self.region = region

    @property
    def _backend(self) -> Any:
        return get_backend("athena")[self.account_id][self.region]

    def exists(self, name: str) -> bool:
        return name in self._backend.work_groups

    def get(self, name: str) -> dict[str, Any] | None:
        """Name, State, Configuration and Description (only when not empty), or None for an unknown name."""
        work_group = self._backend.work_groups.get(name)
        if work_group is None:
            return None
        configuration = copy.deepcopy(work_group.configuration)
        configuration.setdefault("ResultConfiguration", {})
        shown = {"Name": name, "State": work_group.state, "Configuration": configuration}
        if work_group.description:
            shown["Description"] = work_group.description
        return shown

    def names(self) -> list[str]:
        return sorted(self._backend.work_groups)

    def create(self, name: str, configuration: dict[str, Any], description: str,
               tags: list[dict[str, str]]) -> None:
        """Create the workgroup with moto's defaults (EnforceWorkGroupConfiguration true, engine version 3)."""
        with STATE_LOCK:
            self._backend.create_work_group(name, copy.deepcopy(configuration), description, tags)

    def update(self, name: str, description: str | None, configuration_updates: dict[str, Any],
               state: str | None) -> None:
        """Apply UpdateWorkGroup: set what is given, drop what a Remove* flag names."""
        with STATE_LOCK:
            work_group = self._backend.work_groups[name]
            if description is not None:
                work_group.description = description
            if state is not None:
                work_group.state = state
            _apply_updates(work_group.configuration, configuration_updates)
            if "EngineVersion" in configuration_updates:
                selected = configuration_updates["EngineVersion"].get("SelectedEngineVersion", "AUTO")
                work_group.configuration["EngineVersion"] = (
                    dict(ENGINE_VERSION) if selected == "AUTO"
                    else {"SelectedEngineVersion": selected, "EffectiveEngineVersion": selected})

    def saved_contents(self, name: str) -> list[str]:
        """Named queries and prepared statements saved in the workgroup (what a non-recursive delete refuses)."""
        backend = self._backend
        named = [query.name for query in backend.named_queries.values() if query.workgroup.name == name]
        prepared = [statement.statement_name for statement in backend.prepared_statements.values()
                    if getattr(statement.workgroup, "name", statement.workgroup) == name]
        return named + prepared

    def delete(self, name: str) -> None:
        """Delete the workgroup with its named queries and prepared statements."""
        with STATE_LOCK:
            backend = self._backend
            for query_id in [i for i, q in backend.named_queries.items() if q.workgroup.name == name]:
                del backend.named_queries[query_id]
            for statement_name in [s for s, p in backend.prepared_statements.items()
                                   if getattr(p.workgroup, "name", p.workgroup) == name]:
                del backend.prepared_statements[statement_name]
            work_group = backend.work_groups.pop(name)
            backend.tagger.delete_all_tags_for_resource(work_group.arn)

    def tags(self, name: str) -> list[dict[str, str]]:
        backend = self._backend
        return backend.tagger.list_tags_for_resource(backend.work_groups[name].arn)["Tags"]


def _apply_updates(target: dict[str, Any], updates: dict[str, Any]) -> None:
    for key, value in updates.items():
        if key in _NESTED_UPDATES:
            _apply_updates(target.setdefault(_NESTED_UPDATES[key], {}), value)
        elif key.startswith("Remove"):
            if value:
                target.pop(key.removeprefix("Remove"), None)
        else:
            target[key] = copy.deepcopy(value)
