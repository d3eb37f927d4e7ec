"""Where does localcloud's CPU go per change: serving the writes, the pipe, or Firehose?

bench/pipeline.py measures the whole server process. This splits it by thread, to show what the engines cost
against the requests themselves. localcloud runs in this process (LocalCloud, as the tests run it), so that each
thread's CPU clock can be read; the writer is a process of its own, as in bench/pipeline.py. Three measurements:

1. raw: a load of changes into a table with a stream and no pipe; the request threads' CPU is the baseline.
2. pipeline: the same load into the course's pipeline (pipe -> Kinesis -> Firehose with the course Lambda -> S3).
3. backlog: the pipe stopped while a load is written, then started with no writes going on: what the pipe costs
   when it has the machine to itself (Firehose still runs, as in the course).

Every figure is CPU time per change, and a ratio to the raw requests' CPU per change of the same run. The writer's
and the Lambda worker's processes are shown too: the two cores share their caches and memory, so work on the other
core slows the server's threads as well (bench/RESULTS.md).
Run:  .venv/bin/python bench/engine_cpu.py
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pipeline as bench_pipeline  # noqa: E402 - the course pipeline and loads, as bench/pipeline.py builds them

from localcloud import garbage_collection  # noqa: E402
from localcloud.server import LocalCloud  # noqa: E402
from workshop import course  # noqa: E402
from workshop.config import Config  # noqa: E402
from workshop.session import connect  # noqa: E402

CHANGES = 20_000
ROUNDS = 2
WARM_UP_CHANGES = 200  # starts the Lambda worker and opens the connections before anything is measured
DRAIN_SECONDS = 4.0  # after the last write, for the pipeline to deliver the load's tail
BACKLOG_SECONDS = 15.0  # for the restarted pipe to deliver a backlog of CHANGES
WRITER = """
import sys
sys.path.insert(0, sys.argv[1])
import pipeline
from workshop.config import Config
from workshop.session import connect
connection = connect(Config(participant=sys.argv[2], localcloud_port=int(sys.argv[3])))
pipeline.write_load(connection, int(sys.argv[4]), seed=int(sys.argv[5]))
"""


def thread_cpu_seconds() -> dict[tuple[str, int], float]:
    """CPU seconds so far of each live thread of this process, by (name, ident)."""
    seconds = {}
    for thread in threading.enumerate():
        try:
            seconds[(thread.name, thread.ident)] = time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
        except (OSError, TypeError):  # the thread ended meanwhile
            continue
    return seconds


def role(thread_name: str) -> str:
    if thread_name.startswith("pipe-"):
        return "pipe thread"
    if thread_name.startswith("firehose-"):
        return "Firehose thread"
    return "other live threads"


def live_children_cpu_seconds() -> float:
    """User plus system CPU seconds so far of this process's running children: the Lambda worker (Linux /proc)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def ended_children_cpu_seconds() -> float:
    """CPU seconds of the children this process has waited for: the writers."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_by_role(work, changes: int) -> dict[str, float]:
    """CPU µs per change of each kind of thread, and of the other processes, while work() runs.

    Request threads that end (the writer's connections close with it) are counted as the server's CPU that no
    live thread accounts for.
    """
    before, process_before = thread_cpu_seconds(), time.process_time()
    worker_before, writer_before = live_children_cpu_seconds(), ended_children_cpu_seconds()
    work()
    after, process_seconds = thread_cpu_seconds(), time.process_time() - process_before
    by_role: dict[str, float] = defaultdict(float)
    for key, seconds in after.items():
        by_role[role(key[0])] += seconds - before.get(key, 0.0)
    by_role["request threads that ended"] = process_seconds - sum(by_role.values())
    by_role["(Lambda worker process)"] = live_children_cpu_seconds() - worker_before
    by_role["(writer process)"] = ended_children_cpu_seconds() - writer_before
    return {name: seconds / changes * 1e6 for name, seconds in by_role.items()}


def write_in_a_process(participant: str, port: int, changes: int, seed: int) -> None:
    written = subprocess.run([sys.executable, "-c", WRITER, str(Path(__file__).resolve().parent), participant,
                              str(port), str(changes), str(seed)], capture_output=True, text=True)
    if written.returncode != 0:
        raise RuntimeError(f"the writer process failed (exit {written.returncode}):\n{written.stderr[-2000:]}")


def report(label: str, figures: dict[str, float], raw_requests: float) -> None:
    """Figures in parentheses are other processes: not in the server's total, which is what the GIL bounds."""
    total = sum(value for name, value in figures.items() if not name.startswith("("))
    machine = sum(figures.values())
    print(f"{label}: the server {total:.0f} µs a change ({total / raw_requests:.2f}x the raw requests), "
          f"the machine {machine:.0f} µs")
    for name, value in sorted(figures.items(), key=lambda item: -item[1]):
        if value >= 0.5:
            print(f"  {name:28s} {value:6.1f} µs  ({value / raw_requests:.2f}x)")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        cloud = LocalCloud(port=0, state_dir=scratch).start()
        garbage_collection.freeze_survivors()  # as `serve` does
        os.environ.update(cloud.client_environment())
        try:
            pipeline = connect(Config(participant="benchpipe", localcloud_port=cloud.port))
            raw = connect(Config(participant="benchraw", localcloud_port=cloud.port))
            bench_pipeline.build_pipeline(pipeline)
            course.catch_up(raw, "02", verbose=False)
            bench_pipeline.write_load(pipeline, WARM_UP_CHANGES, seed=1)
            time.sleep(DRAIN_SECONDS)

            for round_number in range(1, ROUNDS + 1):
                raw_figures = cpu_by_role(
                    lambda: write_in_a_process("benchraw", cloud.port, CHANGES, 10 + round_number), CHANGES)
                raw_requests = raw_figures["request threads that ended"]

                def pipeline_load() -> None:
                    write_in_a_process("benchpipe", cloud.port, CHANGES, 20 + round_number)
                    time.sleep(DRAIN_SECONDS)

                print(f"round {round_number}, {CHANGES:,} changes a load")
                report("  raw", raw_figures, raw_requests)
                report("  pipeline", cpu_by_role(pipeline_load, CHANGES), raw_requests)

            pipes, pipe_name = pipeline.client("pipes"), pipeline.config.pipe_name
            pipes.stop_pipe(Name=pipe_name)
            while pipes.describe_pipe(Name=pipe_name)["CurrentState"] != "STOPPED":
                time.sleep(0.2)
            write_in_a_process("benchpipe", cloud.port, CHANGES, 30)

            def deliver_backlog() -> None:
                pipes.start_pipe(Name=pipe_name)
                time.sleep(BACKLOG_SECONDS)

            report(f"backlog of {CHANGES:,}, no writes", cpu_by_role(deliver_backlog, CHANGES), raw_requests)
        finally:
            cloud.stop()


if __name__ == "__main__":
    main()
