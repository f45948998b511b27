"""A bug in any command: one line on stderr naming a crash file (0600, the traceback inside, secrets masked) and
exit 3; Ctrl-C stays 130; a reader that leaves (`| head`) is no bug. Forced in-process (cli.main.main with a
cli-level function replaced), and once in a real terminal for the monitor (Textual restores the terminal, and
its own traceback print is replaced by the line)."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import threading

import pytest

from arc_top.cli import check_cmd, crash
from arc_top.cli.main import build_parser, main
from tests.waiting import wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "ghp_CrashReportTokenNeverWritten0123456789"
LINE = re.compile(r"^arc-top: unexpected error \((?P<what>[^\n]*)\); this is a bug, the traceback is in "
                  r"(?P<path>/\S+\.txt): please report it\n$")


@pytest.fixture(autouse=True)
def state_home(tmp_path, monkeypatch):
    home = tmp_path / "state"
    monkeypatch.setenv("XDG_STATE_HOME", str(home))
    return home


def crash_file(err: str, state_home) -> str:
    """The crash file the one stderr line names: in the state folder, 0600 (folder 0700). Returns its text."""
    match = LINE.match(err)
    assert match, err
    path = match["path"]
    assert os.path.dirname(path) == str(state_home / "arc-top")
    assert re.fullmatch(rf"crash-\d{{8}}T\d{{6}}Z-{os.getpid()}(-\d+)?\.txt", os.path.basename(path)), path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    with open(path, encoding="utf-8") as f:
        return f.read()


def test_a_bug_in_a_command_is_one_line_and_a_crash_file(capsys, monkeypatch, state_home):
    def broken(args):
        raise RuntimeError(f"boom: Authorization: Bearer {TOKEN[4:]} token={TOKEN}\x1b]0;title\x07")

    monkeypatch.setattr(check_cmd, "_check_files", broken)
    code = main(["check", "--from", "saved.yaml"])
    out, err = capsys.readouterr()
    assert code == crash.EXIT_CRASH == 3 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err and TOKEN not in err and "\x1b" not in err
    assert "RuntimeError: boom" in err
    text = crash_file(err, state_home)
    assert "Traceback (most recent call last):" in text and "in broken" in text and "run_check" in text
    assert "RuntimeError: boom" in text and "command: arc-top check --from saved.yaml" in text
    assert TOKEN not in text and TOKEN[4:] not in text and "ghp_…" in text        # masked as evidence is
    assert "\x1b" not in text and "\x07" not in text


def test_a_bug_in_a_check_is_a_crash_too(tmp_path, capsys, monkeypatch, state_home):
    from arc_top import checks
    from tests.test_kube_offline import sample_docs, write_yaml

    def failing_checks(*args, **kwargs):
        raise KeyError("a check's bug")

    monkeypatch.setattr(checks, "run", failing_checks)
    code = main(["check", "--from", write_yaml(tmp_path / "saved.yaml", sample_docs())])
    out, err = capsys.readouterr()
    assert code == 3 and out == "" and err.count("\n") == 1
    assert "in failing_checks" in crash_file(err, state_home)


def test_a_background_thread_failing_is_exit_3_after_the_command(capsys, monkeypatch, state_home):
    def with_a_failing_thread(args):
        def work():
            raise ValueError(f"thread bug {TOKEN}")
        thread = threading.Thread(target=work, name="watch-pods")
        thread.start()
        thread.join()
        print("the command's own output")
        return 0

    monkeypatch.setattr(check_cmd, "_check_files", with_a_failing_thread)
    before = threading.excepthook
    code = main(["check", "--from", "saved.yaml"])
    out, err = capsys.readouterr()
    assert threading.excepthook is before                      # put back after the command
    assert code == 3 and out == "the command's own output\n"
    assert err.count("\n") == 1 and err.startswith("arc-top: unexpected error in a background thread (ValueError")
    path = re.search(r"the traceback is in (/\S+\.txt)", err)[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert "where: background thread watch-pods" in text and "in work" in text and TOKEN not in text


def test_ctrl_c_is_130_and_no_crash_file(capsys, monkeypatch, state_home):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(check_cmd, "_check_files", interrupted)
    assert main(["check", "--from", "saved.yaml"]) == 130
    assert capsys.readouterr().err == "" and not (state_home / "arc-top").exists()


def test_no_writable_state_folder_falls_back_to_the_temporary_folder(tmp_path, capsys, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("XDG_STATE_HOME", str(blocked))          # arc-top/ cannot be made under a file
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def broken(args):
        raise OSError("disk on fire")

    monkeypatch.setattr(check_cmd, "_check_files", broken)
    assert main(["check", "--from", "x"]) == 3
    err = capsys.readouterr().err
    path = re.search(r"the traceback is in (/\S+\.txt)", err)[1]
    assert path.startswith(str(tmp_path / "tmp" / f"arc-top-{os.getuid()}")) and err.count("\n") == 1
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    monkeypatch.setattr("tempfile.tempdir", str(blocked))      # nowhere at all: still one line, still 3
    assert main(["check", "--from", "x"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no crash file could be written" in err and "disk on fire" in err


def test_two_crashes_in_one_second_get_two_files(state_home):
    paths = {crash.write_crash_file(ValueError(n)) for n in range(3)}
    assert len(paths) == 3 and all(os.path.exists(p) for p in paths)


def test_help_documents_the_exit_codes():
    text = " ".join(build_parser().format_help().split())
    assert "2 usage, connection or input error" in text and "3 a bug: one line on stderr naming a crash file" in text
    assert "~/.local/state/arc-top/" in text and "130 interrupted" in text


def test_a_reader_that_leaves_is_no_bug(tmp_path):
    """`arc-top check --list | head -c 1`: the pipe closes; exit 141 as SIGPIPE would, no crash file, no noise."""
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"))
    read, write = os.pipe()
    os.close(read)                                            # the reader has gone before arc-top writes
    try:
        proc = subprocess.run([sys.executable, "-m", "arc_top.cli.main", "check", "--list"], stdout=write,
                              stderr=subprocess.PIPE, cwd=ROOT, env=env, timeout=60)
    finally:
        os.close(write)
    assert proc.returncode == 141 and proc.stderr == b"", proc.stderr
    assert not (tmp_path / "state" / "arc-top").exists()


# ---- the monitor (a Textual app) ----------------------------------------------------------------------------
def install_boom(monkeypatch, delay: float, run: dict) -> None:
    """The monitor's app replaced by one that paints, then fails in a timer callback after `delay` seconds."""
    from textual.app import App
    from textual.widgets import Static

    from arc_top.cli import monitor_cmd
    from arc_top.tui import app as tui_app

    class Boom(App):
        def __init__(self, monitor_factory, **options):
            super().__init__()

        def compose(self):
            yield Static("BOOM-APP-IS-UP")

        def on_mount(self):
            self.set_timer(delay, self.fail)

        def fail(self):
            raise RuntimeError(f"boom in the app {TOKEN}")

        def run(self, **kwargs):
            return super().run(**{**kwargs, **run})

    monkeypatch.setattr(tui_app, "ArcTopApp", Boom)
    monkeypatch.setattr(monitor_cmd, "connect_checked", lambda args, kubeconfig: object())


def test_an_exception_inside_the_monitor_is_one_line_and_a_crash_file(capsys, monkeypatch, state_home):
    install_boom(monkeypatch, 0.05, {"headless": True, "size": (80, 24)})
    code = main(["--kubeconfig", "unused"])
    out, err = capsys.readouterr()
    assert code == 3, err
    assert err.count("\n") == 1 and "RuntimeError: boom in the app" in err and TOKEN not in err
    assert "Traceback" not in err and "╭" not in err                   # not Textual's own (boxed) traceback
    text = crash_file(err, state_home)
    assert "in fail" in text and "RuntimeError: boom in the app" in text and TOKEN not in text
    assert "where: arc-top monitor" in text


def test_an_app_exit_message_is_still_shown(capsys, monkeypatch):
    """Only an exception becomes a crash: what the app prints on exit on purpose reaches stderr as before."""
    from textual.app import App

    from arc_top.cli.monitor_cmd import run_app

    class Leaving(App):
        def on_mount(self):
            self.exit(return_code=1, message="leaving on purpose")

    assert run_app_headless(run_app, Leaving()) == 1
    assert "leaving on purpose" in capsys.readouterr().err


def run_app_headless(run_app, app) -> int:
    original = app.run
    app.run = lambda **kwargs: original(headless=True, size=(80, 24))
    return run_app(app)


def test_the_terminal_is_restored_after_an_exception_in_the_monitor(tmp_path):
    if shutil.which("tmux") is None:
        raise RuntimeError("tmux is not installed: .ci/run installs it; install it to run this test")
    from tests.test_cli_monitor import Tmux

    script = tmp_path / "boom.py"
    script.write_text(f"""
import sys
sys.path.insert(0, {ROOT!r})
import pytest
from tests.test_cli_crash import install_boom
from arc_top.cli.main import main
with pytest.MonkeyPatch.context() as mp:
    install_boom(mp, 1.5, {{}})
    code = main(["--kubeconfig", "unused"])
sys.exit(code)
""")
    status, before, after = tmp_path / "status", tmp_path / "stty-before", tmp_path / "stty-after"
    env = f"env -u COLUMNS -u LINES XDG_STATE_HOME={tmp_path / 'state'}"
    term = Tmux(100, 30)
    try:
        term.start(f"clear; echo BEFORE-THE-APP; stty -g > {before}; {env} {sys.executable} {script}; "
                   f"code=$?; stty -g > {after}; echo $code > {status}; sleep 30")
        term.wait_for(lambda s: "BOOM-APP-IS-UP" in s)                # the app painted its alternate screen
        wait_for(status.exists, step=0.2, what="the app to exit")
        assert status.read_text().strip() == "3"
        screen = term.wait_for(lambda s: "unexpected error" in s)
        assert "BOOM-APP-IS-UP" not in screen and "BEFORE-THE-APP" in screen   # back on the normal screen
        assert "Traceback" not in screen and "╭" not in screen and TOKEN not in screen
        shown = " ".join(screen.split())
        assert "arc-top: unexpected error (RuntimeError: boom in the app" in shown and "crash-" in shown
        assert before.read_text() == after.read_text()                  # the terminal's modes are back too
        crashes = os.listdir(tmp_path / "state" / "arc-top")
        assert len(crashes) == 1 and crashes[0].startswith("crash-")
    finally:
        term.kill()
