"""Generate the learner notebooks in notebooks/ from the complete ones in solutions/.

Exercises are marked in solution cells with nbgrader's markup:

    ### BEGIN SOLUTION
    ...the answer...
    ### END SOLUTION

Each marked region becomes `# YOUR CODE HERE` plus `raise NotImplementedError()` at the same
indentation, the cell is tagged `raises-exception` (so nbval-lax expects the error), and every
output is cleared. Learner notebooks are never edited by hand; a test fails when they drift.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from workshop.session import PROJECT_ROOT

SOLUTIONS_DIR = PROJECT_ROOT / "solutions"
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
EXERCISE = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION[^\n]*\n.*?^[ \t]*### END SOLUTION[^\n]*(\n|$)",
                      re.MULTILINE | re.DOTALL)
EXERCISE_TAG = "raises-exception"


class UnbalancedExerciseMarkers(ValueError):
    """A cell has a BEGIN SOLUTION without its END SOLUTION (or the other way round)."""


def blank_exercises(source: str) -> tuple[str, int]:
    """Replace every marked solution with the learner's placeholder; return the new source and the count."""
    def placeholder(match: re.Match[str]) -> str:
        indent = match.group("indent")
        return f"{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError()\n"

    blanked, count = EXERCISE.subn(placeholder, source)
    if "### BEGIN SOLUTION" in blanked or "### END SOLUTION" in blanked:
        raise UnbalancedExerciseMarkers("every '### BEGIN SOLUTION' needs a matching '### END SOLUTION' after it")
    return blanked.rstrip("\n"), count


def learner_version(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The learner notebook for one solution notebook: exercises blanked, no outputs."""
    notebook = nbformat.from_dict(solution)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        cell.source, exercises = blank_exercises(cell.source)
        cell.outputs = []
        cell.execution_count = None
        cell.metadata.pop("execution", None)
        if exercises:
            tags = cell.metadata.setdefault("tags", [])
            if EXERCISE_TAG not in tags:
                tags.append(EXERCISE_TAG)
    notebook.metadata.pop("widgets", None)
    return notebook


def render(notebook: nbformat.NotebookNode) -> str:
    """Notebook JSON exactly as it is committed, so the drift test can compare text."""
    return nbformat.writes(notebook, version=4) + "\n"


def generate(solutions_dir: Path = SOLUTIONS_DIR, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Write notebooks_dir/NN_topic.ipynb for every solutions_dir/NN_topic.ipynb; return the written paths."""
    notebooks_dir.mkdir(exist_ok=True)
    written = []
    for solution_path in sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb")):
        learner = learner_version(nbformat.read(solution_path, as_version=4))
        target = notebooks_dir / solution_path.name
        target.write_text(render(learner))
        written.append(target)
    for stale in set(notebooks_dir.glob("[0-9][0-9]_*.ipynb")) - set(written):
        stale.unlink()
    return written


def drift(solutions_dir: Path = SOLUTIONS_DIR, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[str]:
    """Names of learner notebooks that differ from what generate() would write (missing or extra count too)."""
    expected = {p.name: render(learner_version(nbformat.read(p, as_version=4)))
                for p in sorted(solutions_dir.glob("[0-9][0-9]_*.ipynb"))}
    actual = {p.name: p.read_text() for p in notebooks_dir.glob("[0-9][0-9]_*.ipynb")}
    return sorted(name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name))
