"""`arc-top` (the monitor on the current cluster) and `arc-top demo` (the monitor on an embedded sandbox).

The cluster is checked before the screen opens, so an unreachable or misconfigured cluster is one line
on stderr and exit 2, never a half-drawn screen. (Importing the client on a thread while the UI imports
on the main one was tried: concurrent imports of shared modules can see them half-initialised.)"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile

EXIT_USAGE = 2


def add_connection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubeconfig", help="kubeconfig file(s), as kubectl (default: $KUBECONFIG or ~/.kube/config)")
    p.add_argument("--context", help="kubeconfig context to use (default: the current context)")
    p.add_argument("-n", "--namespace", dest="namespaces", action="append", default=[], metavar="NAMESPACE",
                   help="runner namespace to watch (repeatable; default: the context's namespace)")
    p.add_argument("-A", "--all-namespaces", action="store_true", help="watch every namespace")
    add_github_flags(p)


def add_read_only_flag(p: argparse.ArgumentParser, keep_given: bool = False) -> None:
    """keep_given: on a subcommand, `arc-top --read-only fix …` keeps the flag given before it."""
    p.add_argument("--read-only", action="store_true", default=argparse.SUPPRESS if keep_given else False,
                   help="send no mutating request at all: no fix, no dry-run, no access review")


def add_github_flags(p: argparse.ArgumentParser, keep_given: bool = False) -> None:
    """keep_given: on a subcommand, flags given before it (arc-top --no-github demo) are kept, not reset."""
    p.add_argument("--no-github", action="store_true", default=argparse.SUPPRESS if keep_given else False,
                   help="do not probe the scale sets' GitHub credentials (no request to GitHub at all)")
    p.add_argument("--github-timeout", type=float, default=argparse.SUPPRESS if keep_given else None,
                   metavar="SECONDS", help="timeout of each request to GitHub (default: 5; cli/config.py fills it in)")


def add_demo_parser(sub) -> None:
    p = sub.add_parser("demo", help="open the monitor on an embedded sandbox cluster (no cluster needed)",
                       description="Start the sandbox cluster in this process and open the monitor on it.")
    p.add_argument("--scenario", default="incident", help="sandbox scenario (see 'arc-top sandbox --list')")
    p.add_argument("--from", dest="replay_files", nargs="+", metavar="FILE",
                   help="replay saved files (an 'arc-top dump' or 'kubectl get … -A -o yaml' output) in the sandbox "
                        "instead of a scenario, as 'arc-top sandbox --from' does")
    add_github_flags(p, keep_given=True)
    add_read_only_flag(p, keep_given=True)
    p.set_defaults(run=run_demo)


def fail(message: str) -> int:
    print(f"arc-top: {message}", file=sys.stderr)
    return EXIT_USAGE


def connect_checked(args: argparse.Namespace, kubeconfig: str | None):
    """A checked Connection, or a one-line error string."""
    from arc_top.kube.config import ConnectError, check_reachable, connect

    try:
        conn = connect(kubeconfig, args.context, args.namespaces, args.all_namespaces)
        check_reachable(conn)
        return conn
    except ConnectError as exc:
        return str(exc)
    except Exception as exc:  # an unexpected client failure is still one line, not a traceback
        return f"cannot connect: {type(exc).__name__}: {exc}"


def _run_app(conn, title: str, args: argparse.Namespace) -> int:
    from arc_top.kube.monitor import Monitor
    from arc_top.tui.app import ArcTopApp

    app = ArcTopApp(lambda on_change: Monitor(conn, on_change), **app_options(title, args))
    return run_app(app)


def app_options(title: str, args: argparse.Namespace) -> dict:
    """ArcTopApp's keyword arguments from the command line and the config file (args.settings: cli/config.py)."""
    from arc_top.tui.app import ArcTopApp

    options: dict = {"title": title, "github": not args.no_github, "github_timeout": args.github_timeout or 5.0}
    if _accepts(ArcTopApp, "read_only"):       # an app without the parameter has no fix screen: nothing to pass
        options["read_only"] = bool(getattr(args, "read_only", False))
    settings = getattr(args, "settings", None)      # the config file's (cli.main reads it)
    if settings is not None:
        given = {"theme": settings.values["theme"], "keymap": settings.values["keymap"],
                 "silence": settings.silence, "log_lines": settings.values["log_lines"]}
        options.update((k, v) for k, v in given.items() if _accepts(ArcTopApp, k))
    return options


def run_app(app) -> int:
    """Run a Textual app; an exception inside it ends it (Textual restores the terminal) and is raised here, after,
    for cli.main to report as a bug (one line, a crash file, exit 3). Textual would print its own traceback, with
    the values of local variables, on stderr: that print is held and dropped (other exit messages are printed)."""
    from rich.console import Console

    held = _Held(sys.stderr)
    app.error_console = Console(file=held, markup=False, highlight=False)
    app.run()
    error = getattr(app, "_exception", None)      # Textual keeps the first unhandled exception there
    if error is not None:
        raise error
    if held.getvalue():           # exit messages (App.exit(message=…), App.panic): shown as Textual would
        sys.stderr.write(held.getvalue())
    return app.return_code or 0


class _Held(io.StringIO):
    """Text for stderr, kept until the app has ended; looks like the real stderr to Rich (terminal, width)."""

    def __init__(self, stream) -> None:
        super().__init__()
        self._stream = stream

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (AttributeError, ValueError, OSError):
            return False


def _accepts(cls, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return False


def run_monitor(args: argparse.Namespace) -> int:
    conn = connect_checked(args, args.kubeconfig)
    if isinstance(conn, str):
        return fail(conn)
    return _run_app(conn, "arc-top", args)


def run_demo(args: argparse.Namespace) -> int:
    from arc_top.sandbox.run import start_sandbox
    from arc_top.sandbox.scenario import list_scenarios

    replay, facts, title = None, None, args.scenario
    if getattr(args, "replay_files", None):
        from arc_top.cli.sandbox_cmd import completion_lines, replay_objects

        loaded = replay_objects(args.replay_files)
        if isinstance(loaded, str):
            return fail(loaded)
        replay, facts = loaded
        title = "replay of " + ", ".join(os.path.basename(f) for f in args.replay_files)
    names = [name for name, _ in list_scenarios()]
    if replay is None and args.scenario not in names:
        return fail(f"unknown scenario {args.scenario!r}; choose one of: {', '.join(names)}")
    path = tempfile.NamedTemporaryFile(prefix="arc-top-demo-", suffix=".kubeconfig", delete=False).name
    try:
        sandbox = start_sandbox(args.scenario, kubeconfig_path=path, replay=replay, facts=facts)
    except ValueError as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)
        return fail(str(exc))
    if replay is not None:
        print(f"arc-top demo: {sandbox.scenario.description}", file=sys.stderr)
        for line in completion_lines(sandbox):
            print(line, file=sys.stderr)
    try:
        args.context, args.namespaces, args.all_namespaces = None, [], True
        conn = connect_checked(args, path)
        if isinstance(conn, str):
            return fail(conn)
        return _run_app(conn, f"arc-top demo · {title}", args)
    finally:
        sandbox.stop()
        with contextlib.suppress(OSError):      # its tokens die with the sandbox: leave no file behind
            os.unlink(path)
