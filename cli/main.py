"""`arc-top` entry point. Expected failures print one line and exit 2; a bug prints one line naming a crash file
(cli/crash.py) and exits 3; never a traceback."""

from __future__ import annotations

import argparse
import os
import sys

from arc_top.cli import check_cmd, config, crash, dump_cmd, fix_cmd, monitor_cmd, sandbox_cmd, undo_cmd
from arc_top.core import gcpause

EXIT_INTERRUPTED = 130       # Ctrl-C, as a shell reports SIGINT
EXIT_PIPE_CLOSED = 141       # the reader of the output went away (`arc-top audit | head -1`), as SIGPIPE reports
EPILOG = ("Exit codes: 0 all well (check: no finding at or above --fail-on); 1 check: a finding at or above "
          "--fail-on (fix/undo: applied but not cleared, or only partly); 2 usage, connection or input error (one "
          "line on stderr); 3 a bug: one line on stderr naming a crash file with the traceback, secrets masked "
          "($XDG_STATE_HOME/arc-top/crash-*.txt, default ~/.local/state/arc-top/); 130 interrupted (Ctrl-C); 141 "
          "the reader of the output went away (| head).")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="arc-top",
        description="A terminal monitor for GitHub Actions Runner Controller (ARC) runner scale sets. "
                    "Without a command: the monitor on the current kubeconfig context.",
        epilog=EPILOG)
    monitor_cmd.add_connection_flags(parser)
    monitor_cmd.add_read_only_flag(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    monitor_cmd.add_demo_parser(sub)
    sandbox_cmd.add_parser(sub)
    check_cmd.add_parser(sub)
    dump_cmd.add_parser(sub)
    fix_cmd.add_parser(sub)
    undo_cmd.add_parsers(sub)
    # The operator's settings (issue 15): --config on the command and on every subcommand, `arc-top config`,
    # --version.
    config.add_parser(sub)
    parser.add_argument("--version", action=_Version, nargs=0, help="show arc-top's, Textual's and Python's versions")
    for p in (parser, *sub.choices.values()):
        p.add_argument("--config", metavar="FILE", default=None if p is parser else argparse.SUPPRESS,
                       help="the config file (default: $XDG_CONFIG_HOME/arc-top/config.yaml, ~/.config/arc-top/)")
    return parser


class _Version(argparse.Action):
    """--version: the lines as they are (argparse's own action re-wraps them into one paragraph)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(version_text())
        parser.exit(0)


def version_text() -> str:
    """arc-top's version, Textual's and the Python's, one a line (read from the installed metadata: no import of
    Textual itself)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return (f"arc-top {of('arc-top')}\nTextual {of('textual')}\n"
            f"Python {platform.python_version()} ({platform.python_implementation()})")


def settle_config(args: argparse.Namespace) -> str:
    """Read the config file and put the effective settings on args (flag > env > file > default); a one-line
    problem when the file (or an --ignore code, or ARC_TOP_LOG_LINES) is bad."""
    if args.command == "config" and getattr(args, "init", False):
        return ""                 # --init writes the file: a bad existing one must not stop it
    try:
        settings = config.load(args)
        config.check_keymap_ids(settings)       # (imports the screens, only when the file has a keymap)
    except config.ConfigError as exc:
        return str(exc)
    config.apply(args, settings)
    return config.ignore_problem(args)


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except Exception as exc:  # a bug in the parser itself (argparse's own errors are SystemExit(2))
        return crash.report(exc, "parsing the command line", argv)
    run = args.run if args.command else monitor_cmd.run_monitor
    try:
        problem = settle_config(args)
    except Exception as exc:  # a bug in reading the settings: one line naming the crash file
        return crash.report(exc, "reading the config file", argv)
    if problem:
        return monitor_cmd.fail(problem)
    threads = crash.catch_thread_crashes(argv)
    if run is monitor_cmd.run_monitor or args.command == "demo":
        gcpause.pause()          # until the monitor's first fill: its imports run without cyclic collections
    try:
        code = run(args)
        sys.stdout.flush()        # here, not at interpreter exit: a reader that left is then EXIT_PIPE_CLOSED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError as exc:
        if not _stdout_closed():
            return crash.report(exc, f"arc-top {args.command or 'monitor'}", argv)
        _quiet_stdout()
        return EXIT_PIPE_CLOSED
    except Exception as exc:  # a bug: one line naming the crash file with the (masked) traceback
        return crash.report(exc, f"arc-top {args.command or 'monitor'}", argv)
    finally:
        gcpause.release()
        threads.restore()
    return threads.exit_code(code)


def _stdout_closed() -> bool:
    """Has the reader of standard output gone away (a pipe whose other end is closed)?"""
    try:
        import select

        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so that the final flush at exit raises nothing more."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
