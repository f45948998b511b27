"""`arc-top` entry point. Expected failures print one line and exit 2; no tracebacks."""

from __future__ import annotations

import argparse
import sys

from cli import sandbox_cmd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arc-top",
        description="A terminal monitor for GitHub Actions Runner Controller (ARC) runner scale sets.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sandbox_cmd.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
