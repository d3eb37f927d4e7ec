"""The learner notebooks are generated from solutions/ and must never drift from them."""

from __future__ import annotations

import nbformat
import pytest

from workshop import notebooks


def _solution(*sources: str) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("# Title")] + [nbformat.v4.new_code_cell(s) for s in sources]
    for cell in notebook.cells[1:]:
        cell.outputs = [nbformat.v4.new_output("stream", text="answer\n")]
        cell.execution_count = 1
    return notebook


def test_exercise_region_becomes_placeholder_at_its_indentation():
    source = "setup = 1\nif True:\n    ### BEGIN SOLUTION\n    answer = 42\n    ### END SOLUTION\nprint(answer)"
    blanked, count = notebooks.blank_exercises(source)
    assert count == 1
    assert blanked == "setup = 1\nif True:\n    # YOUR CODE HERE\n    raise NotImplementedError()\nprint(answer)"


def test_unbalanced_markers_are_rejected_with_the_fix():
    with pytest.raises(notebooks.UnbalancedExerciseMarkers, match="matching"):
        notebooks.blank_exercises("### BEGIN SOLUTION\nx = 1\n")


def test_learner_version_clears_outputs_and_tags_only_exercise_cells():
    learner = notebooks.learner_version(_solution("x = 1", "### BEGIN SOLUTION\ny = 2\n### END SOLUTION"))
    plain, exercise = learner.cells[1], learner.cells[2]
    assert plain.outputs == [] and plain.execution_count is None
    assert "tags" not in plain.metadata
    assert exercise.metadata["tags"] == ["raises-exception"]
    assert "y = 2" not in exercise.source


def test_generate_writes_one_learner_notebook_per_solution_and_removes_stale_ones(tmp_path):
    solutions, learners = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir()
    learners.mkdir()
    nbformat.write(_solution("### BEGIN SOLUTION\nz = 3\n### END SOLUTION"), solutions / "01_topic.ipynb")
    (learners / "99_stale.ipynb").write_text("{}")
    written = notebooks.generate(solutions, learners)
    assert [p.name for p in written] == ["01_topic.ipynb"]
    assert not (learners / "99_stale.ipynb").exists()
    assert notebooks.drift(solutions, learners) == []
    (learners / "01_topic.ipynb").write_text(written[0].read_text().replace("YOUR CODE HERE", "edited by hand"))
    assert notebooks.drift(solutions, learners) == ["01_topic.ipynb"]


def test_committed_learner_notebooks_match_the_solutions():
    assert notebooks.drift() == [], "run `make notebooks` and commit notebooks/"
