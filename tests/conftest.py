"""Shared fixtures: real sandbox servers over HTTPS, the official kubernetes client, the real kubectl; and the
markers every test gets from what it uses (see `pytest_collection_modifyitems` below)."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import types
from pathlib import Path

import pytest

from arc_top.sandbox.run import Sandbox, start_sandbox


@pytest.fixture(autouse=True)
def isolated_config_home(tmp_path_factory, monkeypatch):
    """No test reads the operator's own ~/.config/arc-top/config.yaml (nor an ARC_TOP_LOG_LINES they exported):
    each test, and the commands it runs as children, see an empty XDG_CONFIG_HOME."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.delenv("ARC_TOP_LOG_LINES", raising=False)


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> Sandbox:
    sb = start_sandbox("healthy", kubeconfig_path=str(tmp_path_factory.mktemp("kc") / "config"), speed=4.0)
    yield sb
    sb.stop()


@pytest.fixture()
def sandbox_for(tmp_path):
    """Sandboxes started by the test, each its own: `sandbox_for(scenario, speed=10.0)` → (the sandbox, a kubectl
    for it, a CoreV1Api on its admin user); all are stopped after the test."""
    from kubernetes import client

    started = []

    def start(name: str, speed: float = 10.0):
        sb = start_sandbox(name, kubeconfig_path=str(tmp_path / f"{name}.kubeconfig"), speed=speed)
        started.append(sb)
        return sb, Kubectl(sb, str(tmp_path / "cache")), client.CoreV1Api(api_client(sb))
    yield start
    for sb in started:
        sb.stop()


def api_client(sandbox: Sandbox, user: str = "admin"):
    """An official-client ApiClient for one of the scenario's users, from the sandbox's kubeconfig."""
    from kubernetes import config

    context = "arc-sandbox" if user == "admin" else f"arc-sandbox-{user}"
    return config.new_client_from_config(config_file=sandbox.kubeconfig_path, context=context)


class Kubectl:
    """Runs the real kubectl against a sandbox with its own discovery cache."""

    def __init__(self, sandbox: Sandbox, cache_dir: str):
        self.sandbox = sandbox
        self.cache_dir = cache_dir
        self.binary = shutil.which("kubectl")
        if self.binary is None:
            raise RuntimeError("kubectl is not installed: the sandbox compatibility tests need it")

    def env(self) -> dict:
        return dict(os.environ, KUBECONFIG=self.sandbox.kubeconfig_path)

    def argv(self, *args: str, context: str | None = None) -> list[str]:
        argv = [self.binary, "--cache-dir", self.cache_dir]
        if context:
            argv += ["--context", context]
        return argv + list(args)

    def __call__(self, *args: str, context: str | None = None, check: bool = True, timeout: float = 30,
                 input: str | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run(self.argv(*args, context=context), env=self.env(), capture_output=True,
                              text=True, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def popen(self, *args: str, context: str | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.argv(*args, context=context), env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


# ---- markers ---------------------------------------------------------------------------------------------------
# Given at collection, from what a test uses (pyproject registers them; --strict-markers refuses any other):
#   sandbox  it starts a sandbox (in this process, or `arc-top demo` / `check --demo` / `arc-top sandbox` as a
#            child): its own code, a fixture it uses, or a helper of the tests package they call names one;
#   tmux     it drives a real terminal: a *tmux* module, the `tmux` fixture, or the Tmux class;
#   slow     over SLOW_S in tests/durations.json (setup + call + teardown, measured beside a busy core: refresh
#            it with `scripts/soak-tests.sh 1 --write-durations`), every tmux test, and the sandbox rehearsals.
# `pytest -m "not slow"` is the quick loop. Marking is a pure function of the collected tests and that file (no
# timing at collection); a run ends by listing the tests over SLOW_S that are not marked slow yet.
SLOW_S = 1.0
DURATIONS = Path(__file__).with_name("durations.json")
DURATIONS_KEPT_S = 0.5                # the file keeps the tests over this (a lower SLOW_S needs no new measure)
REHEARSALS = frozenset({"test_sandbox_rehearsal.py", "test_fixes_rehearsal.py"})
SANDBOX_NAMES = frozenset({"start_sandbox", "SandboxServer", "Controller"})
TMUX_NAMES = frozenset({"Tmux"})


def pytest_addoption(parser) -> None:
    parser.addoption("--write-durations", action="store_true",
                     help="record each test's duration over 0.5 s in tests/durations.json (what marks `slow`); "
                          "measure beside a busy core: scripts/soak-tests.sh 1 --write-durations")


def _recorded() -> dict[str, float]:
    try:
        with open(DURATIONS, encoding="utf-8") as f:
            return {str(k): float(v) for k, v in json.load(f).items()}
    except FileNotFoundError:
        return {}

def _code_objects(code: types.CodeType):
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _uses(obj, memo: dict) -> frozenset[str]:
    """The sandbox/tmux uses of a function or class: the names and strings in its code, and those of the
    functions and classes of the tests package it names (followed, once each)."""
    key = id(obj)
    if key in memo:
        return memo[key]
    memo[key] = frozenset()                       # a cycle finds nothing new
    if inspect.isclass(obj):
        found = set()
        for member in vars(obj).values():
            if inspect.isfunction(member):
                found |= _uses(member, memo)
        memo[key] = frozenset(found)
        return memo[key]
    func = inspect.unwrap(getattr(obj, "_get_wrapped_function", lambda: obj)())
    code = getattr(func, "__code__", None)
    if code is None:
        return memo[key]
    found, names, strings = set(), set(), set()
    for c in _code_objects(code):
        names.update(c.co_names)
        strings.update(s for s in c.co_consts if isinstance(s, str))
    if names & SANDBOX_NAMES or "--demo" in strings or any("cli.main demo" in s for s in strings) or \
            ("sandbox" in strings and ("ARC_TOP" in names or "arc_top.cli.main" in strings)):
        found.add("sandbox")
    if names & TMUX_NAMES:
        found.add("tmux")
    scope = getattr(func, "__globals__", {})
    for name in names:
        value = scope.get(name)
        if (inspect.isfunction(value) or inspect.isclass(value)) and \
                (getattr(value, "__module__", "") or "").startswith("tests."):
            found |= _uses(value, memo)
    memo[key] = frozenset(found)
    return memo[key]


def pytest_collection_modifyitems(config, items) -> None:
    memo: dict = {}
    recorded = _recorded()
    for item in items:
        module = item.path.name
        uses = set(_uses(getattr(item, "function", None), memo)) if getattr(item, "function", None) else set()
        for name in item.fixturenames:
            for fixturedef in item._fixtureinfo.name2fixturedefs.get(name, ()):
                uses |= _uses(fixturedef.func, memo)
        if "tmux" in module or "tmux" in item.fixturenames:
            uses.add("tmux")
        if "tmux" in uses or module in REHEARSALS or recorded.get(item.nodeid, 0.0) > SLOW_S:
            uses.add("slow")
        for marker in sorted(uses):
            item.add_marker(marker)


_durations: dict[str, float] = {}
_unmarked: set[str] = set()


def pytest_runtest_logreport(report) -> None:
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration
    if report.when == "call" and "slow" not in report.keywords:
        _unmarked.add(report.nodeid)


def pytest_terminal_summary(terminalreporter, config) -> None:
    over = sorted((d, n) for n, d in _durations.items() if n in _unmarked and d > SLOW_S)
    if over:
        terminalreporter.write_sep("-", f"over {SLOW_S:g} s but not marked slow (pytest --write-durations)")
        for seconds, nodeid in reversed(over):
            terminalreporter.write_line(f"{seconds:6.1f} s  {nodeid}")
    if config.getoption("write_durations") and _durations:
        recorded = _recorded()
        recorded.update({n: round(d, 1) for n, d in _durations.items()})
        kept = {n: d for n, d in sorted(recorded.items()) if d > DURATIONS_KEPT_S}
        with open(DURATIONS, "w", encoding="utf-8") as f:
            json.dump(kept, f, indent=0, sort_keys=True)
            f.write("\n")
        terminalreporter.write_line(f"{len(kept)} durations over {DURATIONS_KEPT_S:g} s in {DURATIONS}")
