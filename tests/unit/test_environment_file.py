"""environment.yml (conda users) and pyproject.toml (pip users) must ask for the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# Entries of environment.yml that are not project dependencies.
ENVIRONMENT_ONLY = {"python", "pip", "-e ."}


def _normalise(requirement: str) -> str:
    """'Moto[server] == 5.2.5' -> 'moto[server]==5.2.5', so both files compare equal when they agree."""
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-") + spec.replace(" ", "")


def pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_normalise(r) for r in listed}


def environment_requirements() -> set[str]:
    entries = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    flat: list[str] = []
    for entry in entries:
        flat.extend(entry["pip"] if isinstance(entry, dict) else [entry])
    return {_normalise(e) for e in flat if e not in ENVIRONMENT_ONLY and not e.startswith("python")}


def test_environment_file_lists_exactly_the_pyproject_dependencies():
    in_pyproject, in_environment = pyproject_requirements(), environment_requirements()
    assert in_pyproject - in_environment == set(), "add these to environment.yml"
    assert in_environment - in_pyproject == set(), "add these to pyproject.toml or remove them from environment.yml"


def test_moto_is_pinned_exactly_in_both_files():
    pins = [r for r in pyproject_requirements() | environment_requirements() if r.startswith("moto")]
    assert pins == ["moto[server]==5.2.5"]


def test_the_athena_translation_stack_is_pinned_exactly_in_both_files():
    """localcloud's Athena translates Trino SQL with sqlglot and runs it on DuckDB: both versions matter."""
    for package in ("duckdb", "sqlglot"):
        for requirements in (pyproject_requirements(), environment_requirements()):
            pins = [r for r in requirements if re.fullmatch(rf"{package}==[\d.]+", r)]
            assert len(pins) == 1, f"{package} must be pinned with == in pyproject.toml and environment.yml"
