"""`arc-top` entry point. Expected failures print one line and exit 2; no tracebacks."""

from __future__ import annotations

import argparse
import sys

from cli import check_cmd, fix_cmd, monitor_cmd, sandbox_cmd, undo_cmd


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arc-top",
        description="A terminal monitor for GitHub Actions Runner Controller (ARC) runner scale sets. "
                    "Without a command: the monitor on the current kubeconfig context.")
    monitor_cmd.add_connection_flags(parser)
    monitor_cmd.add_read_only_flag(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    monitor_cmd.add_demo_parser(sub)
    sandbox_cmd.add_parser(sub)
    check_cmd.add_parser(sub)
    fix_cmd.add_parser(sub)
    undo_cmd.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    run = args.run if args.command else monitor_cmd.run_monitor
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug must still be one line, never a traceback (secrets masked, escapes out)
        from cli.fix_view import safe

        detail = " ".join(safe(exc).split())
        return monitor_cmd._fail(f"unexpected error ({type(exc).__name__}: {detail[:300]}): please report this")


if __name__ == "__main__":
    sys.exit(main())
