"""The operator's own settings: `$XDG_CONFIG_HOME/arc-top/config.yaml` (default ~/.config/arc-top/config.yaml;
`--config FILE` reads another), `arc-top config` (the effective settings and where each came from) and
`arc-top config --init` (a commented default file).

Precedence, for every key that has a flag or an environment variable: flag > env > file > default. A bad file
(unreadable, not YAML, an unknown key, a wrong type, a bad glob, a silence rule without a reason) is one line on
stderr naming the key and the problem, exit 2 (cli/main.py). What silencing matches is checks/silence.py (pure).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arc_top.checks.silence import Silence, glob_problem
from arc_top.core.text import clean_line

FILE_NAME = os.path.join("arc-top", "config.yaml")
MAX_BYTES = 1_000_000
LOG_LINES_ENV = "ARC_TOP_LOG_LINES"         # (tui/screens/logs.py's CAP_ENV: the same variable)
MIN_LOG_LINES = 100
MAX_LOG_LINES = 10_000_000
MAX_GITHUB_TIMEOUT = 120.0

DEFAULTS: dict[str, Any] = {
    "theme": "textual-dark",
    "keymap": {},
    "context": None,
    "namespaces": [],
    "all_namespaces": False,
    "read_only": False,
    "github_probes": True,
    "github_timeout": 5.0,
    "log_lines": 50_000,
    "silence": [],
}
# Where a value can also come from (shown by `arc-top config`, and in the precedence).
FLAGS = {"context": "--context", "namespaces": "--namespace", "all_namespaces": "--all-namespaces",
         "read_only": "--read-only", "github_probes": "--no-github", "github_timeout": "--github-timeout",
         "silence": "--ignore"}
ENVS = {"log_lines": LOG_LINES_ENV}
SILENCE_KEYS = ("code", "reason", "scale_set", "namespace", "name")


class ConfigError(Exception):
    """One line: `config FILE: KEY: problem`."""


@dataclass
class Settings:
    path: str
    found: bool                                   # the file exists (and was read)
    values: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(DEFAULTS)))
    sources: dict[str, str] = field(default_factory=lambda: dict.fromkeys(DEFAULTS, "default"))

    @property
    def silence(self) -> list[Silence]:
        return list(self.values["silence"])


# ---- where the file is ------------------------------------------------------------------------------------------
def default_path(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):         # unset, empty or relative: the XDG spec says ~/.config
        base = os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, FILE_NAME)


def config_path(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> tuple[str, bool]:
    """(path, explicit): --config FILE, else the default location."""
    given = getattr(args, "config", None)
    return (given, True) if given else (default_path(env), False)


# ---- reading and checking the file ------------------------------------------------------------------------------
def _show(value: object, limit: int = 60) -> str:
    text = clean_line(repr(value))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _type_name(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "a mapping", type(None): "nothing (null)"}.get(type(value), type(value).__name__)


def read_file(path: str, explicit: bool) -> dict | None:
    """The file's mapping; None when the default file does not exist. ConfigError for the rest."""
    import yaml

    where = f"config {clean_line(path)}"
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        if not explicit:
            return None
        raise ConfigError(f"{where}: cannot read it (no such file)") from None
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read it ({clean_line(exc.strerror or exc)})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{where}: larger than {MAX_BYTES // 1000} kB: not a config file")
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = clean_line(getattr(exc, "problem", None) or exc)
        raise ConfigError(f"{where}: not valid YAML ({at}{problem})") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of keys (theme:, silence:, …), got {_type_name(raw)}")
    return raw


def validate(raw: Mapping, path: str) -> dict[str, Any]:
    """The file's values, checked and normalised. ConfigError naming the first bad key."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in DEFAULTS:
            raise _bad(path, _show(key, 40).strip("'"), f"unknown key (known: {', '.join(DEFAULTS)})")
        out[key] = _CHECKERS[key](value, path, key)
    return out


def _bad(path: str, key: str, problem: str) -> ConfigError:
    return ConfigError(f"config {clean_line(path)}: {key}: {problem}")


def _want(value: object, types: tuple, what: str, path: str, key: str) -> None:
    if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
        raise _bad(path, key, f"expected {what}, got {_type_name(value)} {_show(value)}")


def _theme(value, path, key):
    _want(value, (str,), "a theme name", path, key)
    from textual.theme import BUILTIN_THEMES

    if value not in BUILTIN_THEMES:
        raise _bad(path, key, f"unknown theme {_show(value)} (one of: {', '.join(sorted(BUILTIN_THEMES))})")
    return value


def _keymap(value, path, key):
    if value is None:
        return {}
    _want(value, (dict,), "a mapping of binding id to keys (see ? in the monitor)", path, key)
    out = {}
    for binding, keys in value.items():
        where = f"{key}.{_show(binding, 40).strip(chr(39))}"
        _want(binding, (str,), "a binding id", path, where)
        _want(keys, (str,), "keys (a string, e.g. \"r\" or \"r,ctrl+r\")", path, where)
        if not [k for k in keys.split(",") if k.strip()] or any(not k.strip() for k in keys.split(",")) or \
                any(ord(c) < 32 for c in keys):
            raise _bad(path, where, f"bad keys {_show(keys)}: key names separated by commas, e.g. \"r,ctrl+r\"")
        out[binding] = keys
    return out


def _context(value, path, key):
    if value is None:
        return None
    _want(value, (str,), "a kubeconfig context name", path, key)
    if not value.strip() or any(ord(c) < 32 for c in value):
        raise _bad(path, key, f"bad context name {_show(value)}")
    return value


def _namespaces(value, path, key):
    if value is None:
        return []
    _want(value, (list,), "a list of namespaces", path, key)
    for i, ns in enumerate(value):
        _want(ns, (str,), "a namespace name", path, f"{key}[{i}]")
        if not ns or len(ns) > 63 or not all(c.isascii() and (c.isalnum() or c == "-") for c in ns):
            raise _bad(path, f"{key}[{i}]", f"not a namespace name: {_show(ns)}")
    return list(value)


def _boolean(value, path, key):
    _want(value, (bool,), "true or false", path, key)
    return value


def _github_timeout(value, path, key):
    _want(value, (int, float), "a number of seconds", path, key)
    if not 0 < value <= MAX_GITHUB_TIMEOUT:
        raise _bad(path, key, f"{value:g}: give a number of seconds between 0 and {MAX_GITHUB_TIMEOUT:g}")
    return float(value)


def _log_lines(value, path, key):
    _want(value, (int,), "a whole number of lines", path, key)
    if not MIN_LOG_LINES <= value <= MAX_LOG_LINES:
        raise _bad(path, key, f"{value}: give a whole number between {MIN_LOG_LINES} and {MAX_LOG_LINES}")
    return value


def _silence(value, path, key):
    from arc_top.checks.catalogue import CODES

    if value is None:
        return []
    _want(value, (list,), "a list of rules ({code: ARC203, reason: …})", path, key)
    rules = []
    for i, item in enumerate(value):
        where = f"{key}[{i}]"
        _want(item, (dict,), "a rule (code:, reason:, optional scale_set:, namespace:, name:)", path, where)
        for k in item:
            if k not in SILENCE_KEYS:
                raise _bad(path, f"{where}.{_show(k, 40).strip(chr(39))}",
                           f"unknown key (known: {', '.join(SILENCE_KEYS)})")
        code = item.get("code")
        if code is None:
            raise _bad(path, f"{where}.code", "missing: which finding code to silence (see arc-top check --list)")
        _want(code, (str,), "a finding code", path, f"{where}.code")
        if code not in CODES:
            raise _bad(path, f"{where}.code", f"unknown code {_show(code)} (see arc-top check --list)")
        reason = item.get("reason")
        if reason is None:
            raise _bad(path, f"{where}.reason", "missing: say why this finding is silenced")
        _want(reason, (str,), "a reason (a string)", path, f"{where}.reason")
        if not reason.strip():
            raise _bad(path, f"{where}.reason", "empty: say why this finding is silenced")
        globs = {}
        for k in ("scale_set", "namespace", "name"):
            if k in item:
                problem = glob_problem(item[k], slash=k == "scale_set")
                if problem:
                    raise _bad(path, f"{where}.{k}", f"bad glob {_show(item[k])}: {problem}")
                globs[k] = item[k]
        rules.append(Silence(code, clean_line(reason), **globs))
    return rules


_CHECKERS = {"theme": _theme, "keymap": _keymap, "context": _context, "namespaces": _namespaces,
             "all_namespaces": _boolean, "read_only": _boolean, "github_probes": _boolean,
             "github_timeout": _github_timeout, "log_lines": _log_lines, "silence": _silence}


def check_keymap_ids(settings: Settings) -> None:
    """The keymap names bindings that exist (the monitor's; imports the screens, so only where the monitor runs)."""
    keymap = settings.values["keymap"]
    if not keymap:
        return
    from arc_top.tui.app import known_binding_ids

    known = known_binding_ids()
    for binding in keymap:
        if binding not in known:
            raise _bad(settings.path, f"keymap.{_show(binding, 40).strip(chr(39))}",
                       "no such binding id (the ? screen in the monitor lists them)")


# ---- precedence ---------------------------------------------------------------------------------------------------
def load(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the file, then the environment, then the flags. ConfigError: one line."""
    env = os.environ if env is None else env
    path, explicit = config_path(args, env)
    raw = read_file(path, explicit)
    settings = Settings(path, raw is not None)
    for key, value in validate(raw or {}, path).items():
        settings.values[key] = value
        settings.sources[key] = "file"
    _from_env(settings, env)
    _from_flags(settings, args)
    return settings


def _from_env(settings: Settings, env: Mapping[str, str]) -> None:
    text = env.get(LOG_LINES_ENV)
    if text is None or text == "":
        return
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not MIN_LOG_LINES <= value <= MAX_LOG_LINES:
        raise ConfigError(f"{LOG_LINES_ENV}={_show(text)}: give a whole number between {MIN_LOG_LINES} and "
                          f"{MAX_LOG_LINES}")
    settings.values["log_lines"] = value
    settings.sources["log_lines"] = f"env {LOG_LINES_ENV}"


def _from_flags(settings: Settings, args: argparse.Namespace) -> None:
    values, sources = settings.values, settings.sources

    def given(key: str, value: Any) -> None:
        values[key] = value
        sources[key] = f"flag {FLAGS[key]}"

    if getattr(args, "context", None):
        given("context", args.context)
    if getattr(args, "namespaces", None) or getattr(args, "all_namespaces", False):
        # -n / -A replace the file's namespaces altogether
        values["namespaces"], values["all_namespaces"] = list(args.namespaces or []), bool(args.all_namespaces)
        sources["namespaces"] = sources["all_namespaces"] = "flag " + (
            "--all-namespaces" if args.all_namespaces else "--namespace")
    if getattr(args, "read_only", False):
        given("read_only", True)
    if getattr(args, "no_github", False):
        given("github_probes", False)
    if getattr(args, "github_timeout", None) is not None:
        given("github_timeout", float(args.github_timeout))
    ignored = getattr(args, "ignore", None) or []
    if ignored:
        values["silence"] = list(values["silence"]) + [Silence(code, "--ignore") for code in ignored]
        sources["silence"] = "file + flag --ignore" if sources["silence"] == "file" else "flag --ignore"


def ignore_problem(args: argparse.Namespace) -> str:
    from arc_top.checks.catalogue import CODES

    for code in getattr(args, "ignore", None) or []:
        if code not in CODES:
            return f"--ignore {_show(code)}: unknown code (see arc-top check --list)"
    return ""


def connects_to_a_cluster(args: argparse.Namespace) -> bool:
    """The command reaches the kubeconfig's cluster (not the sandbox, not saved files): the file's context and
    namespaces apply."""
    if args.command in ("demo", "sandbox", "config", "audit"):
        return False
    return not (getattr(args, "demo", False) or getattr(args, "files", None))


def apply(args: argparse.Namespace, settings: Settings) -> None:
    """Put the effective values where the commands read them (args); keep the settings on args.settings."""
    values = settings.values
    args.settings = settings
    if connects_to_a_cluster(args) and hasattr(args, "context"):
        args.context = values["context"]
        args.namespaces = list(values["namespaces"])
        args.all_namespaces = values["all_namespaces"]
    args.read_only = values["read_only"]
    args.no_github = not values["github_probes"]
    args.github_timeout = values["github_timeout"]
    args.silence = settings.silence


# ---- `arc-top config` ---------------------------------------------------------------------------------------------
def add_parser(sub) -> None:
    p = sub.add_parser(
        "config", help="print the effective settings and where each came from; --init writes a default file",
        description="Print the effective settings (config file, environment, flags) and where each value came "
                    f"from. The file: $XDG_CONFIG_HOME/{FILE_NAME} (default ~/.config/{FILE_NAME}), or "
                    "--config FILE. Precedence: flag > env > file > default.")
    p.add_argument("--init", action="store_true", help="write a commented default config file")
    p.add_argument("--force", action="store_true", help="with --init: overwrite an existing file")
    p.add_argument("-o", "--output", choices=("text", "json"), default="text", help="output format (default: text)")
    p.set_defaults(run=run_config)


def run_config(args: argparse.Namespace) -> int:
    if args.init:
        return _init(args)
    if args.force:
        return _fail("--force goes with --init")
    settings: Settings = args.settings
    if args.output == "json":
        print(json.dumps({"path": settings.path, "found": settings.found,
                          "values": _jsonable(settings.values), "sources": settings.sources}, indent=2))
        return 0
    print(f"config file: {clean_line(settings.path)}" + ("" if settings.found else " (not found: defaults)"))
    width = max(len(k) for k in DEFAULTS)
    for key in DEFAULTS:
        value = settings.values[key]
        shown = f"{len(value)} rule{'s' if len(value) != 1 else ''}" if key == "silence" else \
            clean_line(json.dumps(_jsonable(value)))
        print(f"{key:<{width}}  {shown:<24}  {settings.sources[key]}")
        if key == "silence":
            for rule in value:
                print(f"  - {clean_line(rule.describe())}: {clean_line(rule.reason)}")
    return 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, Silence):
        return {k: getattr(value, k) for k in SILENCE_KEYS if getattr(value, k)}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _fail(message: str) -> int:
    print(f"arc-top: {message}", file=sys.stderr)
    return 2


def _init(args: argparse.Namespace) -> int:
    path, _ = config_path(args)
    where = clean_line(path)
    if os.path.exists(path) and not args.force:
        return _fail(f"config {where}: already exists (--force overwrites it)")
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(DEFAULT_FILE)
    except OSError as exc:
        return _fail(f"config {where}: cannot write it ({clean_line(exc.strerror or exc)})")
    print(f"wrote {where}")
    return 0


DEFAULT_FILE = f"""\
# arc-top's settings (arc-top config --init wrote this file; `arc-top config` shows what is in effect).
# Precedence, where a flag or an environment variable exists: flag > env > this file > default.
# Every key is optional: delete a line to get the default back.

# Colours: a Textual theme (textual-dark, textual-light, nord, gruvbox, dracula, tokyo-night, monokai,
# solarized-light, …).
theme: textual-dark

# Keys, by binding id (the ? screen lists every key with its id). Several keys: "r,ctrl+r".
keymap: {{}}
#  arc-top.panel-runners: r
#  arc-top.copy-name: ctrl+y

# The cluster (flags --context, -n/--namespace, -A/--all-namespaces). null: the kubeconfig's current context;
# no namespaces: the context's namespace.
context: null
namespaces: []
all_namespaces: false

# Send no mutating request at all: no fix, no dry-run, no access review (flag --read-only).
read_only: false

# The GitHub credential probes (read-only GETs from this machine; flags --no-github, --github-timeout).
github_probes: true
github_timeout: {DEFAULTS["github_timeout"]:g}

# Lines a log view keeps (env {LOG_LINES_ENV}).
log_lines: {DEFAULTS["log_lines"]}

# Silenced findings: counted, not shown (the monitor's `s` shows them; `arc-top check` leaves them out and
# counts them; `arc-top check --ignore CODE` adds to them). A rule: a code, a reason (required) and optional
# globs on the scale set (name, or namespace/name), the namespace and the object's name.
silence: []
#  - code: ARC602
#    scale_set: "arc-runners/team-*"
#    reason: "these sets follow the runner image's latest tag on purpose"
#  - code: ARC601
#    namespace: "arc-sandbox-*"
#    reason: "sandbox runners have no resource requests"
"""

__all__ = ["DEFAULTS", "DEFAULT_FILE", "ConfigError", "Settings", "add_parser", "apply", "check_keymap_ids",
           "default_path", "ignore_problem", "load", "run_config"]
