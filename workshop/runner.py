"""`make run`: the whole course, headless, against localcloud, with a summary at the end.

It executes the solution notebooks in order into build/executed/, then checks the pipeline end to
end before the teardown notebook runs: a fresh batch of orders is written, and the run reports how
many changes reached S3, how many rows Athena sees, and whether the current state rebuilt from the
change log matches DynamoDB row for row.

It starts clean by deleting the participant's resources. In aws mode it asks first, as the notebooks
do before they create anything (workshop.safety); WORKSHOP_CONFIRM_ACCOUNT=<account> answers yes.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import awswrangler as wr
import nbformat

from workshop import course, datagen, safety, teardown, verify
from workshop.notebooks import SOLUTIONS_DIR
from workshop.session import PROJECT_ROOT, Connection, connect
from workshop.steps import glue

BUILD_DIR = PROJECT_ROOT / "build"
EXECUTED_DIR = BUILD_DIR / "executed"
CHARTS_DIR = BUILD_DIR / "charts"
TEARDOWN_NOTEBOOK = "10"
CHECK_CHANGES = 1000
NOTEBOOK_TIMEOUT_SECONDS = 600

# The latest change per order wins; orders whose latest change is a delete are gone. Sequence
# numbers are strings of varying length, so the longer one is the later one.
CURRENT_STATE_SQL = """
SELECT orderid, product_name, quantity, price
FROM (
    SELECT *, row_number() OVER (
        PARTITION BY orderid ORDER BY length(sequence_number) DESC, sequence_number DESC) AS newest_first
    FROM {table}
)
WHERE newest_first = 1 AND NOT is_deleted
"""


@dataclass
class RunSummary:
    notebooks: list[str]
    changes_written: int
    changes_delivered: int
    failed_records: int
    athena_rows: int
    projection: verify.ProjectionCheck
    seconds: float

    def __str__(self) -> str:
        return "\n".join([
            "Course run summary",
            f"  notebooks executed    {len(self.notebooks)} ({', '.join(self.notebooks) or 'none found'})",
            f"  changes generated     {self.changes_written} by the final check (the notebooks wrote more)",
            f"  changes delivered     {self.changes_delivered} distinct event ids in S3, notebooks included",
            f"  failed records        {self.failed_records}",
            f"  rows in Athena        {self.athena_rows} (current state)",
            f"  projection            {self.projection}",
            f"  time                  {self.seconds:.1f} s",
        ])


def execute_notebook(path: Path) -> Path:
    """Run one notebook top to bottom with its own kernel; save it with outputs under build/executed/."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    # The kernel's own log would open every notebook with a warning about its local TCP transport: keep errors.
    NotebookClient(notebook, timeout=NOTEBOOK_TIMEOUT_SECONDS, kernel_name="python3",
                   extra_arguments=["--IPKernelApp.log_level=ERROR"],
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    EXECUTED_DIR.mkdir(parents=True, exist_ok=True)
    target = EXECUTED_DIR / path.name
    nbformat.write(notebook, target)
    return target


def check_pipeline(conn: Connection, changes: int = CHECK_CHANGES) -> tuple[int, int, int, int, verify.ProjectionCheck]:
    """Write changes, wait for them in S3, crawl, query the current state in Athena, compare with DynamoDB."""
    course.catch_up(conn, "09", verbose=False)
    already_delivered = _distinct_events(conn)
    ledger = datagen.run(changes, table_name=conn.config.table_name, client=conn.client("dynamodb"),
                         seed=int(time.time()), progress=True)
    delivered = verify.wait_for_delivery(conn, already_delivered + len(ledger))
    glue.run_crawler(conn)
    current = wr.athena.read_sql_query(
        CURRENT_STATE_SQL.format(table=conn.config.glue_table), database=conn.config.glue_database,
        workgroup=conn.config.workgroup_name, ctas_approach=False)
    failed = verify.failed_records(conn)
    return (len(ledger), delivered["event_id"].nunique(), len(failed), len(current),
            verify.compare_with_table(conn, current))


def _distinct_events(conn: Connection) -> int:
    changes = verify.delivered_changes(conn)
    return changes["event_id"].nunique() if len(changes) else 0


def start_clean(conn: Connection) -> None:
    """Delete the participant's resources, so the run shows the whole course; in aws mode only once confirmed."""
    safety.confirm_rebuild(conn)
    if conn.config.mode == "aws":
        os.environ[safety.CONFIRM_VARIABLE] = conn.account_id   # the notebooks' kernels inherit it; they cannot ask
    teardown.teardown(conn, progress=False)


def run_course() -> RunSummary:
    started = time.monotonic()
    conn = connect()
    print(conn.describe())
    start_clean(conn)
    CHARTS_DIR.mkdir(parents=True, exist_ok=True)
    os.environ["WORKSHOP_CHARTS_DIR"] = str(CHARTS_DIR)  # the notebooks' kernels inherit it
    solutions = sorted(SOLUTIONS_DIR.glob("[0-9][0-9]_*.ipynb"))
    before_teardown = [p for p in solutions if p.name[:2] < TEARDOWN_NOTEBOOK]
    executed = []
    for path in before_teardown:
        print(f"running {path.name} ...", flush=True)
        execute_notebook(path)
        executed.append(path.name[:2])
    written, delivered, failed, athena_rows, projection = check_pipeline(conn)
    for path in solutions:
        if path not in before_teardown:
            print(f"running {path.name} ...", flush=True)
            execute_notebook(path)
            executed.append(path.name[:2])
    return RunSummary(executed, written, delivered, failed, athena_rows, projection, time.monotonic() - started)
