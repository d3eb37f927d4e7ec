"""python -m workshop run | catch-up NN | notebooks"""

from __future__ import annotations

import argparse
import sys

from workshop.config import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workshop", description="The sales CDC course kit.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the whole course headlessly and print a summary (make run)")
    catch_up = commands.add_parser("catch-up", help="create everything the notebooks before NN create")
    catch_up.add_argument("notebook", help="two-digit notebook number, e.g. 06")
    commands.add_parser("notebooks", help="regenerate notebooks/ from solutions/ (make notebooks)")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            from workshop.runner import run_course

            summary = run_course()
            print(summary)
            return 0 if summary.projection.matches else 1
        if args.command == "catch-up":
            from workshop import course

            conn = course.start(args.notebook.zfill(2))
            print(f"Ready for notebook {args.notebook.zfill(2)} as {conn.config.participant}.")
            return 0
        from workshop.notebooks import generate

        for path in generate():
            print(f"wrote {path.relative_to(path.parents[1])}")
        return 0
    except ConfigError as error:
        print(f"Configuration problem: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
