"""python -m workshop run | catch-up NN | notebooks | doctor | progress | teardown | cost

Each command imports what it needs when it runs, so `doctor` still works (and says what to install)
when a package is missing.
"""

from __future__ import annotations

import argparse
import sys

from workshop.config import ConfigError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workshop", description="The sales CDC course kit.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the whole course headlessly and print a summary (make run)")
    catch_up = commands.add_parser("catch-up", help="create everything the notebooks before NN create")
    catch_up.add_argument("notebook", type=_notebook_number, help="notebook number, 00 to 10, e.g. 06")
    commands.add_parser("notebooks", help="regenerate notebooks/ from solutions/ (make notebooks)")
    commands.add_parser("doctor", help="check that this setup can run the course, and say what to fix")
    progress = commands.add_parser("progress", help="which course steps are done, read from what exists")
    progress.add_argument("--all", action="store_true", help="every participant with kit resources here")
    teardown = commands.add_parser("teardown", help="delete everything the kit created, then verify")
    teardown.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    teardown.add_argument("--all-participants", action="store_true",
                          help="every participant with kit resources here (instructors)")
    cost = commands.add_parser("cost", help="estimate what running the course on AWS costs")
    cost.add_argument("--hours", type=float, default=2.0, help="length of the session (default 2)")
    cost.add_argument("--participants", type=int, default=1, help="number of participants (default 1)")
    return parser


def _notebook_number(text: str) -> str:
    """'6' or '06' -> '06'; anything that is not a notebook of the course is refused with the valid range."""
    from workshop.course import NOTEBOOKS

    number = text.strip().zfill(2)
    if number not in NOTEBOOKS:
        raise argparse.ArgumentTypeError(f"there is no notebook {text!r}: use a number from 00 to 10")
    return number


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    command = {"run": _run, "catch-up": _catch_up, "notebooks": _notebooks, "doctor": _doctor,
               "progress": _progress, "teardown": _teardown, "cost": _cost}[args.command]
    try:
        return command(args)
    except ConfigError as error:
        print(f"Configuration problem: {error}", file=sys.stderr)
        return 2
    except RuntimeError as error:
        if not _is_localcloud_unavailable(error):
            raise
        print(error, file=sys.stderr)  # it says how to start localcloud: no traceback needed
        return 2


def _is_localcloud_unavailable(error: Exception) -> bool:
    """Whether connect() could not reach or start localcloud. Only a loaded workshop.session can raise that,
    and it is not imported here up front: doctor must run even when boto3 is missing."""
    session = sys.modules.get("workshop.session")
    return session is not None and isinstance(error, session.LocalCloudUnavailable)


def _run(args: argparse.Namespace) -> int:
    from workshop.runner import run_course

    summary = run_course()
    print(summary)
    return 0 if summary.projection.matches else 1


def _catch_up(args: argparse.Namespace) -> int:
    from workshop import course
    from workshop.safety import AccountNotConfirmed

    try:
        conn = course.start(args.notebook)
    except AccountNotConfirmed as error:
        print(error, file=sys.stderr)
        return 2
    print(f"Ready for notebook {args.notebook} as {conn.config.participant}.")
    return 0


def _notebooks(args: argparse.Namespace) -> int:
    from workshop.notebooks import generate

    for path in generate():
        print(f"wrote {path.relative_to(path.parents[1])}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from workshop import doctor

    return doctor.main()


def _progress(args: argparse.Namespace) -> int:
    from workshop import progress, teardown
    from workshop.session import connect

    conn = connect()
    found = teardown.participants(conn) if args.all else [conn.config.participant]
    if not found:
        print("No participant has kit resources here.")
    for participant in found:
        someone = teardown.for_participant(conn, participant)
        print(progress.format_progress(someone, progress.participant_progress(someone)))
    return 0


def _teardown(args: argparse.Namespace) -> int:
    """List what would go and ask (unless --yes), tear down, print each report; non-zero if anything remains."""
    from workshop import safety, teardown
    from workshop.session import connect

    conn = connect()
    print(conn.describe())
    found = teardown.participants(conn) if args.all_participants else [conn.config.participant]
    targets = [teardown.for_participant(conn, participant) for participant in found]
    if not targets:
        print("No participant has kit resources here: nothing to delete.")
        return 0
    if not args.yes:
        doomed = [f"{c.config.participant}: {item}" for c in targets for item in teardown.remaining(c)]
        if not doomed:
            print(f"Nothing to delete: {', '.join(found)} has no kit resources here.")
            return 0
        print("\n".join(["This deletes:", *(f"  {line}" for line in doomed)]))
        if not safety.ask(f"Delete these {len(doomed)} resources? [y/N] "):
            print("Nothing deleted.")
            return 1
    reports = []
    for target in targets:
        print(f"Deleting the resources of {target.config.participant} (on AWS this takes a few minutes)...")
        reports.append(teardown.teardown(target, progress=False))
        print(reports[-1])
    return 1 if any(report.remaining for report in reports) else 0


def _cost(args: argparse.Namespace) -> int:
    from workshop.cost import Usage, estimate

    try:
        print(estimate(Usage(hours=args.hours), participants=args.participants))
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
