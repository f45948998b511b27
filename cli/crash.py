"""A bug is one line on stderr and a crash file, never a traceback on the screen or in a CI log.

The crash file, `$XDG_STATE_HOME/arc-top/crash-<UTC time>-<pid>.txt` (default `~/.local/state/arc-top/`, the
audit's folder; mode 0600, folder 0700), holds the full traceback for a bug report, with what looks like a
credential masked the way evidence is (checks.text.redact: tokens to prefix + last four, bearer credentials,
JWTs, private keys) and terminal escapes removed. The exit code is EXIT_CRASH (3), apart from the 0/1/2 of
the commands. When the state folder cannot be written, the file goes to the temporary folder; when neither
can, the line says so and still names the error.

Exceptions of background threads are caught too (`catch_thread_crashes`): each writes its crash file at once;
the command then ends as usual but exits 3, with one line naming the first file.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import threading
import time
import traceback

EXIT_CRASH = 3


def state_dir() -> str:
    """The audit's folder (fixes.audit.state_dir), computed here so that reporting a crash imports nothing more."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "arc-top")


def _masked(text: str) -> str:
    """Credentials masked, terminal escapes and control characters out (tabs and newlines kept)."""
    import re

    try:
        from arc_top.checks.text import redact
    except Exception:  # the masking itself is broken: keep no line that may hold a credential's value
        redact = None
    text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
                  r"|\x1b[@-Z\\-_]?", "", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", " ", text)
    if redact is None:
        return "\n".join(line if "File " in line else "[line removed: masking unavailable]"
                         for line in text.splitlines())
    return redact(text)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("arc-top")
    except Exception:  # not installed (running from the repository)
        return "unknown"


def _report_text(exc: BaseException, where: str, argv: list[str] | None) -> str:
    lines = [
        "arc-top crash report: attach this file to a bug report. Secrets in it are masked as arc-top masks them",
        "(tokens to their prefix and last four characters); read it before you share it.",
        "",
        f"time: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
        f"arc-top: {_version()}",
        f"python: {platform.python_version()} ({platform.platform()})",
        f"command: arc-top {' '.join(sys.argv[1:] if argv is None else argv)}",
        f"where: {where}",
        "",
        "",
    ]
    body = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return _masked("\n".join(lines) + body)


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


def _open_new(folder: str, stamp: str) -> tuple[int, str]:
    """A new file of our own in `folder` (created 0700 if missing, and ours): never follows or reuses a file."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if hasattr(os, "getuid") and os.stat(folder).st_uid != _uid():
        raise PermissionError(f"{folder} belongs to another user")
    base = f"crash-{stamp}-{os.getpid()}"
    for n in range(100):
        path = os.path.join(folder, f"{base}.txt" if n == 0 else f"{base}-{n + 1}.txt")
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder}/{base}.txt")


def write_crash_file(exc: BaseException, where: str = "the command", argv: list[str] | None = None) -> str:
    """The path of the crash file written for `exc`; raises OSError when no folder can take it."""
    text = _report_text(exc, where, argv).encode("utf-8", "replace")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    error: OSError | None = None
    for folder in (state_dir(), os.path.join(tempfile.gettempdir(), f"arc-top-{_uid()}")):
        try:
            fd, path = _open_new(folder, stamp)
        except OSError as exc_open:
            error = error or exc_open
            continue
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text)
        finally:
            os.close(fd)
        return path
    assert error is not None
    raise error


def _summary(exc: BaseException) -> str:
    detail = " ".join(_masked(str(exc)).split())
    if len(detail) > 160:
        detail = detail[:159] + "…"
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def report(exc: BaseException, where: str = "the command", argv: list[str] | None = None) -> int:
    """Write the crash file, print the one line, return EXIT_CRASH. Never raises."""
    try:
        path = write_crash_file(exc, where, argv)
        tail = f"the traceback is in {path}: please report it"
    except Exception as err:  # no folder can take it: still one line
        tail = f"no crash file could be written ({type(err).__name__}: {err}): please report it"
    try:
        print(f"arc-top: unexpected error ({_summary(exc)}); this is a bug, {tail}", file=sys.stderr, flush=True)
    except Exception:  # stderr is gone: the exit code still says it
        pass
    return EXIT_CRASH


class ThreadCrashes:
    """Crash files written for exceptions of background threads while a command runs (catch_thread_crashes)."""

    def __init__(self, argv: list[str] | None) -> None:
        self.argv = argv
        self.files: list[str] = []
        self.first: BaseException | None = None
        self._lock = threading.Lock()
        self._previous = threading.excepthook

    def hook(self, args) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        where = f"background thread {getattr(args.thread, 'name', '?')}"
        try:
            path = write_crash_file(args.exc_value, where, self.argv)
        except Exception:
            path = ""
        with self._lock:
            if self.first is None:
                self.first = args.exc_value
            if path:
                self.files.append(path)

    def restore(self) -> None:
        if threading.excepthook == self.hook:
            threading.excepthook = self._previous

    def exit_code(self, code: int) -> int:
        """`code`, or EXIT_CRASH (with its one line) when a background thread failed."""
        with self._lock:
            first, files = self.first, list(self.files)
        if first is None:
            return code
        where = f"the traceback is in {files[0]}" if files else "no crash file could be written"
        more = f" ({len(files) - 1} more crash files beside it)" if len(files) > 1 else ""
        try:
            print(f"arc-top: unexpected error in a background thread ({_summary(first)}); this is a bug, {where}"
                  f"{more}: please report it", file=sys.stderr, flush=True)
        except Exception:  # stderr is gone: the exit code still says it
            pass
        return EXIT_CRASH


def catch_thread_crashes(argv: list[str] | None = None) -> ThreadCrashes:
    crashes = ThreadCrashes(argv)
    threading.excepthook = crashes.hook
    return crashes


__all__ = ["EXIT_CRASH", "ThreadCrashes", "catch_thread_crashes", "report", "state_dir", "write_crash_file"]
